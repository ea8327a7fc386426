"""The console's remote view (pytest-qt): real widgets, the real viewer on its
own thread and a real websockets stream with a real RfbServer behind it
(tests/assist_fakes.py). The REST side is a recording stand-in with the
contract's answers; session changes arrive as they do from the live connection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QObject, QPoint, Qt, Signal
from PySide6.QtGui import QGuiApplication, QInputMethodEvent
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from client.agent.assist import AssistDesk, AssistWindow, keysym_for_key
from client.core.realtime import AssistChanged
from client.core.rfb import CutText, KeyEvent, PointerEvent
from client.core.rfb import keysyms as ks
from protocol.assist import AssistMode, AssistParty, AssistSession, AssistStatus, EndReason
from tests.assist_fakes import RelayHost, pattern

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


def session(**changes: Any) -> AssistSession:
    base = AssistSession(
        id=7,
        status=AssistStatus.active,
        agent=AssistParty(id=1, name="Alice", company="Vendor"),
        customer=AssistParty(id=2, name="Bob"),
        conversation_id=11,
        created_at=NOW,
        consent_deadline=NOW + timedelta(seconds=30),
    )
    return base.model_copy(update=changes)


class FakeApi:
    """The contract's answers; every call recorded."""

    def __init__(self, relay: RelayHost) -> None:
        self.relay = relay
        self.calls: list[tuple[str, Any]] = []
        self.current = session()

    def current_access_token(self) -> str:
        return self.relay.token

    def renewed_access_token(self) -> str:
        return self.relay.token

    def assist_request(self, **kw: Any) -> AssistSession:
        self.calls.append(("request", kw))
        self.current = session(status=AssistStatus.requested, requested_mode=kw["mode"])
        return self.current

    def assist_redeem(self, code: str, mode: str) -> AssistSession:
        self.calls.append(("redeem", (code, mode)))
        self.current = session(status=AssistStatus.requested, conversation_id=None)
        return self.current

    def assist_session(self, sid: int) -> AssistSession:
        self.calls.append(("get", sid))
        return self.current

    def assist_request_control(self, sid: int) -> AssistSession:
        self.calls.append(("control", sid))
        self.current = self.current.model_copy(update={"control_requested": True})
        return self.current

    def assist_end(self, sid: int) -> AssistSession:
        self.calls.append(("end", sid))
        self.current = self.current.model_copy(
            update={"status": AssistStatus.ended, "end_reason": EndReason.agent}
        )
        return self.current

    def assist_note(self, sid: int, text: str) -> None:
        self.calls.append(("note", (sid, text)))


class Runner:
    def run_task(
        self, fn: Callable[[], Any], done: Callable[[Any], None] | None = None, *a: Any, **k: Any
    ) -> None:
        result: list[Any] = []
        t = threading.Thread(target=lambda: result.append(fn()))
        t.start()
        t.join(10)
        if done is not None and result:
            done(result[0])


