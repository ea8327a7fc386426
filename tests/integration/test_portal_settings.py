"""Settings change the service (the portal reconnects) and the language;
closing the window hides it to the tray when there is one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import keyring
import pytest
from PySide6.QtWidgets import QDialogButtonBox

from client.ui.settings import PortalSettings, open_qsettings
from client.ui.tray import Tray
from tests.keyring_memory import MemoryKeyring
from tests.servers import LiveServer
from tests.ui_helpers import PortalHarness, closed_port_url

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("HELPBRIDGE_DATA_DIR", str(tmp_path / "portal"))
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield tmp_path / "portal"
    keyring.set_keyring(previous)


def test_changing_the_server_reconnects(
    qtbot: QtBot, live_server: LiveServer, data_dir: Path
) -> None:
    h = PortalHarness(qtbot, closed_port_url(), retry_initial_s=0.2, retry_max_s=1.0)
    try:
        h.start()
        h.wait_online(False)
        h.window.search_box.setText("printer")
        h.wait_shown("printer")
        dialog = h.window.open_settings()
        dialog.server_edit.setText(live_server.url + "/")
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
        h.wait_online(True)
        assert h.portal.server_url == live_server.url
        qtbot.waitUntil(lambda: h.window.categories.count() > 0, timeout=10000)
        # The query typed while offline is searched again against the new service.
        qtbot.waitUntil(lambda: h.window.results.count() > 0, timeout=10000)
        assert h.window.search_box.text() == "printer"
        assert "offline" not in h.window.banners.texts()
        assert PortalSettings(open_qsettings()).server_url == live_server.url
    finally:
        h.close()


def test_language_change_applies_on_restart(qtbot: QtBot, data_dir: Path) -> None:
    h = PortalHarness(qtbot, closed_port_url())
    try:
        h.window.apply_settings(h.portal.server_url, "zh_CN")
        assert "next time" in h.window.banners.texts()["language"]
        assert PortalSettings(open_qsettings()).language == "zh_CN"
        assert h.window.sections.tabText(0) == "Help"  # unchanged until restart
    finally:
        h.close()


def test_close_hides_to_tray_and_tray_toggles(qtbot: QtBot, data_dir: Path) -> None:
    h = PortalHarness(qtbot, closed_port_url())
    try:
        tray = Tray(h.window)
        h.window.hide_to_tray = True
        with qtbot.waitSignal(h.window.hidden_to_tray, timeout=2000):
            h.window.close()
        assert not h.window.isVisible()
        tray.toggle_window()
        assert h.window.isVisible()
        tray.toggle_window()
        assert not h.window.isVisible()
        quits: list[bool] = []
        tray.quit_requested.connect(lambda: quits.append(True))
        tray.menu.actions()[-1].trigger()
        assert quits == [True]
    finally:
        h.close()


def test_close_without_tray_closes(qtbot: QtBot, data_dir: Path) -> None:
    h = PortalHarness(qtbot, closed_port_url())
    try:
        hidden: list[bool] = []
        h.window.hidden_to_tray.connect(lambda: hidden.append(True))
        assert h.window.close()
        assert hidden == []
    finally:
        h.close()
