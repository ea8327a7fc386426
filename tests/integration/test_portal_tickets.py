"""The ticket journey in the portal against a real service: the form
(suggestions, priority, attachments, limits, drafts), submission through the
outbox, My tickets, the ticket view (reply, resolve, rate, reopen), offline
submission and notifications of support's answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keyring
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage

from client.core.api import ApiClient
from client.ui.tickets.panel import PAGE_EMPTY, PAGE_FORM, TicketsPanel
from tests.keyring_memory import MemoryKeyring
from tests.servers import LiveServer
from tests.ui_helpers import PortalHarness

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from client.ui.tickets.form import TicketForm


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("HELPBRIDGE_DATA_DIR", str(tmp_path / "portal"))
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield tmp_path / "portal"
    keyring.set_keyring(previous)


def signed_in(
    qtbot: QtBot, url: str, token: str, sub: str, *, locale: str = "en", **kw: Any
) -> PortalHarness:
    h = PortalHarness(qtbot, url, locale=locale, **kw)
    h.window.tickets.updates.interval_s = 0.5
    h.start(identity=token)
    qtbot.waitUntil(
        lambda: h.window.tickets.account == sub and h.window.tickets.is_ready, timeout=15000
    )
    return h


def customer_api(server: LiveServer, sub: str) -> ApiClient:
    api = ApiClient(server.url)
    api.exchange_identity(server.sign(sub))
    return api


def open_form(h: PortalHarness) -> tuple[TicketsPanel, TicketForm]:
    h.window.open_ticket_form()
    panel = h.window.tickets_panel()
    assert panel.page == PAGE_FORM
    return panel, panel.form


def picture(width: int = 64, height: int = 48) -> QImage:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("#3366cc"))
    return image


def test_new_ticket_with_file_and_pasted_image_is_delivered_once(
    qtbot: QtBot, live_server: LiveServer, data_dir: Path, tmp_path: Path
) -> None:
    sub = "tk-new-001"
    h = signed_in(qtbot, live_server.url, live_server.sign(sub, name="Li Wei"), sub)
    try:
        panel, form = open_form(h)
        qtbot.keyClicks(form.subject, "Payroll report stops at 80%")
        form.body.setPlainText("Since this morning the monthly payroll report never finishes.")
        log_file = tmp_path / "report.log"
        log_file.write_bytes(b"line\n" * 1000)
        form.attachments.add_paths([log_file])
        qtbot.waitUntil(lambda: len(form.attachments.files) == 1, timeout=5000)
        QGuiApplication.clipboard().setImage(picture())
        form.body.setFocus()
        qtbot.keyClick(form.body, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: len(form.attachments.files) == 2, timeout=5000)
        assert [c.text() for c in form.attachments.chips()] == ["report.log", "pasted-image.png"]
        # The description did not get the picture pasted as text.
        assert form.body.toPlainText().startswith("Since this morning")
        qtbot.keyClick(form.subject, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: panel.page == PAGE_EMPTY, timeout=10000)
        qtbot.waitUntil(
            lambda: any(t.startswith("#") and "Payroll report" in t for t in panel.row_texts()),
            timeout=15000,
        )
        rows = panel.row_texts()
        assert len(rows) == 1, rows
    finally:
        h.close()
    api = customer_api(live_server, sub)
    mine = api.tickets()
    assert mine.total == 1
    ticket = api.ticket(mine.tickets[0].id)
    assert ticket.subject == "Payroll report stops at 80%"
    assert sorted(a.filename for a in ticket.attachments) == ["pasted-image.png", "report.log"]
    assert {a.filename: a.size for a in ticket.attachments}["report.log"] == 5000
