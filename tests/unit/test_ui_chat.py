"""The chat page under pytest-qt: bubbles and their states, the bot's article
cards, typing, separators, the composer, drafts, paging, the unread badge.

Events are delivered through the real :class:`RealtimeBridge` (its queued
signal) from a recording stand-in for the realtime client.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from client.core.chatstore import ChatStore, StoredConversation, StoredMessage
from client.core.realtime import (
    ConnectionChanged,
    ConversationChanged,
    HistoryLoaded,
    MessageRemoved,
    MessagesChanged,
    Problem,
    TypingChanged,
    UnreadChanged,
)
from client.ui.chat.badge import badge_icon, paint_badge
from client.ui.chat.bubbles import DaySeparator, MessageBubble, SystemLine
from client.ui.chat.page import ChatPage
from client.ui.look import app_icon
from client.ui.portal import Portal
from client.ui.realtime_bridge import RealtimeBridge
from client.ui.tasks import TaskRunner
from protocol.realtime import ChatCustomer, ConversationSummary, Party


class RecordingClient:
    """Stands in for RealtimeClient: records what the page asks of it."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __getattr__(self, name: str) -> Any:
        def record(*args: Any) -> str:
            self.calls.append((name, *args))
            return "cid-new"

        return record

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [c[1:] for c in self.calls if c[0] == name]


_ids = iter(range(1, 1_000_000))
NOW = datetime.now(UTC).replace(microsecond=0)


def msg(
    seq: int | None,
    *,
    kind: str = "agent",
    text: str = "",
    cid: int | None = 7,
    state: str | None = None,
    articles: tuple[dict[str, Any], ...] = (),
    attachments: tuple[dict[str, Any], ...] = (),
    at: datetime | None = None,
    local_id: int | None = None,
    client_id: str | None = None,
) -> StoredMessage:
    own = kind == "customer"
    return StoredMessage(
        local_id=local_id if local_id is not None else next(_ids),
        conversation_id=cid,
        seq=seq,
        prev_seq=None if seq is None else seq - 1,
        client_id=client_id or (f"c{seq}-{next(_ids)}" if own else None),
        sender_kind=kind,
        sender_id=3 if kind == "agent" else None,
        sender_name={"agent": "Alex", "bot": "Assistant", "customer": "Ann"}.get(kind, ""),
        text=text or f"message {seq}",
        attachments=attachments,
        articles=articles,
        state=state or ("sent" if own else "received"),  # type: ignore[arg-type]
        error="refused" if state == "failed" else None,
        created_at=at or NOW,
    )


def summary(cid: int = 7, status: str = "assigned", **extra: Any) -> ConversationSummary:
    return ConversationSummary(
        id=cid,
        status=status,
        customer=ChatCustomer(id=1, name="Ann"),
        assignee={"id": 3, "name": "Alex"} if status == "assigned" else None,
        last_seq=1,
        queue="normal",
        created_at=NOW,
        updated_at=NOW,
        **extra,
    )


class Env:
    def __init__(self, qtbot: QtBot, tmp_path: Path) -> None:
        self.qtbot = qtbot
        self.runner = TaskRunner()
        self.portal = Portal(self.runner, "http://127.0.0.1:9", "en")
        self.bridge = RealtimeBridge(self.portal)
        self.client = RecordingClient()
        self.store = ChatStore(tmp_path / "chat.sqlite3")
        self.bridge.client = self.client  # type: ignore[assignment]
        self.bridge.store = self.store
        self.window = QWidget()
        self.window.resize(760, 620)
        from PySide6.QtWidgets import QVBoxLayout

        layout = QVBoxLayout(self.window)
        self.page = ChatPage(self.portal, self.bridge, self.window)
        layout.addWidget(self.page)
        qtbot.addWidget(self.window)
        self.window.show()
        qtbot.waitExposed(self.window)

    def send(self, *events: Any) -> None:
        for e in events:
            self.bridge.inject(e)
        QApplication.processEvents()
        QApplication.processEvents()

    def history(self, *messages: StoredMessage, complete: bool = True) -> None:
        conv = StoredConversation(7, summary().model_dump(mode="json"), 0, 0, complete)
        self.send(HistoryLoaded(7, messages, complete, initial=True, conversations=(conv,)))

    def bubble(self, text: str) -> MessageBubble:
        for b in self.page.bubbles():
            if b.message.text == text:
                return b
        raise AssertionError(f"no bubble {text!r}: {[b.message.text for b in self.page.bubbles()]}")


