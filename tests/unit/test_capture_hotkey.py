"""The global capture shortcut: disabled with a reason where it cannot work,
and its activations reach the GUI thread."""

from __future__ import annotations

import logging
import threading

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from client.ui.capture.hotkey import DEFAULT_HOTKEY, GlobalHotkey, display_name, unavailable_reason


def test_wayland_disables_the_shortcut_with_a_log_line(
    qapp: QApplication, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("XDG_SESSION_TYPE", "wayland")
    monkeypatch.setenv("DISPLAY", ":0")
    hotkey = GlobalHotkey()
    with caplog.at_level(logging.INFO, logger="client.ui.capture.hotkey"):
        assert hotkey.start() is False
    assert "Wayland" in (hotkey.reason or "")
    assert any(
        "global capture shortcut disabled" in r.getMessage() and "Wayland" in r.getMessage()
        for r in caplog.records
    )
    assert not hotkey.running


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="X11 only")
def test_no_display_disables_the_shortcut(
    qapp: QApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    assert unavailable_reason() is not None
    hotkey = GlobalHotkey()
    assert hotkey.start() is False
    assert "DISPLAY" in (hotkey.reason or "")


def test_activation_from_the_listener_thread_arrives_on_the_gui_thread(qtbot: QtBot) -> None:
    hotkey = GlobalHotkey()

    class AliveListener:
        def is_alive(self) -> bool:
            return True

        def stop(self) -> None:
            pass

        def join(self, _timeout: float) -> None:
            pass

    hotkey._listener = AliveListener()  # stands in for pynput's thread
    seen: list[int] = []
    hotkey.activated.connect(lambda: seen.append(threading.get_ident()))
    with qtbot.waitSignal(hotkey.activated, timeout=2000):
        worker = threading.Thread(target=hotkey._fired.emit)
        worker.start()
        worker.join()
    assert seen == [threading.get_ident()]
    hotkey.stop()
    assert not hotkey.running


def test_display_name() -> None:
    assert DEFAULT_HOTKEY == "<ctrl>+<alt>+h"
    assert display_name(DEFAULT_HOTKEY) == "Ctrl+Alt+H"
    assert display_name("<cmd>+<shift>+4") == "Cmd+Shift+4"
