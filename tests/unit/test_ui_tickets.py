"""Ticket screens, piece by piece (offscreen, no service): file checks,
drafts, wording, suggestion queries, the update poller, news detection,
the outbox bridge to the GUI thread, plain-text rendering, the diagnostic
review."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import QEvent, QMimeData, Qt, QUrl
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QListWidgetItem

from client.core.diagnostics import DiagnosticItem
from client.ui import portal as portal_module
from client.ui.portal import Portal, unverified_subject
from client.ui.tasks import TaskRunner
from client.ui.tickets import files as fc
from client.ui.tickets import text as tt
from client.ui.tickets.draft import DraftFile, DraftStore, TicketDraft
from client.ui.tickets.form import suggestion_queries, suggestion_words
from client.ui.tickets.panel import TicketRow
from client.ui.tickets.review import DiagnosticsDialog
from client.ui.tickets.service import DiagnosticsRequest, TicketService
from client.ui.tickets.updates import PollingUpdates, UpdateSource
from client.ui.tickets.widgets import AttachmentBox, Chip, StatusBadge, is_submit_key
from protocol import tickets as wire
from protocol.tickets import Priority, TicketStatus, TicketSummary

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication
    from pytestqt.qtbot import QtBot

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def runner(qapp: QApplication) -> Iterator[TaskRunner]:
    r = TaskRunner()
    yield r
    r.shutdown(3000)


def summary(ticket_id: int = 1, **kw: Any) -> TicketSummary:
    values: dict[str, Any] = {
        "id": ticket_id,
        "number": 10000 + ticket_id,
        "subject": f"Ticket {ticket_id}",
        "category": "",
        "priority": Priority.P3,
        "status": TicketStatus.open,
        "created_at": NOW,
        "updated_at": NOW,
        "unread": False,
    }
    values.update(kw)
    return TicketSummary(**values)


# -- files -----------------------------------------------------------------------


def test_limits_match_the_protocol() -> None:
    assert fc.MAX_FILE_BYTES == wire.DEFAULT_MAX_FILE_BYTES
    assert fc.MAX_TOTAL_BYTES == wire.DEFAULT_MAX_TICKET_BYTES


def test_inspect_refuses_bad_files_with_reasons(tmp_path: Path) -> None:
    ok = tmp_path / "ok.txt"
    ok.write_text("hello")
    empty = tmp_path / "empty.txt"
    empty.touch()
    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        f.truncate(fc.MAX_FILE_BYTES + 1)
    exactly = tmp_path / "exactly.bin"
    with exactly.open("wb") as f:
        f.truncate(fc.MAX_FILE_BYTES)
    found = fc.inspect([ok, empty, big, exactly, tmp_path, tmp_path / "missing.txt"])
    assert found[0] == fc.PendingFile("ok.txt", 5, path=ok.absolute())
    reasons = [(f.name, f.reason) for f in found if isinstance(f, fc.Refused)]
    assert reasons == [
        ("empty.txt", "empty"),
        ("big.bin", "too_large"),
        (tmp_path.name, "not_file"),
        ("missing.txt", "missing"),
    ]
    assert isinstance(found[3], fc.PendingFile)  # 20 MB exactly is allowed


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_inspect_refuses_an_unreadable_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    secret.chmod(0)
    try:
        (refused,) = fc.inspect([secret])
    finally:
        secret.chmod(0o600)
    assert isinstance(refused, fc.Refused) and refused.reason == "unreadable"


def test_admit_applies_the_total_and_the_count(qapp: QApplication) -> None:
    mb = 1024 * 1024
    current = [fc.PendingFile("a", 30 * mb, path=Path("/x/a"))]
    candidates: list[fc.PendingFile | fc.Refused] = [
        fc.PendingFile("b", 15 * mb, path=Path("/x/b")),
        fc.PendingFile("c", 6 * mb, path=Path("/x/c")),  # 51 MB with a and b
        fc.PendingFile("a-again", 1, path=Path("/x/a")),  # same file: skipped
        fc.PendingFile("d", 5 * mb, path=Path("/x/d")),
        fc.Refused("e", "empty"),
    ]
    added, refused = fc.admit(current, candidates)
    assert [f.name for f in added] == ["b", "d"]
    assert [(r.name, r.reason) for r in refused] == [("c", "total"), ("e", "empty")]
    assert "50 MB" in refused[0].message()
    many = [fc.PendingFile(str(n), 1, path=Path(f"/y/{n}")) for n in range(fc.MAX_FILES)]
    added, refused = fc.admit(many, [fc.PendingFile("one-more", 1, path=Path("/y/x"))])
    assert added == [] and refused[0].reason == "too_many"


def test_in_memory_files_and_names(qapp: QApplication) -> None:
    assert isinstance(fc.check_bytes("x.png", b"", "image"), fc.Refused)
    too_big = fc.check_bytes("x.png", b"\0" * (fc.MAX_FILE_BYTES + 1), "image")
    assert isinstance(too_big, fc.Refused) and too_big.reason == "too_large"
    fine = fc.check_bytes("x.png", b"png", "image")
    assert isinstance(fine, fc.PendingFile) and fine.source() == ("x.png", b"png")
    taken = ["screenshot.png", "screenshot-2.png", "notes"]
    assert fc.unique_name("screenshot.png", taken) == "screenshot-3.png"
    assert fc.unique_name("notes", taken) == "notes-2"
    assert fc.unique_name("new.png", taken) == "new.png"


# -- wording ---------------------------------------------------------------------------


def test_wording(qapp: QApplication) -> None:
    assert tt.format_size(812) == "812 B"
    assert tt.format_size(14 * 1024) == "14 KB"
    assert tt.format_size(int(3.2 * 1024 * 1024)) == "3.2 MB"
    assert tt.format_size(21 * 1024 * 1024) == "21 MB"
    assert tt.relative_time(NOW - timedelta(seconds=20), NOW) == "just now"
    assert tt.relative_time(NOW - timedelta(minutes=5), NOW) == "5 min ago"
    assert tt.relative_time(NOW - timedelta(hours=3), NOW) == "3 h ago"
    assert tt.relative_time(NOW.replace(tzinfo=None) - timedelta(hours=3), NOW) == "3 h ago"
    assert tt.relative_time(NOW - timedelta(days=3), NOW) == "3 days ago"
    assert tt.priority_label("P1") == "P1 · Critical"
    assert tt.priority_label("P9") == "P9"
    assert [tt.status_label(s) for s in tt.STATUSES] == [
        "New",
        "Open",
        "Waiting for your reply",
        "Resolved",
        "Closed",
    ]
    assert all(tt.urgency_hint(level) and tt.impact_hint(level) for level in tt.LEVELS)


def test_suggestion_queries_loosen_a_sentence() -> None:
    assert suggestion_words("发票打印失败") == ["发票", "打印", "失败"]
    assert suggestion_words("“Invoice” won't print!") == ["Invoice", "won't", "print"]
    assert suggestion_queries("发票打印失败") == ["发票打印失败", "发票 打印 失败", "发票 打印"]
    assert suggestion_queries("invoice") == ["invoice"]
    assert suggestion_queries("payroll report stops at 80%") == [
        "payroll report stops at 80%",
        "payroll report stops at",
        "payroll report",
    ]
    assert suggestion_queries("   ") == []


# -- drafts ------------------------------------------------------------------------------


def test_draft_round_trip_and_kept_images(tmp_path: Path) -> None:
    store = DraftStore(tmp_path / "drafts", "cust-1")
    assert store.load_ticket() is None
    kept = store.keep_bytes("pasted-image.png", b"\x89PNG fake")
    assert kept.name == "pasted-image.png" and kept.read_bytes() == b"\x89PNG fake"
    assert store.is_kept(kept)
    outside = tmp_path / "notes.txt"
    outside.write_text("n")
    draft = TicketDraft(
        subject="主题 <b>",
        body="line 1\nline 2",
        urgency="high",
        context={"module": "Sales"},
        files=[
            DraftFile("pasted-image.png", 10, str(kept), "image"),
            DraftFile("notes.txt", 1, str(outside)),
        ],
    )
    assert store.save_ticket(draft, 1)
    other = DraftStore(tmp_path / "drafts", "cust-2")
    assert other.load_ticket() is None  # each customer has their own
    loaded = DraftStore(tmp_path / "drafts", "cust-1").load_ticket()
    assert loaded == draft
    outside.unlink()
    loaded = store.load_ticket()
    assert loaded is not None and [f.name for f in loaded.files] == ["pasted-image.png"]
    # Older saves arriving late change nothing; clearing removes kept images.
    assert not store.save_ticket(TicketDraft(subject="old"), 1)
    assert store.save_ticket(None, 2)
    assert store.load_ticket() is None
    assert not kept.exists() and not store.files_dir.exists()
    assert outside.parent.exists()


def test_reply_drafts_and_a_damaged_file(tmp_path: Path) -> None:
    store = DraftStore(tmp_path, "cust")
    store.save_reply(7, "half a reply", 1)
    store.save_ticket(TicketDraft(subject="s"))
    assert store.load_reply(7) == "half a reply"
    assert store.load_reply(8) == ""
    assert not store.save_reply(7, "stale", 1)
    store.save_reply(7, "", 2)
    assert store.load_reply(7) == ""
    store.path.write_text("{not json", encoding="utf-8")
    assert store.load_ticket() is None
    assert store.path.with_suffix(".json.damaged").read_text(encoding="utf-8") == "{not json"
    store.save_ticket(TicketDraft(subject="fresh"))
    assert json.loads(store.path.read_text(encoding="utf-8"))["ticket"]["subject"] == "fresh"


# -- portal helpers ------------------------------------------------------------------------


def test_unverified_subject() -> None:
    import base64

    def jwt(payload: object) -> str:
        body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
        return f"eyJhbGciOiJIUzI1NiJ9.{body}.sig"

    assert unverified_subject(jwt({"sub": "cust-9", "name": "x"})) == "cust-9"
    assert unverified_subject(jwt({"name": "x"})) is None
    assert unverified_subject(jwt(["sub"])) is None
    assert unverified_subject("a.b") is None
    assert unverified_subject("a.!!!.c") is None
    assert portal_module.unverified_subject(jwt({"sub": ""})) is None


# -- polling -----------------------------------------------------------------------------


def test_poller_asks_for_the_whole_list_then_changes_since(
    qtbot: QtBot, runner: TaskRunner
) -> None:
    asked: list[datetime | None] = []
    answers = [[summary(1), summary(2, updated_at=NOW + timedelta(minutes=1))], [summary(1)]]

    def fetch(since: datetime | None) -> Sequence[TicketSummary]:
        asked.append(since)
        return answers.pop(0) if answers else []

    poller = PollingUpdates(runner, fetch, interval_s=3600)
    reports: list[tuple[list[TicketSummary], bool]] = []
    poller.changed.connect(lambda found, full: reports.append((found, full)))
    assert isinstance(poller, UpdateSource)
    poller.start()
    qtbot.waitUntil(lambda: len(reports) == 1, timeout=5000)
    assert reports[0][1] is True and asked == [None]
    poller.poll_now()
    qtbot.waitUntil(lambda: len(reports) == 2, timeout=5000)
    # The newest change seen, a second earlier (same-instant updates).
    assert asked[1] == NOW + timedelta(minutes=1) - timedelta(seconds=1)
    assert reports[1][1] is False
    # After stop, a late answer is dropped and nothing more is asked.
    poller.poll_now()
    poller.stop()
    qtbot.wait(200)
    assert len(reports) == 2
    poller.poll_now()
    assert len(asked) == 3


def test_poller_waits_while_offline(qtbot: QtBot, runner: TaskRunner) -> None:
    online = {"value": False}
    asked: list[object] = []

    def fetch(since: datetime | None) -> list[TicketSummary]:
        asked.append(since)
        return []

    poller = PollingUpdates(runner, fetch, can_poll=lambda: online["value"])
    poller.start()
    qtbot.wait(100)
    assert asked == []
    online["value"] = True
    poller.poll_now()
    qtbot.waitUntil(lambda: asked == [None], timeout=5000)
    poller.stop()


class FakeUpdates(UpdateSource):
    def __init__(self) -> None:
        super().__init__()
        self.started = 0
        self.asked = 0
        self._running = False

    def start(self) -> None:
        self.started += 1
        self._running = True

    def stop(self) -> None:
        self._running = False

    def poll_now(self) -> None:
        self.asked += 1

    @property
    def running(self) -> bool:
        return self._running


@pytest.fixture
def service(
    qapp: QApplication, runner: TaskRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TicketService, FakeUpdates]]:
    monkeypatch.setenv("HELPBRIDGE_DATA_DIR", str(tmp_path / "data"))
    portal = Portal(runner, "http://127.0.0.1:9", "en")
    updates = FakeUpdates()
    svc = TicketService(portal, updates=updates)
    yield svc, updates
    svc.shutdown()


def test_news_is_an_answer_or_a_status_that_concerns_the_customer(
    qtbot: QtBot, service: tuple[TicketService, FakeUpdates]
) -> None:
    svc, updates = service
    news: list[tuple[int, str]] = []
    unread: list[int] = []
    svc.news.connect(lambda s, why: news.append((s.id, why)))
    svc.unread_changed.connect(unread.append)
    # The first, whole list is the baseline: unread tickets there are not news.
    updates.changed.emit([summary(1, unread=True), summary(2), summary(3)], True)
    assert news == [] and unread[-1] == 1 and svc.loaded
    later = NOW + timedelta(minutes=5)
    updates.changed.emit(
        [
            summary(2, unread=True, updated_at=later),  # support answered
            summary(3, status=TicketStatus.open, updated_at=later),  # nothing new
            summary(4, updated_at=later),  # a new ticket of the customer's
        ],
        False,
    )
    assert news == [(2, "reply")]
    updates.changed.emit([summary(2, unread=True, updated_at=later)], False)  # repeat
    assert news == [(2, "reply")]
    even_later = later + timedelta(minutes=5)
    updates.changed.emit(
        [
            summary(3, status=TicketStatus.resolved, updated_at=even_later),
            summary(4, status=TicketStatus.new, updated_at=even_later),
            summary(1, unread=True, updated_at=even_later),  # another answer
        ],
        False,
    )
    assert news == [(2, "reply"), (3, "status"), (1, "reply")]
    assert unread[-1] == 2
    # An older answer never replaces a newer state.
    updates.changed.emit([summary(3, status=TicketStatus.open, updated_at=NOW)], False)
    assert svc.summaries[3].status == TicketStatus.resolved


def test_outbox_callbacks_reach_the_gui_thread(
    qtbot: QtBot, service: tuple[TicketService, FakeUpdates], tmp_path: Path
) -> None:
    svc, updates = service
    seen: list[tuple[str, bool]] = []
    gui = threading.get_ident()
    svc.outbox_item.connect(lambda item: seen.append((item.state, threading.get_ident() == gui)))
    svc.set_account("cust-bridge")
    assert updates.started == 1
    qtbot.waitUntil(lambda: svc.is_ready, timeout=5000)
    assert svc.outbox is not None and svc.outbox.running
    queued: list[object] = []
    errors: list[BaseException] = []
    svc.submit_ticket(
        {
            "subject": "Offline ticket",
            "body": "",
            "category": "",
            "urgency": "low",
            "impact": "low",
            "context": {},
        },
        [fc.PendingFile("a.txt", 3, data=b"abc")],
        None,
        queued.append,
        errors.append,
    )
    # Nothing answers on port 9: the item is kept, retried later, visibly.
    qtbot.waitUntil(
        lambda: any(i.attempts >= 1 and i.error for i in svc.items.values()), timeout=10000
    )
    assert errors == [] and len(queued) == 1
    assert seen and all(on_gui for _state, on_gui in seen)
    # A new customer: a new outbox; the first one's items are not shown.
    svc.set_account("someone-else")
    assert svc.items == {}
    qtbot.waitUntil(lambda: svc.is_ready, timeout=5000)
    assert svc.items == {}
    svc.set_account("cust-bridge")
    qtbot.waitUntil(lambda: svc.is_ready and len(svc.items) == 1, timeout=5000)


def test_submitting_without_an_outbox_says_so(
    qtbot: QtBot, service: tuple[TicketService, FakeUpdates]
) -> None:
    svc, _updates = service
    errors: list[BaseException] = []
    svc.submit_ticket({"subject": "x"}, [], None, lambda _i: None, errors.append)
    assert len(errors) == 1 and getattr(errors[0], "code", "") == "not_ready"


# -- widgets ---------------------------------------------------------------------------------


def test_service_text_is_never_interpreted_as_markup(qtbot: QtBot) -> None:
    hostile = "<b>x</b><img src='http://evil.example/a.png'>"
    row = TicketRow(summary(1, subject=hostile, category="<i>c</i>", unread=True))
    qtbot.addWidget(row)
    assert row.subject.textFormat() == Qt.TextFormat.PlainText
    assert row.subject.text() == hostile
    assert "<i>c</i>" in row.meta.text()
    assert row.dot.isVisibleTo(row)
    chip = Chip(hostile, size=10, removable=True)
    qtbot.addWidget(chip)
    assert chip.label.textFormat() == Qt.TextFormat.PlainText
    assert chip.text() == hostile
    badge = StatusBadge()
    qtbot.addWidget(badge)
    badge.set_status("pending_customer")
    assert (
        badge.text() == "Waiting for your reply" and badge.property("status") == "pending_customer"
    )


def test_submit_key(qapp: QApplication) -> None:
    ctrl = Qt.KeyboardModifier.ControlModifier
    for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
        assert is_submit_key(QKeyEvent(QEvent.Type.KeyPress, key, ctrl))
    assert not is_submit_key(
        QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Return, Qt.KeyboardModifier.NoModifier)
    )


def test_attachment_box_drops_and_empty_clipboard(
    qtbot: QtBot, runner: TaskRunner, tmp_path: Path
) -> None:
    from PySide6.QtGui import QGuiApplication

    box = AttachmentBox(runner)
    qtbot.addWidget(box)
    dropped = tmp_path / "dropped.csv"
    dropped.write_text("a,b\n")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(dropped)), QUrl("https://example.com/x")])
    assert box.accepts(mime)
    assert box.drop(mime)
    qtbot.waitUntil(lambda: box.names() == ["dropped.csv"], timeout=5000)
    # The same file twice is attached once.
    box.drop(mime)
    qtbot.wait(200)
    assert box.names() == ["dropped.csv"]
    QGuiApplication.clipboard().setText("just text")
    assert not box.clipboard_has_attachment()
    assert not box.paste()
    assert "no picture or file" in box.error_label.text()
    assert not box.accepts(QMimeData())


def test_diagnostics_review_shows_each_item_and_can_leave_any_out(
    qtbot: QtBot, runner: TaskRunner
) -> None:
    items = [
        DiagnosticItem("versions", "App and system", "d", "HelpBridge: 0.1.0\n"),
        DiagnosticItem("log", "Recent log", "d", "2026 INFO portal: started\n"),
        DiagnosticItem("settings", "Settings", "d", "ui/language = en\n"),
    ]
    request = DiagnosticsRequest({}, [], {}, "6.9")
    dialog = DiagnosticsDialog(runner, request, chosen=items)
    qtbot.addWidget(dialog)
    assert dialog.list.count() == 3
    assert dialog.preview.toPlainText() == "HelpBridge: 0.1.0\n"
    dialog.list.setCurrentRow(1)
    assert dialog.preview.toPlainText() == "2026 INFO portal: started\n"
    entry: QListWidgetItem = dialog.list.item(1)
    entry.setCheckState(Qt.CheckState.Unchecked)
    assert dialog.included_keys() == ["versions", "settings"]
    import io
    import zipfile

    from client.core.diagnostics import build_zip

    names = zipfile.ZipFile(io.BytesIO(build_zip(dialog.items()))).namelist()
    assert sorted(names) == ["manifest.json", "settings.txt", "versions.txt"]


def test_diagnostics_are_collected_on_a_worker(
    qtbot: QtBot, runner: TaskRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELPBRIDGE_DATA_DIR", str(tmp_path))
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "portal.log").write_text(
        "INFO GET /tickets Authorization: Bearer abcdefghijklmnop\n", encoding="utf-8"
    )
    request = DiagnosticsRequest(
        {"module": "Sales"},
        [{"name": "screen-1", "size": "1280x800"}],
        {"ui/language": "en"},
        "6.9",
    )
    dialog = DiagnosticsDialog(runner, request)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.list.count() == 5, timeout=5000)
    texts = {i.key: i.content for i in dialog.items()}
    assert "module: Sales" in texts["host_context"]
    assert "abcdefghijklmnop" not in texts["log"] and "[redacted]" in texts["log"]
    assert dialog.list.item(0).text() == "App and system"


def test_a_screenshot_goes_through_the_editor_and_is_attached_as_png(
    qtbot: QtBot, runner: TaskRunner
) -> None:
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QColor, QGuiApplication, QImage
    from PySide6.QtWidgets import QMainWindow

    from client.ui.capture.snapshot import ScreenInfo, Snapshot

    window = QMainWindow()
    box = AttachmentBox(runner)
    window.setCentralWidget(box)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)

    def desktop() -> Snapshot:
        screen = QGuiApplication.primaryScreen()
        logical = screen.geometry()
        image = QImage(logical.width(), logical.height(), QImage.Format.Format_RGB32)
        image.fill(QColor("#0ea5e9"))
        info = ScreenInfo(
            screen.name(), logical, QRect(0, 0, image.width(), image.height()), screen
        )
        return Snapshot(image, [info], "test")

    capture = box.screen_capture()
    capture.grabber = desktop
    capture.settle_ms = 20
    box.capture("screen")
    qtbot.waitUntil(lambda: box._editor is not None and box._editor.isVisible(), timeout=5000)
    editor = box._editor
    assert editor is not None and window.isVisible()  # the portal came back
    from client.ui.capture import AnnotationEditor

    assert isinstance(editor, AnnotationEditor)
    qtbot.waitUntil(editor.has_image, timeout=5000)
    editor.accept()
    qtbot.waitUntil(lambda: box.names() == ["screenshot.png"], timeout=10000)
    data = box.files[0].data
    assert data is not None and data.startswith(b"\x89PNG")
    image = QImage()
    assert image.loadFromData(data)
    size = QGuiApplication.primaryScreen().geometry().size()
    assert (image.width(), image.height()) == (size.width(), size.height())


def test_switching_customer_keeps_each_draft_apart(
    qtbot: QtBot, service: tuple[TicketService, FakeUpdates]
) -> None:
    from client.ui.tickets.panel import PAGE_FORM, TicketsPanel

    svc, _updates = service
    svc.set_account("cust-a")
    qtbot.waitUntil(lambda: svc.is_ready, timeout=5000)
    panel = TicketsPanel(svc, svc.portal)
    qtbot.addWidget(panel)
    assert panel.open_form()
    form = panel.form
    qtbot.waitUntil(lambda: form._restored, timeout=5000)
    form.subject.setText("A's problem")
    form.body.setPlainText("typed a second ago")
    # Another customer signs in on this computer before the autosave ran.
    svc.set_account("cust-b")
    assert form.subject.text() == ""
    qtbot.waitUntil(lambda: svc.is_ready and form._restored, timeout=5000)
    assert panel.page == PAGE_FORM and form.subject.text() == ""
    form.subject.setText("B's problem")
    form.save_draft_now()
    svc.set_account("cust-a")
    qtbot.waitUntil(lambda: svc.is_ready and form._restored, timeout=5000)
    qtbot.waitUntil(lambda: form.subject.text() == "A's problem", timeout=5000)
    assert form.body.toPlainText() == "typed a second ago"


def test_failures_are_told_in_the_customers_words(qapp: QApplication) -> None:
    from client.core.api import ApiError, OfflineError
    from client.core.outbox import OutboxError
    from client.ui.errors import error_message, ticket_failure_message
    from client.ui.tickets.service import NotReady

    assert ticket_failure_message(ApiError("conflict", "closed", 409)).startswith(
        "This ticket was changed in the meantime"
    )
    assert ticket_failure_message(OfflineError("down")) == error_message("offline")
    assert ticket_failure_message(NotReady("x")) == error_message("not_ready")
    cases = {
        "this item is being sent right now; wait a moment": "It is being sent right now.",
        "big.bin is 21 MB; a file may be at most 20 MB": "A file is too large.",
        "notes.txt does not exist (any more)": "A file on this computer could not be read",
        "empty.txt is empty": "An attached file is empty.",
        "this item is already sent": "It has already been sent.",
        "the ticket could not be saved on this computer: disk I/O error": (
            "It could not be saved on this computer: the ticket could not be saved"
        ),
    }
    for english, shown in cases.items():
        assert ticket_failure_message(OutboxError(english)).startswith(shown), english
    for code in ("too_large", "local_file", "conflict", "unsupported", "not_ready"):
        assert error_message(code) != error_message("something-unknown")