@pytest.fixture
def env(qtbot: QtBot, tmp_path: Path) -> Iterator[Env]:
    e = Env(qtbot, tmp_path)
    yield e
    e.runner.shutdown(2000)
    e.store.close()


def test_bubbles_sides_and_order(env: Env) -> None:
    env.history(
        msg(2, text="Hello Ann, how can I help?"),
        msg(1, kind="customer", text="My invoice is wrong"),
        msg(None, kind="customer", text="still on its way", state="sending"),
    )
    texts = [b.message.text for b in env.page.bubbles()]
    assert texts == ["My invoice is wrong", "Hello Ann, how can I help?", "still on its way"]
    mine, theirs = env.bubble("My invoice is wrong"), env.bubble("Hello Ann, how can I help?")
    assert (mine.side, theirs.side) == ("mine", "theirs")
    # The customer's bubble sits at the right edge, support's at the left.
    assert mine.frame.geometry().right() > theirs.frame.geometry().right()
    assert theirs.frame.geometry().left() < mine.frame.geometry().left()
    assert theirs.sender_label.text() == "Alex"


def test_html_in_messages_is_shown_as_text(env: Env) -> None:
    hostile = '<b>bold</b> <img src="http://127.0.0.1:9/x.png"> <a href="x">link</a>'
    env.history(msg(1, text=hostile))
    label = env.bubble(hostile).text_label
    assert label.textFormat() == Qt.TextFormat.PlainText
    assert label.text() == hostile
    # Every label of the page that shows network text is plain text.
    env.send(
        MessagesChanged(
            (
                msg(2, kind="bot", text="<i>x</i>", articles=({"id": 1, "title": "<h1>T</h1>",
                                                                "snippet": "<s>s</s>"},)),
            )
        )
    )  # fmt: skip
    card = env.bubble("<i>x</i>").cards[0]
    assert card.title_label.text() == "<h1>T</h1>"
    assert card.title_label.textFormat() == Qt.TextFormat.PlainText
    assert card.snippet_label.textFormat() == Qt.TextFormat.PlainText


def test_message_states(env: Env) -> None:
    sending = msg(None, kind="customer", text="a", state="sending", client_id="c-a")
    env.history(sending)
    b = env.bubble("a")
    assert "Sending…" in b.state_text and not b.retry_button.isVisible()
    env.send(MessagesChanged((msg(1, kind="customer", text="a", local_id=sending.local_id,
                                  client_id="c-a"),)))  # fmt: skip
    assert "Sent ✓" in b.state_text
    env.send(MessagesChanged((msg(1, kind="customer", text="a", state="read",
                                  local_id=sending.local_id, client_id="c-a"),)))  # fmt: skip
    assert "Read ✓✓" in b.state_text
    failed = msg(None, kind="customer", text="b", state="failed", client_id="c-b")
    env.send(MessagesChanged((failed,)))
    fb = env.bubble("b")
    assert "Not sent" in fb.state_text and fb.retry_button.isVisible()
    fb.retry_button.click()
    assert env.client.named("retry") == [("c-b",)]
    fb.discard_button.click()
    assert env.client.named("discard") == [("c-b",)]
    env.send(MessageRemoved(failed.local_id, "c-b"))
    assert [x.message.text for x in env.page.bubbles()] == ["a"]