class FakeConsole(QObject):
    notice = Signal(str, str)

    def __init__(self, api: FakeApi) -> None:
        super().__init__()
        self.api = api
        self.runner = Runner()
        self.backend = type("B", (), {"server_url": api.relay.url, "api": api})()

    def call(
        self,
        fn: Callable[[Any], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        **_: Any,
    ) -> None:
        try:
            value = fn(self.api)
        except Exception as exc:
            if on_error is not None:
                on_error(exc)
            return
        if on_done is not None:
            on_done(value)


class FakeLive(QObject):
    received = Signal(object)


@pytest.fixture
def relay() -> Iterator[RelayHost]:
    host = RelayHost(pattern()).start()
    yield host
    host.stop()


@pytest.fixture
def desk(relay: RelayHost, qtbot: QtBot) -> Iterator[tuple[AssistDesk, FakeApi, FakeLive]]:
    api = FakeApi(relay)
    live = FakeLive()
    d = AssistDesk(FakeConsole(api), live)  # type: ignore[arg-type]
    yield d, api, live
    d.close_all()


def shows_pattern(window: AssistWindow, frame: np.ndarray) -> bool:
    got = window.remote.frame
    if got is None or got.shape != frame.shape:
        return False
    diff = np.abs(got[..., :3].astype(int) - frame[..., :3].astype(int))
    return float(diff.mean()) < 4


def test_request_then_consent_shows_the_screen_and_gates_input(
    desk: tuple[AssistDesk, FakeApi, FakeLive], relay: RelayHost, qtbot: QtBot, tmp_path: Path
) -> None:
    d, api, live = desk
    d.request("conversation", 11, "view")
    assert api.calls[0] == ("request", {"conversation_id": 11, "mode": "view"})
    window = d.windows[7]
    qtbot.waitUntil(lambda: "Waiting for the customer" in window.status_label.text())
    assert window.viewer is None and relay.connections == 0  # nothing before Allow

    live.received.emit(AssistChanged(session()))  # the customer allowed: view only
    qtbot.waitUntil(lambda: shows_pattern(window, relay.frame), timeout=15000)
    assert "View only" in window.status_label.text()
    assert not window.keys_button.isEnabled() and window.control_button.isEnabled()

    # View only: clicks and keys do not leave.
    window.remote.setFocus()
    QTest.mouseClick(
        window.remote, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(20, 20)
    )
    QTest.keyClick(window.remote, Qt.Key.Key_A)
    window.quality_combo.setCurrentIndex(2)  # a round trip proves nothing else was in flight
    from client.core.rfb import EncodingsChanged

    qtbot.waitUntil(lambda: len(relay.received(EncodingsChanged)) == 2)
    assert relay.received(KeyEvent) == [] and relay.received(PointerEvent) == []

    # Request control: waiting, then granted.
    window.control_button.click()
    assert ("control", 7) in api.calls
    assert window.control_button.text() == "Waiting for the customer…"
    assert not window.control_button.isEnabled()
    live.received.emit(AssistChanged(session(mode=AssistMode.control)))
    assert window.remote.input_enabled and window.keys_button.isEnabled()

    # A click in fit mode lands at the remote pixel under the pointer.
    target = window.remote.target()
    scale = window.remote.scale()
    at = QPoint(int(target.x() + 100 * scale + scale / 2), int(target.y() + 50 * scale + scale / 2))
    QTest.mouseClick(window.remote, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)
    qtbot.waitUntil(lambda: PointerEvent(100, 50, 1) in relay.received(PointerEvent))
    qtbot.waitUntil(lambda: PointerEvent(100, 50, 0) in relay.received(PointerEvent))
    window.remote.setFocus()
    QTest.keyClick(window.remote, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: KeyEvent(ord("c"), False) in relay.received(KeyEvent))
    assert KeyEvent(ks.Control_L, True) in relay.received(KeyEvent)
    ime = QInputMethodEvent()
    ime.setCommitString("你好")
    QGuiApplication.sendEvent(window.remote, ime)
    qtbot.waitUntil(
        lambda: KeyEvent(ks.UNICODE_OFFSET + ord("好"), False) in relay.received(KeyEvent)
    )
    window.send_special("ctrl_alt_del")
    qtbot.waitUntil(lambda: KeyEvent(ks.Delete, False) in relay.received(KeyEvent))
    keys = relay.received(KeyEvent)
    i = keys.index(KeyEvent(ks.Control_L, True), len(keys) - 6)
    assert keys[i : i + 6] == [
        KeyEvent(ks.Control_L, True),
        KeyEvent(ks.Alt_L, True),
        KeyEvent(ks.Delete, True),
        KeyEvent(ks.Delete, False),
        KeyEvent(ks.Alt_L, False),
        KeyEvent(ks.Control_L, False),
    ]
    assert window.info_label.text() == ""
    # The customer takes control back: input stops at once.
    live.received.emit(AssistChanged(session()))
    assert window.viewer is not None
    assert not window.remote.input_enabled and not window.viewer.input_allowed

    window.show()
    qtbot.waitExposed(window)
    window.grab().save(str(tmp_path / "remote-view.png"))

    # Only dirty rectangles are repainted.
    changed = relay.frame.copy()
    changed[100:110, 10:30] = [0, 255, 0, 255]
    pulls = window.remote.pulls
    relay.set_frame(changed)
    qtbot.waitUntil(lambda: window.remote.pulls > pulls)
    whole = window.remote.rect()
    assert all(
        r.width() * r.height() < whole.width() * whole.height() / 4 for r in window.remote.repainted
    )

    window.end_button.click()
    assert ("end", 7) in api.calls
    assert "Ended" in window.status_label.text()
    qtbot.waitUntil(lambda: window.viewer is None)


def test_clipboard_only_when_allowed(
    desk: tuple[AssistDesk, FakeApi, FakeLive], relay: RelayHost, qtbot: QtBot
) -> None:
    d, _api, live = desk
    window = d.open_window(session())
    qtbot.waitUntil(lambda: shows_pattern(window, relay.frame), timeout=15000)
    assert not window.clip_button.isEnabled()
    QGuiApplication.clipboard().setText("agent text")
    window.send_clipboard()  # not allowed: nothing leaves
    live.received.emit(AssistChanged(session(clipboard=True)))
    assert window.clip_button.isEnabled()
    window.send_clipboard()
    qtbot.waitUntil(lambda: bool(relay.received(CutText)))
    assert relay.received(CutText) == [CutText("agent text")]
    relay.send_cut_text("customer text 2")
    qtbot.waitUntil(lambda: QGuiApplication.clipboard().text() == "customer text 2")


def test_note_and_code(desk: tuple[AssistDesk, FakeApi, FakeLive], qtbot: QtBot) -> None:
    d, api, _live = desk
    window = d.open_window(session(status=AssistStatus.requested))
    dialog = window.open_note()
    dialog.buttons.accepted.emit()
    assert dialog.error_label.text() and not [c for c in api.calls if c[0] == "note"]
    dialog.edit.setPlainText("Printer driver reinstalled")
    dialog.buttons.accepted.emit()
    assert ("note", (7, "Printer driver reinstalled")) in api.calls
    assert window.info_label.text() == "Note saved."

    code = d.enter_code()
    code.code_edit.setText("1234 567")
    code.buttons.accepted.emit()
    assert code.error_label.text() == "The code has 8 digits."
    code.code_edit.setText("1234 5678")
    code.control_radio.setChecked(True)
    code.buttons.accepted.emit()
    assert ("redeem", ("12345678", "control")) in api.calls


def test_keysym_mapping() -> None:
    none = Qt.KeyboardModifier.NoModifier
    ctrl = Qt.KeyboardModifier.ControlModifier
    shift = Qt.KeyboardModifier.ShiftModifier
    keypad = Qt.KeyboardModifier.KeypadModifier
    assert keysym_for_key(Qt.Key.Key_A, "a", none) == ord("a")
    assert keysym_for_key(Qt.Key.Key_A, "A", shift) == ord("A")
    assert keysym_for_key(Qt.Key.Key_C, "\x03", ctrl) == ord("c")
    assert keysym_for_key(Qt.Key.Key_F5, "", none) == ks.F1 + 4
    assert keysym_for_key(Qt.Key.Key_F12, "", none) == ks.F1 + 11
    assert keysym_for_key(Qt.Key.Key_Return, "\r", none) == ks.Return
    assert keysym_for_key(Qt.Key.Key_Enter, "\r", keypad) == ks.KP_Enter
    assert keysym_for_key(Qt.Key.Key_5, "5", keypad) == ks.KP_0 + 5
    assert keysym_for_key(Qt.Key.Key_Plus, "+", keypad) == ks.KP_Add
    assert keysym_for_key(Qt.Key.Key_Control, "", ctrl) == ks.Control_L
    assert keysym_for_key(Qt.Key.Key_Meta, "", none) == ks.Super_L
    assert keysym_for_key(Qt.Key.Key_Left, "", none) == ks.Left
    assert keysym_for_key(Qt.Key.Key_Eacute, "é", none) == 0xE9
    assert keysym_for_key(0x4E2D, "中", none) == ks.UNICODE_OFFSET + 0x4E2D
