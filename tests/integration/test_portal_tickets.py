"""The ticket journey in the portal against a real service: the form
(suggestions, priority, attachments, limits, drafts), submission through the
outbox, My tickets, the ticket view (reply, resolve, rate, reopen), offline
submission, failures, and notifications of support's answers."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keyring
import pytest
import requests
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage
from PySide6.QtTest import QTest

from client.core.api import ApiClient
from client.ui.tickets.panel import PAGE_EMPTY, PAGE_FORM, PAGE_TICKET, OutboxRow, TicketRow
from client.ui.tickets.updates import PollingUpdates
from client.ui.tickets.view import Bubble
from client.ui.tickets.widgets import Chip
from client.ui.tray import Tray
from protocol.tickets import Level, TicketCreate, priority_for
from tests.keyring_memory import MemoryKeyring
from tests.servers import LiveServer, ServerProcess, start_live_server
from tests.ui_helpers import PortalHarness

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from client.ui.tickets.form import TicketForm
    from client.ui.tickets.panel import TicketsPanel


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("HELPBRIDGE_DATA_DIR", str(tmp_path / "portal"))
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield tmp_path / "portal"
    keyring.set_keyring(previous)


def unique(prefix: str) -> str:
    # The session's service is shared: every test has customers of its own.
    return f"{prefix}-{secrets.token_hex(4)}"


def signed_in(
    qtbot: QtBot, url: str, token: str, sub: str, *, locale: str = "en", **kw: Any
) -> PortalHarness:
    h = PortalHarness(qtbot, url, locale=locale, **kw)
    updates = h.window.tickets.updates
    assert isinstance(updates, PollingUpdates)
    updates.interval_s = 0.5
    h.start(identity=token)
    qtbot.waitUntil(
        lambda: h.window.tickets.account == sub and h.window.tickets.is_ready, timeout=15000
    )
    return h


def customer_api(server: Any, sub: str) -> ApiClient:
    api = ApiClient(server.url)
    api.exchange_identity(server.sign(sub))
    return api


def new_ticket(api: ApiClient, subject: str, body: str = "", **kw: Any) -> int:
    made = api.create_ticket(
        TicketCreate(client_key=secrets.token_hex(8), subject=subject, body=body, **kw)
    )
    return made.id


def agent_headers(server: LiveServer) -> dict[str, str]:
    email = f"{unique('agent')}@northwind.example"
    server.create_agent(email)
    return {"Authorization": f"Bearer {server.agent_token(email)}"}


def open_form(h: PortalHarness) -> tuple[TicketsPanel, TicketForm]:
    h.window.open_ticket_form()
    panel = h.window.tickets_panel()
    assert panel.page == PAGE_FORM
    return panel, panel.form


def picture_size() -> int:
    from client.ui.tickets.widgets import encode_png

    return len(encode_png(picture()))


def only_row(panel: TicketsPanel, words: str) -> bool:
    """My tickets lists exactly one row: the delivered ticket, with its number."""
    rows = panel.row_texts()
    return len(rows) == 1 and rows[0].startswith("#") and words in rows[0]


def picture(width: int = 64, height: int = 48) -> QImage:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("#3366cc"))
    return image


def paste_picture(qtbot: QtBot, form: TicketForm) -> None:
    before = len(form.attachments.files)
    QGuiApplication.clipboard().setImage(picture())
    form.body.setFocus()
    QTest.keyClick(form.body, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(form.attachments.files) == before + 1, timeout=5000)


def test_new_ticket_with_file_and_pasted_image_is_delivered_once(
    qtbot: QtBot, live_server: LiveServer, data_dir: Path, tmp_path: Path
) -> None:
    sub = unique("tk-new")
    h = signed_in(qtbot, live_server.url, live_server.sign(sub, name="Li Wei"), sub)
    try:
        panel, form = open_form(h)
        QTest.keyClicks(form.subject, "Payroll report stops at 80%")
        form.body.setPlainText("Since this morning the monthly payroll report never finishes.")
        log_file = tmp_path / "report.log"
        log_file.write_bytes(b"line\n" * 1000)
        form.attachments.add_paths([log_file])
        qtbot.waitUntil(lambda: len(form.attachments.files) == 1, timeout=5000)
        paste_picture(qtbot, form)
        assert [c.text() for c in form.attachments.chips()] == ["report.log", "pasted-image.png"]
        # Ctrl+V attached the picture; the description did not change.
        assert form.body.toPlainText() == (
            "Since this morning the monthly payroll report never finishes."
        )
        progress: list[tuple[int, int, int]] = []
        h.window.tickets.outbox_progress.connect(lambda *a: progress.append(a))
        QTest.keyClick(form.subject, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        # The form closes and the ticket is listed at once, from the outbox...
        qtbot.waitUntil(lambda: panel.page == PAGE_EMPTY, timeout=10000)
        assert panel.row_texts(), "nothing listed right after submitting"
        # ... and becomes the real ticket, with its number, once delivered.
        # (For a moment both may show: the ticket exists before the outbox
        # has written down that it was delivered.)
        qtbot.waitUntil(lambda: only_row(panel, "Payroll report"), timeout=15000)
        # The customer was looking at the "saved" page: the ticket opens by itself.
        qtbot.waitUntil(lambda: panel.page == PAGE_TICKET, timeout=5000)
        # Upload progress reached the list entry while it was sending.
        assert progress and progress[-1][1] == progress[-1][2] == 5000 + picture_size()
        # An attachment downloads through the save dialog, on a worker.
        view = panel.view
        qtbot.waitUntil(lambda: view.ticket is not None, timeout=10000)
        chip = next(c for c in view.findChildren(Chip) if c.text() == "report.log")
        target = tmp_path / "saved" / "report-copy.log"
        target.parent.mkdir()
        view.choose_save_path = lambda name: str(target) if name == "report.log" else ""
        assert chip.action_button is not None
        QTest.mouseClick(chip.action_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: view.downloads == [target], timeout=10000)
        assert target.read_bytes() == log_file.read_bytes()
    finally:
        h.close()
    api = customer_api(live_server, sub)
    mine = api.tickets()
    assert mine.total == 1
    ticket = api.ticket(mine.tickets[0].id)
    assert ticket.subject == "Payroll report stops at 80%"
    assert ticket.priority == "P3"
    sizes = {a.filename: a.size for a in ticket.attachments}
    assert sorted(sizes) == ["pasted-image.png", "report.log"]
    assert sizes["report.log"] == 5000
    image = QImage()
    assert image.loadFromData(
        requests.get(
            f"{live_server.url}/api/v1/attachments/"
            f"{next(a.id for a in ticket.attachments if a.filename.endswith('.png'))}",
            headers={"Authorization": f"Bearer {api_token(live_server, sub)}"},
            timeout=10,
        ).content
    )
    assert (image.width(), image.height()) == (64, 48)


def api_token(server: LiveServer, sub: str) -> str:
    r = requests.post(
        f"{server.url}/api/v1/auth/identity", json={"token": server.sign(sub)}, timeout=10
    )
    r.raise_for_status()
    token: str = r.json()["access_token"]
    return token


@pytest.mark.parametrize(
    ("locale", "subject", "word"), [("zh_CN", "发票", "发票"), ("en", "invoice", "nvoice")]
)
def test_suggestions_while_typing_and_deflection_is_logged(
    qtbot: QtBot,
    live_server: LiveServer,
    data_dir: Path,
    caplog: pytest.LogCaptureFixture,
    locale: str,
    subject: str,
    word: str,
) -> None:
    caplog.set_level(logging.INFO)
    sub = unique("tk-suggest")
    h = signed_in(qtbot, live_server.url, live_server.sign(sub), sub, locale=locale)
    try:
        _panel, form = open_form(h)
        if subject.isascii():
            QTest.keyClicks(form.subject, subject)
        else:
            form.subject.insert(subject)  # an input method commits whole words
        qtbot.waitUntil(lambda: bool(form.suggestion_titles()), timeout=5000)
        titles = form.suggestion_titles()
        assert 1 <= len(titles) <= 4
        assert any(word in t.lower() or word in t for t in titles), titles
        assert form.suggestions_box.isVisible()
        first = form.suggestion_buttons[0]
        QTest.mouseClick(first, Qt.MouseButton.LeftButton)
        # The article opens in Help; the form and its draft stay.
        qtbot.waitUntil(lambda: h.window.article_title.text() == titles[0], timeout=10000)
        assert "deflection" in h.window.banners.texts()
        h.window.tickets_panel()
        h.window.show_section(1)
        assert form.subject.text() == subject
        assert form.deflection.isVisible()
        QTest.mouseClick(form.not_solved_button, Qt.MouseButton.LeftButton)
        assert not form.deflection.isVisible()
    finally:
        h.close()
    lines = [r.getMessage() for r in caplog.records if "ticket deflection" in r.getMessage()]
    assert any("suggested" in x for x in lines)
    assert any("opened article=" in x for x in lines)
    assert any("not solved article=" in x for x in lines)


def test_priority_follows_urgency_and_impact(
    qtbot: QtBot, live_server: LiveServer, data_dir: Path
) -> None:
    sub = unique("tk-prio")
    h = signed_in(qtbot, live_server.url, live_server.sign(sub), sub)
    try:
        _panel, form = open_form(h)
        assert form.priority_label.text() == "P3 · Normal"
        seen = set()
        for urgency in ("high", "medium", "low"):
            form.urgency.setCurrentIndex(form.urgency.findData(urgency))
            assert form.urgency_hint.text()
            for impact in ("high", "medium", "low"):
                form.impact.setCurrentIndex(form.impact.findData(impact))
                expected = priority_for(Level(urgency), Level(impact))
                assert form.priority_label.text().startswith(f"{expected} · ")
                assert form.priority_label.property("priority") == str(expected)
                seen.add(form.priority_label.text())
        assert len(seen) == 5
        assert form.priority_label.text() == "P5 · Planning"
        # Each choice explains itself in one line.
        form.urgency.setCurrentIndex(form.urgency.findData("high"))
        assert form.urgency_hint.text() == "I cannot work at all right now."
        assert form.impact_hint.text() == "Only me."
    finally:
        h.close()


def test_files_too_large_empty_or_unreadable_are_refused_before_upload(
    qtbot: QtBot, live_server: LiveServer, data_dir: Path, tmp_path: Path
) -> None:
    sub = unique("tk-limits")
    h = signed_in(qtbot, live_server.url, live_server.sign(sub), sub)
    uploads: list[str] = []
    api = h.portal.backend.api
    real_upload = api.upload_attachment

    def counting(*args: Any, **kw: Any) -> Any:
        uploads.append(str(args[1]))
        return real_upload(*args, **kw)

    api.upload_attachment = counting  # type: ignore[method-assign]
    try:
        _panel, form = open_form(h)
        big = tmp_path / "big.bin"
        with big.open("wb") as f:
            f.truncate(21 * 1024 * 1024)  # sparse: 21 MB without writing them
        empty = tmp_path / "empty.txt"
        empty.touch()
        folder = tmp_path / "a-folder"
        folder.mkdir()
        form.attachments.add_paths([big, empty, folder, tmp_path / "gone.txt"])
        qtbot.waitUntil(lambda: form.attachments.error_label.isVisible(), timeout=5000)
        assert form.attachments.files == []
        error = form.attachments.error_label.text()
        assert "big.bin is 21 MB; a file may be at most 20 MB." in error
        assert "empty.txt is empty." in error
        assert "a-folder is not a file." in error
        assert "gone.txt no longer exists." in error

        parts = []
        for n in range(3):
            part = tmp_path / f"part{n}.bin"
            with part.open("wb") as f:
                f.truncate(19 * 1024 * 1024)
            parts.append(part)
        form.attachments.add_paths(parts)
        qtbot.waitUntil(lambda: len(form.attachments.files) == 2, timeout=5000)
        qtbot.waitUntil(lambda: "part2.bin" in form.attachments.error_label.text(), timeout=5000)
        assert "all files together may be at most 50 MB" in form.attachments.error_label.text()
        assert form.attachments.names() == ["part0.bin", "part1.bin"]
        assert [c.text() for c in form.attachments.chips()] == ["part0.bin", "part1.bin"]
        # A chip can be removed; then another file fits.
        chip = form.attachments.chips()[1]
        assert chip.remove_button is not None
        QTest.mouseClick(chip.remove_button, Qt.MouseButton.LeftButton)
        assert form.attachments.names() == ["part0.bin"]
        form.attachments.add_paths([parts[2]])
        qtbot.waitUntil(
            lambda: form.attachments.names() == ["part0.bin", "part2.bin"], timeout=5000
        )
        assert not form.attachments.error_label.isVisible()
    finally:
        h.close()
    assert uploads == []


def test_html_in_subject_and_messages_is_shown_as_text(
    qtbot: QtBot, live_server: LiveServer, data_dir: Path
) -> None:
    sub = unique("tk-html")
    subject = "<b>bold</b> <img src=x onerror=alert(1)>"
    body = "<script>alert('x')</script>\n<a href='http://evil.example'>click</a>"
    ticket_id = new_ticket(customer_api(live_server, sub), subject, body)
    h = signed_in(qtbot, live_server.url, live_server.sign(sub), sub)
    try:
        h.window.show_section(1)
        panel = h.window.tickets_panel()
        qtbot.waitUntil(lambda: panel.row_widget(("ticket", ticket_id)) is not None, timeout=10000)
        row = panel.row_widget(("ticket", ticket_id))
        assert isinstance(row, TicketRow)
        assert row.subject.textFormat() == Qt.TextFormat.PlainText
        assert row.subject.text() == subject
        panel.open_ticket(ticket_id)
        qtbot.waitUntil(lambda: panel.view.ticket is not None, timeout=10000)
        assert panel.view.subject.textFormat() == Qt.TextFormat.PlainText
        assert panel.view.subject.text() == subject
        assert body in panel.view.bubble_texts()
        bodies = [b.body for b in panel.view.findChildren(Bubble)]
        assert bodies and all(b.textFormat() == Qt.TextFormat.PlainText for b in bodies)
        # What is painted is the markup as characters: the label's document
        # holds the literal text, with no image, link or bold run in it.
        label = next(b for b in bodies if b.text() == body)
        assert label.text() == body and "<script>" in label.text()
        assert not label.openExternalLinks()
    finally:
        h.close()


def test_draft_is_kept_across_restarts_and_cleared_after_submitting(
    qtbot: QtBot, live_server: LiveServer, data_dir: Path
) -> None:
    sub = unique("tk-draft")
    h = signed_in(qtbot, live_server.url, live_server.sign(sub), sub)
    try:
        panel, form = open_form(h)
        form._autosave.setInterval(200)
        QTest.keyClicks(form.subject, "Stocktake scanner skips items")
        form.body.setPlainText("Scanner model HS-200.\nEvery tenth barcode is ignored.")
        form.urgency.setCurrentIndex(form.urgency.findData("high"))
        paste_picture(qtbot, form)
        # Saved by itself a moment later, before anything closes.
        qtbot.waitUntil(lambda: form.draft_status.text() == "Draft saved", timeout=5000)
        stored = json.loads(next((data_dir / "drafts").glob("*.json")).read_text("utf-8"))
        assert stored["ticket"]["subject"] == "Stocktake scanner skips items"
        assert stored["ticket"]["urgency"] == "high"
        kept = Path(stored["ticket"]["files"][0]["path"])
        assert kept.is_file() and kept.name == "pasted-image.png"
        # The last keystrokes are saved when the form closes.
        QTest.keyClicks(form.subject, " (HS-200)")
        QTest.mouseClick(form.cancel_button, Qt.MouseButton.LeftButton)
        assert panel.page == PAGE_EMPTY
    finally:
        h.close()

    again = signed_in(qtbot, live_server.url, live_server.sign(sub), sub)
    try:
        panel, form = open_form(again)
        qtbot.waitUntil(lambda: form.subject.text() != "", timeout=5000)
        assert form.subject.text() == "Stocktake scanner skips items (HS-200)"
        assert form.body.toPlainText() == "Scanner model HS-200.\nEvery tenth barcode is ignored."
        assert form.level(form.urgency) == "high"
        assert form.attachments.names() == ["pasted-image.png"]
        assert form.draft_status.text() == "Draft restored"
        form.submit()
        qtbot.waitUntil(lambda: panel.page != PAGE_FORM, timeout=10000)
        store = again.window.tickets.drafts
        assert store is not None
        qtbot.waitUntil(lambda: store.load_ticket() is None, timeout=5000)
        assert not kept.exists()
        qtbot.waitUntil(lambda: any(t.startswith("#") for t in panel.row_texts()), timeout=15000)
    finally:
        again.close()
    api = customer_api(live_server, sub)
    ticket = api.ticket(api.tickets().tickets[0].id)
    assert ticket.subject == "Stocktake scanner skips items (HS-200)"
    assert [a.filename for a in ticket.attachments] == ["pasted-image.png"]
    assert ticket.priority == "P2"


def test_reply_resolve_rate_and_reopen(
    qtbot: QtBot, live_server: LiveServer, data_dir: Path
) -> None:
    sub = unique("tk-view")
    api = customer_api(live_server, sub)
    ticket_id = new_ticket(api, "Cheque layout is shifted", "The amount prints 5 mm too low.")
    h = signed_in(qtbot, live_server.url, live_server.sign(sub), sub)
    try:
        h.window.show_section(1)
        panel = h.window.tickets_panel()
        qtbot.waitUntil(lambda: panel.row_widget(("ticket", ticket_id)) is not None, timeout=10000)
        panel.open_ticket(ticket_id)
        view = panel.view
        qtbot.waitUntil(lambda: view.ticket is not None, timeout=10000)
        assert view.status.text() == "New"
        assert view.sla.text().startswith("We aim to reply by ")
        assert view.resolve_button.isVisible() and not view.reopen_button.isVisible()
        assert not view.rating_box.isVisible()

        # A reply being written is kept as a draft too.
        view._reply_timer.setInterval(100)
        QTest.keyClicks(view.reply, "Printer is an Epson LQ-630K.")
        store = h.window.tickets.drafts
        assert store is not None
        qtbot.waitUntil(
            lambda: store.load_reply(ticket_id) == "Printer is an Epson LQ-630K.", timeout=5000
        )
        QTest.keyClick(view.reply, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: view.reply.toPlainText() == "", timeout=5000)
        qtbot.waitUntil(
            lambda: (
                "Printer is an Epson LQ-630K." in view.bubble_texts() and not view.pending_texts()
            ),
            timeout=15000,
        )
        qtbot.waitUntil(lambda: store.load_reply(ticket_id) == "", timeout=5000)
        events = api.ticket(ticket_id).events
        assert [e.body for e in events if e.kind == "comment"] == ["Printer is an Epson LQ-630K."]

        QTest.mouseClick(view.resolve_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: view.status.status == "resolved", timeout=10000)
        assert view.status.text() == "Resolved"
        assert view.reopen_button.isVisible() and not view.resolve_button.isVisible()
        assert view.rating_box.isVisible()
        # Only 1 to 5 stars can be given: there are five buttons, nothing else.
        assert len(view.stars) == 5
        assert not view.rate_button.isEnabled()
        view.set_rating(9)
        assert view.rating == 5
        QTest.mouseClick(view.stars[3], Qt.MouseButton.LeftButton)
        assert view.rating == 4
        assert [s.isChecked() for s in view.stars] == [True, True, True, True, False]
        view.rating_comment.setText("Quick and clear, thanks")
        QTest.mouseClick(view.rate_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(
            lambda: view.ticket is not None and view.ticket.csat is not None, timeout=10000
        )
        assert view.rated_label.text() == "Thank you for your feedback."
        csat = api.ticket(ticket_id).csat
        assert csat is not None and (csat.rating, csat.comment) == (4, "Quick and clear, thanks")
        # The service refuses ratings outside 1-5 whatever a client sends.
        token = api_token(live_server, sub)
        for bad in (0, 6):
            r = requests.post(
                f"{live_server.url}/api/v1/tickets/{ticket_id}/csat",
                json={"rating": bad},
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            assert r.status_code == 422

        QTest.mouseClick(view.reopen_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: view.status.status == "open", timeout=10000)
        assert view.resolve_button.isVisible()
        assert not view.rating_box.isVisible()
        assert str(api.ticket(ticket_id).status) == "open"
        lines = [
            w.text()
            for w in view.findChildren(type(view.number))
            if w.objectName() == "TimelineLine"
        ]
        assert any("You set the status to Resolved" in x for x in lines), lines
    finally:
        h.close()


def test_offline_submission_is_saved_and_delivered_once_when_back(
    qtbot: QtBot, data_dir: Path, server_process: ServerProcess
) -> None:
    sub = unique("tk-offline")
    port = server_process.port
    # Signed in once before: the session is remembered on this computer.
    first = signed_in(qtbot, server_process.url, server_process.sign(sub), sub)
    first.close()
    server_process.stop()

    # The portal starts while the service cannot be reached.
    h = PortalHarness(qtbot, server_process.url, retry_initial_s=0.3, retry_max_s=1.0)
    try:
        h.start()
        h.wait_online(False)
        service = h.window.tickets
        qtbot.waitUntil(lambda: service.account == sub and service.is_ready, timeout=10000)
        assert h.portal.customer is None
        panel, form = open_form(h)
        QTest.keyClicks(form.subject, "Cannot reach the licence server")
        form.body.setPlainText("Written while the network is down.")
        form.submit()
        qtbot.waitUntil(lambda: panel.page == PAGE_EMPTY, timeout=10000)
        saved = "Saved — will be sent when the connection is back"
        qtbot.waitUntil(lambda: any(saved in t for t in panel.row_texts()), timeout=10000)
        assert saved in panel.empty_text.text()
        qtbot.waitUntil(
            lambda: (
                [i.attempts > 0 and i.error is not None for i in service.items.values()] == [True]
            ),
            timeout=10000,
        )
        assert next(iter(service.items.values())).result_ticket_id is None
        assert "tickets_auth" not in h.window.banners.texts()

        server_process.start(port=port or 0)
        qtbot.waitUntil(lambda: only_row(panel, "licence server"), timeout=30000)
        assert h.portal.customer is not None and h.portal.customer.external_id == sub
    finally:
        h.close()
    api = customer_api(server_process, sub)
    mine = api.tickets()
    assert mine.total == 1
    assert mine.tickets[0].subject == "Cannot reach the licence server"


def test_agent_reply_is_notified_with_an_unread_badge(
    qtbot: QtBot, live_server: LiveServer, data_dir: Path
) -> None:
    sub = unique("tk-poll")
    api = customer_api(live_server, sub)
    ticket_id = new_ticket(api, "Year-end closing blocked", "Closing 2025 says period locked.")
    number = api.ticket(ticket_id).number
    headers = agent_headers(live_server)
    h = signed_in(qtbot, live_server.url, live_server.sign(sub), sub)
    tray = Tray(h.window)
    try:
        service = h.window.tickets
        qtbot.waitUntil(lambda: service.loaded and ticket_id in service.summaries, timeout=10000)
        assert h.window.sections.tabText(1) == "Tickets"
        updates = service.updates
        assert isinstance(updates, PollingUpdates)
        polls = updates.polls
        with qtbot.waitSignal(h.window.notification_requested, timeout=10000) as signal:
            r = requests.post(
                f"{live_server.url}/api/v1/agent/tickets/{ticket_id}/comments",
                json={"client_key": secrets.token_hex(8), "body": "Please unlock period 12."},
                headers=headers,
                timeout=10,
            )
            r.raise_for_status()
        assert updates.polls > polls
        title, text, notified_id = signal.args
        assert title.endswith(f"replied to #{number}")
        assert text == "Year-end closing blocked"
        assert notified_id == ticket_id
        assert tray.messages[-1] == (title, text, ticket_id)
        assert h.window.sections.tabText(1) == "Tickets (1)"
        panel = h.window.tickets_panel()
        row = panel.row_widget(("ticket", ticket_id))
        assert isinstance(row, TicketRow) and row.dot.isVisibleTo(row)
        # Clicking the message opens the ticket, which makes it read.
        tray._on_message_clicked()
        assert panel.page == PAGE_TICKET
        qtbot.waitUntil(lambda: h.window.sections.tabText(1) == "Tickets", timeout=10000)
        qtbot.waitUntil(
            lambda: "Please unlock period 12." in panel.view.bubble_texts(), timeout=10000
        )
        # No second message for the same answer.
        count = len(tray.messages)
        target = updates.polls + 2
        qtbot.waitUntil(lambda: updates.polls >= target, timeout=10000)
        assert len(tray.messages) == count
    finally:
        tray.hide()
        h.close()


def test_a_ticket_the_service_refuses_shows_why_with_retry_and_discard(
    qtbot: QtBot, data_dir: Path, tmp_path: Path
) -> None:
    server = start_live_server(tmp_path / "strict", seed_kb=False, max_file_bytes=1024)
    sub = unique("tk-fail")
    h = signed_in(qtbot, server.url, server.sign(sub), sub)
    try:
        panel, form = open_form(h)
        QTest.keyClicks(form.subject, "Export is slow")
        big = tmp_path / "trace.txt"
        big.write_bytes(b"x" * 4096)  # fine here, too large for this service
        form.attachments.add_paths([big])
        qtbot.waitUntil(lambda: len(form.attachments.files) == 1, timeout=5000)
        form.submit()
        qtbot.waitUntil(
            lambda: any(i.state == "failed" for i in h.window.tickets.items.values()),
            timeout=15000,
        )
        item_id = next(iter(h.window.tickets.items))
        row = panel.row_widget(("item", item_id))
        assert isinstance(row, OutboxRow)
        assert row.badge.text() == "Not sent"
        assert row.error.text().startswith("A file is too large.")
        assert row.retry_button.isVisible() and row.discard_button.isVisible()
        states: list[str] = []
        h.window.tickets.outbox_item.connect(lambda item: states.append(item.state))
        QTest.mouseClick(row.retry_button, Qt.MouseButton.LeftButton)
        # Sent again at once, refused again, and still kept.
        qtbot.waitUntil(lambda: states[-2:] == ["sending", "failed"], timeout=15000)
        asked: list[str] = []

        def say_no(title: str, _text: str) -> bool:
            asked.append(title)
            return False

        panel.confirm = say_no
        row = panel.row_widget(("item", item_id))
        assert isinstance(row, OutboxRow)
        QTest.mouseClick(row.discard_button, Qt.MouseButton.LeftButton)
        assert asked == ["Discard this ticket?"]
        assert item_id in h.window.tickets.items
        panel.confirm = lambda _title, _text: True
        row = panel.row_widget(("item", item_id))
        assert isinstance(row, OutboxRow)
        QTest.mouseClick(row.discard_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: item_id not in h.window.tickets.items, timeout=5000)
        assert panel.row_texts() == []
        assert customer_api(server, sub).tickets().total == 0
    finally:
        h.close()
        server.stop()


def test_diagnostic_bundle_holds_exactly_what_was_reviewed(
    qtbot: QtBot, live_server: LiveServer, data_dir: Path
) -> None:
    import io
    import zipfile

    from client.ui.tickets.review import DiagnosticsDialog

    sub = unique("tk-diag")
    h = signed_in(qtbot, live_server.url, live_server.sign(sub), sub)
    try:
        h.window.open_ticket_form({"module": "Payroll", "version": "6.3.1"})
        form = h.window.tickets_panel().form
        qtbot.waitUntil(lambda: form.context_texts() != [], timeout=5000)
        assert form.context_texts() == ["Version: 6.3.1", "Module: Payroll"]
        QTest.keyClicks(form.subject, "Payslips show last month")
        QTest.mouseClick(form.review_button, Qt.MouseButton.LeftButton)
        dialog = form.review_dialog
        assert isinstance(dialog, DiagnosticsDialog)
        qtbot.waitUntil(lambda: dialog.list.count() == 5, timeout=10000)
        shown = {i.key: i.content for i in dialog.items()}
        assert "module: Payroll" in shown["host_context"]
        dialog.set_included("log", False)
        dialog.accept()
        assert form.diagnostics.isChecked()
        assert form.diagnostics_note.text() == "4 of 5 items chosen"
        form.submit()
        panel = h.window.tickets_panel()
        qtbot.waitUntil(lambda: only_row(panel, "Payslips"), timeout=15000)
    finally:
        h.close()
    api = customer_api(live_server, sub)
    ticket = api.ticket(api.tickets().tickets[0].id)
    assert ticket.context == {"module": "Payroll", "version": "6.3.1"}
    (bundle,) = ticket.attachments
    assert bundle.filename == "diagnostics.zip"
    data = requests.get(
        f"{live_server.url}/api/v1/attachments/{bundle.id}",
        headers={"Authorization": f"Bearer {api_token(live_server, sub)}"},
        timeout=10,
    ).content
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert sorted(archive.namelist()) == [
        "host_context.txt",
        "manifest.json",
        "screens.txt",
        "settings.txt",
        "versions.txt",
    ]
    manifest = json.loads(archive.read("manifest.json"))
    assert [o["key"] for o in manifest["omitted"]] == ["log"]
    assert archive.read("host_context.txt").decode() == shown["host_context"]