def test_bot_answer_cards_and_feedback(env: Env, qtbot: QtBot) -> None:
    arts = tuple({"id": i, "title": f"Article {i}", "snippet": f"about {i}"} for i in range(1, 5))
    env.history(
        msg(1, kind="customer", text="printer offline"),
        msg(2, kind="bot", text="These may help:", articles=arts),
    )
    env.send(ConversationChanged(summary(status="bot")))
    bot = env.bubble("These may help:")
    assert [c.title for c in bot.cards] == ["Article 1", "Article 2", "Article 3"]
    assert bot.side == "bot" and bot.feedback_row.isVisible()
    assert env.page.handoff_button.isVisible()
    with qtbot.waitSignal(env.page.article_requested) as opened:
        QTest.mouseClick(bot.cards[1], Qt.MouseButton.LeftButton)
    assert opened.args == [2]
    bot.no_button.click()
    assert env.client.named("feedback") == [(7, 2, False)]
    assert not bot.feedback_row.isVisible()
    assert bot.answered
    env.send(ConversationChanged(summary(status="bot")))
    assert not bot.feedback_row.isVisible(), "asked once only"


def test_feedback_only_on_the_newest_bot_answer(env: Env) -> None:
    arts = ({"id": 1, "title": "A", "snippet": ""},)
    env.history(
        msg(1, kind="bot", text="first", articles=arts),
        msg(2, kind="bot", text="second", articles=arts),
    )
    env.send(ConversationChanged(summary(status="bot")))
    assert not env.bubble("first").feedback_row.isVisible()
    assert env.bubble("second").feedback_row.isVisible()
    # A person took over: no more "Did this solve it?".
    env.send(ConversationChanged(summary(status="assigned")))
    env.send(MessagesChanged((msg(3, text="Alex here"),)))
    assert not env.bubble("second").feedback_row.isVisible()
    assert not env.page.handoff_button.isVisible()
    assert "Alex is helping you" in env.page.status.text()


def test_talk_to_a_person(env: Env) -> None:
    env.history(msg(1, kind="customer", text="hi"))
    env.send(ConversationChanged(summary(status="bot")))
    env.page.handoff_button.click()
    assert env.client.named("handoff") == [(7,)]
    assert not env.page.handoff_button.isVisible()


def test_typing_indicator(env: Env, qtbot: QtBot) -> None:
    env.history(msg(1, kind="customer", text="hi"))
    who = Party(kind="agent", id=3, name="Alex")
    env.send(TypingChanged(7, who, True))
    assert env.page.typing_text == "Alex is typing…"
    env.send(TypingChanged(7, who, False))
    assert env.page.typing_text == ""
    env.send(TypingChanged(7, who, True))
    env.send(MessagesChanged((msg(2, text="answer"),)))
    assert env.page.typing_text == "", "a message from them ends the typing line"


def test_day_and_conversation_separators(env: Env) -> None:
    yesterday = NOW - timedelta(days=1)
    env.history(
        msg(1, text="old", at=yesterday, cid=5),
        msg(1, text="new", cid=7),
    )
    env.send(ConversationChanged(summary(5, status="closed")))
    widgets = env.page.timeline_widgets()
    days = [w.text() for w in widgets if isinstance(w, DaySeparator)]
    assert days == ["Yesterday", "Today"]
    lines = [w.text() for w in widgets if isinstance(w, SystemLine)]
    assert lines == ["Conversation ended", "New conversation"]
    order = [w for w in widgets if isinstance(w, DaySeparator | SystemLine | MessageBubble)]
    assert isinstance(order[0], DaySeparator) and isinstance(order[-1], MessageBubble)


def test_chat_turned_into_ticket_links_to_it(env: Env, qtbot: QtBot) -> None:
    env.history(msg(1, kind="customer", text="nobody there?"))
    env.send(ConversationChanged(summary(status="closed", ticket_id=42, ticket_number=10482)))
    line = next(w for w in env.page.timeline_widgets() if isinstance(w, SystemLine))
    assert "#10482" in line.text()
    assert line.button is not None
    with qtbot.waitSignal(env.page.ticket_requested) as opened:
        line.button.click()
    assert opened.args == [42]
    # Writing now starts a new conversation.
    assert env.page.current_conversation is None


def test_enter_sends_shift_enter_adds_a_line(env: Env) -> None:
    env.history()
    box = env.page.composer.input
    box.setFocus()
    QTest.keyClicks(box, "first line")
    QTest.keyClick(box, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    QTest.keyClicks(box, "second")
    assert env.client.named("send") == []
    QTest.keyClick(box, Qt.Key.Key_Return)
    assert env.client.named("send") == [("first line\nsecond", 7, [])]
    assert box.toPlainText() == ""
    # Nothing to send: Enter does nothing.
    QTest.keyClick(box, Qt.Key.Key_Return)
    assert len(env.client.named("send")) == 1


def test_too_long_text_is_kept_and_not_sent(env: Env) -> None:
    env.history()
    env.page.composer.set_text("x" * 10_001)
    assert not env.page.composer.send_button.isEnabled()
    env.page.send()
    assert env.client.named("send") == []
    assert env.page.composer.counter.isVisible()
    assert len(env.page.composer.text()) == 10_001


def test_problems_are_shown(env: Env) -> None:
    env.history()
    env.send(Problem("forbidden", "refused", "c1", 7))
    assert env.page.composer.notice.text() == "This conversation is not available to you any more."


def test_connection_state_is_shown(env: Env) -> None:
    env.send(ConnectionChanged("offline", retry_in=5.0, reason="network"))
    assert "Reconnecting in 5 s" in env.page.connection_text
    env.send(ConnectionChanged("online"))
    assert "Online" in env.page.connection_text
    env.send(ConnectionChanged("signed_out", reason="auth"))
    assert "Sign in" in env.page.connection_text


def test_draft_is_saved_and_restored(env: Env, qtbot: QtBot, tmp_path: Path) -> None:
    env.history()
    QTest.keyClicks(env.page.composer.input, "half a thought")
    qtbot.waitUntil(lambda: env.store.draft() == "half a thought", timeout=3000)
    # A new page (a restart) picks the draft up.
    page2 = ChatPage(env.portal, env.bridge)
    qtbot.addWidget(page2)
    qtbot.waitUntil(lambda: page2.composer.text() == "half a thought", timeout=3000)
    # Sending clears it.
    QTest.keyClick(env.page.composer.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: env.store.draft() == "", timeout=3000)


def test_scrolling_up_loads_older_messages(env: Env, qtbot: QtBot) -> None:
    env.history(*[msg(s, text=f"line {s}") for s in range(51, 101)], complete=False)
    bar = env.page.scroller.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum(), timeout=3000)
    bar.setValue(0)
    assert env.client.named("load_older") == [(7, 51)]
    assert env.page.older_line.text() == "Loading earlier messages…"
    before = bar.maximum() - bar.value()
    env.send(HistoryLoaded(7, tuple(msg(s, text=f"line {s}") for s in range(1, 51)), True))
    assert len(env.page.bubbles()) == 100
    qtbot.waitUntil(lambda: bar.maximum() - bar.value() == before, timeout=3000)
    assert env.page.older_line.text() == "This is the beginning of your conversation."


def test_a_long_chat_lets_go_of_its_oldest_rows(env: Env, qtbot: QtBot) -> None:
    env.history(*[msg(s, text=f"line {s}") for s in range(1, 301)])
    bar = env.page.scroller.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum(), timeout=5000)
    env.send(MessagesChanged((msg(301, text="newest"),)))
    seqs = [b.message.seq for b in env.page.bubbles()]
    assert seqs == list(range(102, 302))
    assert env.page.older_line.text() == "Scroll up for earlier messages"
    # Scrolling up asks for them again (the client serves them from disk).
    bar.setValue(0)
    assert env.client.named("load_older")[-1] == (7, 102)


def test_new_message_scrolls_down_and_marks_read(env: Env, qtbot: QtBot) -> None:
    env.window.activateWindow()
    env.history(*[msg(s, text=f"line {s}") for s in range(1, 40)])
    bar = env.page.scroller.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum(), timeout=3000)
    env.send(MessagesChanged((msg(40, text="newest"),)))
    qtbot.waitUntil(lambda: bar.value() == bar.maximum(), timeout=3000)
    qtbot.waitUntil(env.window.isActiveWindow, timeout=3000)
    env.page.mark_read()
    assert env.client.named("mark_read")[-1] == (7, 40)


def test_unread_count_on_the_tray_icon(qapp: QApplication) -> None:
    base = app_icon().pixmap(64, 64)
    painted = paint_badge(base, 3).toImage()
    corner = QColor(painted.pixel(painted.width() - 12, 12))
    assert corner.red() > 180 and corner.green() < 90, corner.name()
    assert paint_badge(base, 0).toImage() == base.toImage()
    assert badge_icon(app_icon(), 0) is not None

    from client.ui.tray import Tray

    class Window(QWidget):
        badge_changed = Signal(int)
        chat_notification_requested = Signal(str, str)

        def __init__(self) -> None:
            super().__init__()
            self.opened = 0

        def open_chat(self) -> None:
            self.opened += 1

    window = Window()
    tray = Tray(window)
    window.badge_changed.emit(5)
    assert tray.unread == 5 and "5 unread" in tray.icon.toolTip()
    shown = tray.icon.icon().pixmap(64, 64).toImage()
    assert shown != base.toImage()
    window.badge_changed.emit(0)
    assert tray.icon.toolTip() == "HelpBridge"
    window.chat_notification_requested.emit("Alex (chat)", "Hello")
    assert tray.chat_messages == [("Alex (chat)", "Hello")]
    tray.icon.messageClicked.emit()
    assert window.opened == 1


def test_unread_reaches_the_bridge(env: Env, qtbot: QtBot) -> None:
    with qtbot.waitSignal(env.bridge.unread_changed) as got:
        env.bridge.inject(UnreadChanged(4))
    assert got.args == [4] and env.bridge.unread == 4


def test_notification_only_while_hidden(env: Env, qtbot: QtBot) -> None:
    env.history(msg(1, kind="customer", text="hi"))
    seen: list[tuple[str, str]] = []
    env.page.notify.connect(lambda t, x: seen.append((t, x)))
    env.send(MessagesChanged((msg(2, text="visible now"),)))
    assert seen == []
    env.window.hide()
    env.send(MessagesChanged((msg(3, text="while hidden"),)))
    assert seen == [("Alex (chat)", "while hidden")]
    # Old history arriving later is not news.
    env.send(MessagesChanged((msg(4, text="old", at=NOW - timedelta(days=2)),)))
    assert len(seen) == 1


def test_pasted_image_becomes_an_attachment(env: Env, qtbot: QtBot) -> None:
    env.history()
    image = QImage(40, 30, QImage.Format.Format_RGB32)
    image.fill(QColor("#ff0000"))
    env.page.composer.input.image_pasted.emit(image)
    qtbot.waitUntil(lambda: bool(env.page.composer.attachments), timeout=3000)
    items = env.page.composer.attachments
    assert len(items) == 1 and items[0].name.endswith(".png") and items[0].data
    assert items[0].data[:8] == b"\x89PNG\r\n\x1a\n"
    assert env.page.composer.send_button.isEnabled()


def test_dropped_files_are_attached_with_their_limits(
    env: Env, qtbot: QtBot, tmp_path: Path
) -> None:
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    env.history()
    log = tmp_path / "export.log"
    log.write_bytes(b"line\n" * 100)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(log)), QUrl.fromLocalFile(str(empty))])
    event = QDropEvent(
        QPointF(20, 20),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    env.page.dropEvent(event)
    qtbot.waitUntil(lambda: len(env.page.composer.attachments) == 1, timeout=3000)
    item = env.page.composer.attachments[0]
    assert (item.name, item.size, item.path) == ("export.log", 500, log)
    assert "empty.txt" in env.page.composer.notice.text()
    # Sending uploads first: offline here, so everything stays put.
    env.page.composer.set_text("the log")
    env.page.send()
    qtbot.waitUntil(
        lambda: "could not be uploaded" in env.page.composer.notice.text(), timeout=10000
    )
    assert env.client.named("send") == []
    assert env.page.composer.text() == "the log" and len(env.page.composer.attachments) == 1


def test_sender_names_are_plain_labels(env: Env) -> None:
    env.history(msg(1, text="x"))
    bubble = env.bubble("x")
    for label in bubble.findChildren(QLabel):
        if label.objectName() in ("BubbleText", "BubbleSender", "BubbleMeta"):
            assert label.textFormat() == Qt.TextFormat.PlainText


def test_bridge_drops_events_of_a_replaced_client(env: Env) -> None:
    got: list[object] = []
    env.bridge.received.connect(got.append)
    stale = env.bridge._generation
    env.bridge.stop()
    env.bridge._from_loop.emit(stale, UnreadChanged(9))
    QApplication.processEvents()
    assert got == [] and env.bridge.unread == 0
    # The page was cleared for whoever signs in next.
    assert env.page.bubbles() == []


def test_offline_start_shows_history_and_keeps_new_messages(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Offline, nobody signed in, but the customer is known: their chat opens
    from disk and what they write waits, stored, for a sign-in."""
    monkeypatch.setenv("HELPBRIDGE_DATA_DIR", str(tmp_path / "data"))
    from client.core.chatstore import chat_path
    from client.core.paths import data_dir

    url = "http://127.0.0.1:9"
    earlier = ChatStore(chat_path(data_dir(), url, "cust-offline"))
    earlier.save_conversation(7, summary().model_dump(mode="json"))
    from client.core.chatstore import Incoming

    earlier.save_incoming(
        [Incoming(7, 1, 0, None, "agent", 3, "Alex", "from last week", created_at=NOW)]
    )
    earlier.close()

    runner = TaskRunner()
    portal = Portal(runner, url, "en")
    portal.online = False
    bridge = RealtimeBridge(portal)
    page = ChatPage(portal, bridge)
    qtbot.addWidget(page)
    page.show()
    try:
        portal.account_known.emit("cust-offline")
        qtbot.waitUntil(lambda: bridge.client is not None, timeout=5000)
        qtbot.waitUntil(lambda: [b.message.text for b in page.bubbles()] == ["from last week"],
                        timeout=5000)  # fmt: skip
        client = bridge.client
        assert client is not None
        qtbot.waitUntil(lambda: client.state == "signed_out", timeout=5000)
        qtbot.waitUntil(lambda: page._connection_state == "signed_out", timeout=5000)
        assert "Offline" in page.connection_text, "not a sign-in problem while offline"
        page.composer.set_text("written offline")
        QTest.keyClick(page.composer.input, Qt.Key.Key_Return)
        store = bridge.store
        assert store is not None
        qtbot.waitUntil(lambda: [m.text for m in store.pending()] == ["written offline"],
                        timeout=5000)  # fmt: skip
        qtbot.waitUntil(lambda: "Sending…" in page.bubbles()[-1].state_text, timeout=5000)
    finally:
        bridge.shutdown()
        runner.shutdown(2000)


def test_a_deleted_bridge_stops_its_client(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtCore import QCoreApplication, QEvent

    monkeypatch.setenv("HELPBRIDGE_DATA_DIR", str(tmp_path / "data"))
    runner = TaskRunner()
    portal = Portal(runner, "http://127.0.0.1:9", "en")
    bridge = RealtimeBridge(portal)
    try:
        portal.account_known.emit("cust-gone")
        qtbot.waitUntil(lambda: bridge.client is not None, timeout=5000)
        client = bridge.client
        assert client is not None and client.running
        bridge.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
        qtbot.waitUntil(lambda: not client.running, timeout=5000)
    finally:
        runner.shutdown(2000)
