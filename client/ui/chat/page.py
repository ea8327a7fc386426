"""The Chat section of the portal: the conversation with support.

:class:`ChatPage` draws what the :class:`~client.ui.realtime_bridge.RealtimeBridge`
reports, on the GUI thread: the history from disk first (before the
network answers), then live messages, acks, read receipts, typing and
status changes. It never waits: sending only hands the text to the realtime
client (which stores it before anything else), and uploads, downloads and
draft writes go to the portal's worker pool.

The timeline holds the messages of every conversation it has been given,
ordered by (conversation, seq); the customer's unsent messages come last.
A new conversation starts below a separator. Scrolling to the top pages in
older history (from disk when it is there without gaps, else from the
service).

What the customer types is saved as a draft (debounced, and once more when
the portal quits), so neither closing the window nor a crash loses it.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QImage,
    QKeySequence,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from client.ui.chat.bubbles import DaySeparator, MessageBubble, SystemLine
from client.ui.chat.composer import Composer, PendingAttachment
from client.ui.chat.text import (
    connection_label,
    day_label,
    local_day,
    offline_hint,
    problem_message,
    status_line,
)
from client.ui.errors import error_message, exception_code

if TYPE_CHECKING:
    from client.core.chatstore import StoredMessage
    from client.core.realtime import ConnectionChanged
    from client.ui.portal import Portal
    from client.ui.realtime_bridge import RealtimeBridge

log = logging.getLogger(__name__)

DRAFT_DELAY_MS = 400
TYPING_EVERY_S = 3.0
"""While typing, "typing" is sent at most this often; "stopped" after TYPING_IDLE_MS."""
TYPING_IDLE_MS = 4000
TYPING_SHOWN_MS = 6000
"""Support's typing line disappears after this long without news."""
NOTIFY_RECENT = timedelta(minutes=10)
BOTTOM_SLACK = 48
MAX_SHOWN = 300
"""Past this many messages on screen (and reading the newest), the oldest are
let go down to KEEP_SHOWN: a widget per message gets slow in the thousands,
and scrolling up brings them back from disk."""
KEEP_SHOWN = 200
TOP_TRIGGER = 24
_LAST = 10**15

CHAT_STYLE = """
#ChatTimeline { background: #ffffff; }
#ChatHeader { background: #ffffff; border-bottom: 1px solid #eef0f4; }
#ChatTitle { font-size: 16px; font-weight: 700; }
#ChatStatus { color: #6b7280; }
#Connection { color: #6b7280; padding: 1px 8px; border-radius: 9px; background: #f3f4f6;
              font-size: 12px; }
#Connection[state="online"] { color: #059669; background: transparent; }
#Connection[state="offline"] { color: #92400e; background: #fffbeb; }
#HandoffButton { padding: 4px 12px; }
#Bubble { border-radius: 14px; background: #f1f5f9; }
#Bubble[side="mine"] { background: #1d4ed8; }
#Bubble[side="mine"][state="failed"] { background: #fee2e2; border: 1px solid #fca5a5; }
#Bubble[side="bot"] { background: #f5f3ff; border: 1px solid #e9e5ff; }
#Bubble[side="mine"] QLabel#BubbleText { color: #ffffff; }
#Bubble[side="mine"][state="failed"] QLabel#BubbleText { color: #7f1d1d; }
#BubbleText { font-size: 14px; }
#BubbleSender { color: #4b5563; font-size: 12px; font-weight: 700; }
#BubbleMeta { color: #6b7280; font-size: 11px; }
#Bubble[side="mine"] QLabel#BubbleMeta { color: #c7d2fe; }
#Bubble[side="mine"][state="failed"] QLabel#BubbleMeta { color: #b91c1c; }
#RetryButton { color: #b91c1c; font-weight: 700; font-size: 11px; padding: 0 4px; }
#ArticleCard {
    background: #ffffff; border: 1px solid #ddd6fe; border-radius: 9px;
}
#ArticleCard:hover, #ArticleCard:focus { border: 1px solid #7c3aed; }
#ArticleCardTitle { color: #1d4ed8; font-weight: 700; }
#ArticleCardSnippet { color: #4b5563; font-size: 12px; }
#FeedbackQuestion { color: #374151; font-weight: 600; }
#FeedbackButton { padding: 3px 10px; border-radius: 12px; }
#AttachmentChip { background: #ffffff; border: 1px solid #d1d5db; border-radius: 8px;
                  padding: 3px 8px; }
#SystemText { color: #6b7280; font-size: 12px; background: #f3f4f6; border-radius: 9px;
              padding: 3px 10px; }
#LinkButton { color: #1d4ed8; border: none; background: transparent; font-weight: 700;
              padding: 2px 4px; }
#DayLabel { color: #9ca3af; font-size: 11px; font-weight: 700; }
#SeparatorLine { color: #eef0f4; }
#TypingLine { color: #6b7280; font-style: italic; padding: 2px 6px; }
#OlderLine { color: #9ca3af; font-size: 11px; }
#Composer { background: #ffffff; border-top: 1px solid #eef0f4; }
#ChatInput { border: 1px solid #d1d5db; border-radius: 10px; padding: 4px 6px;
             font-size: 14px; background: #ffffff; }
#ChatInput:focus { border: 1px solid #1d4ed8; }
#SendButton { background: #1d4ed8; color: #ffffff; border-radius: 10px; padding: 7px 16px;
              font-weight: 700; }
#SendButton:disabled { background: #c7d2fe; }
#SendButton:hover:!disabled { background: #1e40af; }
#PendingChip { background: #eef2ff; border-radius: 10px; }
#ComposerNotice { color: #92400e; }
#ComposerNotice[over="true"] { color: #b91c1c; font-weight: 700; }
"""


def _key(m: StoredMessage) -> tuple[int, int, int]:
    return (
        m.conversation_id if m.conversation_id is not None else _LAST,
        m.seq if m.seq is not None else _LAST,
        m.local_id,
    )


class ChatPage(QWidget):
    """The customer's chat (see the module docstring).

    Signals:
        article_requested(int): open this knowledge article.
        ticket_requested(int): open this ticket (the chat became a ticket).
        notify(str, str): (title, text) for a desktop message while the
            window is hidden.
    """

    article_requested = Signal(int)
    ticket_requested = Signal(int)
    notify = Signal(str, str)

    def __init__(
        self, portal: Portal, bridge: RealtimeBridge, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("ChatPage")
        self.setStyleSheet(CHAT_STYLE)
        self.setAcceptDrops(True)
        self.portal = portal
        self.bridge = bridge
        self.messages: dict[int, StoredMessage] = {}
        self.widgets: dict[int, MessageBubble | SystemLine] = {}
        self.conversations: dict[int, dict[str, Any]] = {}
        self.complete: dict[int, bool] = {}
        self.feedback_given: set[tuple[int, int]] = set()
        self.loading_older = False
        self.older_failed = False
        self._extras: dict[Any, QWidget] = {}
        self._typing: dict[int, str] = {}
        self._typing_sent_at = 0.0
        self._typing_conversation: int | None = None
        self._keep_from_bottom: int | None = None
        self._stick_to_bottom = True
        self._read_marks: dict[int, int] = {}
        self._retry_deadline: float | None = None
        self._connection_state = "connecting"
        self._draft_loaded = False

        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        root.addWidget(self._build_header())

        self.scroller = QScrollArea(self)
        self.scroller.setObjectName("ChatScroll")
        self.scroller.setWidgetResizable(True)
        self.scroller.setFrameShape(QFrame.Shape.NoFrame)
        self.scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.timeline = QWidget(self.scroller)
        self.timeline.setObjectName("ChatTimeline")
        self.timeline_layout = QVBoxLayout(self.timeline)
        self.timeline_layout.setContentsMargins(16, 10, 16, 10)
        self.timeline_layout.setSpacing(4)
        self.scroller.setWidget(self.timeline)
        bar = self.scroller.verticalScrollBar()
        bar.rangeChanged.connect(self._on_range_changed)
        bar.valueChanged.connect(self._on_scrolled)
        root.addWidget(self.scroller, 1)

        self.older_line = QLabel(self.timeline)
        self.older_line.setObjectName("OlderLine")
        self.older_line.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_line = QLabel(self.timeline)
        self.empty_line.setObjectName("ChatStatus")
        self.empty_line.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_line.setWordWrap(True)
        self.empty_line.setText(
            self.tr(
                "Ask us anything. Our assistant suggests articles at once; "
                "a person from support takes over when you ask."
            )
        )
        self.typing_line = QLabel(self.timeline)
        self.typing_line.setObjectName("TypingLine")
        self.typing_line.setTextFormat(Qt.TextFormat.PlainText)
        self.typing_line.hide()

        self.composer = Composer(self)
        self.composer.send_requested.connect(self.send)
        self.composer.capture_requested.connect(self.capture_screenshot)
        self.composer.attach_requested.connect(self.choose_files)
        self.composer.text_edited.connect(self._on_text_edited)
        self.composer.input.image_pasted.connect(self.attach_image)
        self.composer.input.files_pasted.connect(self.attach_files)
        root.addWidget(self.composer)

        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(DRAFT_DELAY_MS)
        self._draft_timer.timeout.connect(self.save_draft)
        self._typing_timer = QTimer(self)
        self._typing_timer.setSingleShot(True)
        self._typing_timer.setInterval(TYPING_IDLE_MS)
        self._typing_timer.timeout.connect(lambda: self._send_typing(False))
        self._typing_shown = QTimer(self)
        self._typing_shown.setSingleShot(True)
        self._typing_shown.setInterval(TYPING_SHOWN_MS)
        self._typing_shown.timeout.connect(self._clear_typing)
        self._countdown = QTimer(self)
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self._show_connection)

        bridge.received.connect(self._on_event)
        bridge.ready_changed.connect(self._on_ready)
        bridge.stopping.connect(self._on_stopping)
        portal.online_changed.connect(lambda _online: self._show_connection())
        self._set_connection("connecting" if bridge.ready else "signed_out")
        if bridge.connection is not None:
            self._on_connection(bridge.connection)
        self._relayout()
        self._update_header()
        if bridge.ready:
            self._on_ready(True)

    # -- construction -----------------------------------------------------------------------

    def _build_header(self) -> QWidget:
        header = QFrame(self)
        header.setObjectName("ChatHeader")
        row = QHBoxLayout(header)
        row.setContentsMargins(18, 10, 14, 10)
        row.setSpacing(10)
        titles = QVBoxLayout()
        titles.setSpacing(1)
        self.title = QLabel(self.tr("Chat with support"), header)
        self.title.setObjectName("ChatTitle")
        self.status = QLabel(header)
        self.status.setObjectName("ChatStatus")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        titles.addWidget(self.title)
        titles.addWidget(self.status)
        row.addLayout(titles, 1)
        self.connection = QLabel(header)
        self.connection.setObjectName("Connection")
        row.addWidget(self.connection, 0, Qt.AlignmentFlag.AlignVCenter)
        self.handoff_button = QPushButton(self.tr("Talk to a person"), header)
        self.handoff_button.setObjectName("HandoffButton")
        self.handoff_button.setToolTip(
            self.tr("Leave the assistant and wait for a person from support")
        )
        self.handoff_button.clicked.connect(self.talk_to_person)
        # Reachable without the mouse (keyboard users, screen readers).
        self.handoff_button.setShortcut(QKeySequence("Ctrl+Shift+P"))
        self.handoff_button.hide()
        row.addWidget(self.handoff_button, 0, Qt.AlignmentFlag.AlignVCenter)
        return header

    # -- the bridge -------------------------------------------------------------------------

    def _on_ready(self, ready: bool) -> None:
        if not ready:
            # Another customer (or service) may come next: show nothing of this one.
            self.clear()
            self._set_connection("signed_out")
            return
        if self.bridge.client is not None:
            self.bridge.client.reload()  # the start window, in case it came before this page
        store = self.bridge.store
        if store is None or self._draft_loaded:
            if store is not None and self.composer.text():
                self._draft_timer.start()
            return

        def done(text: object) -> None:
            self._draft_loaded = True
            if isinstance(text, str) and text and not self.composer.text():
                self.composer.set_text(text)
                log.info("chat draft restored (%d characters)", len(text))
            elif self.composer.text():
                self._draft_timer.start()  # typed before the history was open

        self.portal.runner.run_task(
            store.draft, done, lambda exc: log.warning("chat draft not read: %s", exc), serial=True
        )

    def _on_event(self, event: object) -> None:
        from client.core import realtime as rt

        if isinstance(event, rt.HistoryLoaded):
            self._on_history(event)
        elif isinstance(event, rt.MessagesChanged):
            self._on_messages(event.messages)
        elif isinstance(event, rt.MessageRemoved):
            self.messages.pop(event.local_id, None)
            widget = self.widgets.pop(event.local_id, None)
            if widget is not None:
                widget.deleteLater()
            self._relayout()
        elif isinstance(event, rt.ConversationChanged):
            self._on_summary(event.conversation.model_dump(mode="json"))
        elif isinstance(event, rt.Welcomed):
            for summary in event.conversations:
                self._on_summary(summary.model_dump(mode="json"), relayout=False)
            self._relayout()
        elif isinstance(event, rt.TypingChanged):
            self._on_typing(event.conversation_id, event.who.name, event.typing)
        elif isinstance(event, rt.ConnectionChanged):
            self._on_connection(event)
        elif isinstance(event, rt.Problem) and (
            event.code != "rate_limited" or event.client_id is None
        ):
            self.composer.show_notice(problem_message(event.code))

    def _on_history(self, event: Any) -> None:
        if event.initial:
            for c in event.conversations:
                self.conversations.setdefault(c.id, dict(c.summary))
                self.complete[c.id] = c.complete
            self._stick_to_bottom = True
        else:
            self.loading_older = False
            self.older_failed = bool(event.failed)
            self._keep_from_bottom = self._distance_from_bottom()
        if event.conversation_id is not None:
            self.complete[event.conversation_id] = bool(event.complete)
        for m in event.messages:
            self._upsert(m)
        self._relayout()
        self._update_header()

    def _on_messages(self, messages: tuple[StoredMessage, ...]) -> None:
        fresh = [m for m in messages if m.local_id not in self.messages]
        for m in messages:
            # Ids and states only: what people write stays out of the log.
            log.info(
                "chat message %s conversation=%s seq=%s sender=%s state=%s",
                "shown" if m in fresh else "updated",
                m.conversation_id,
                m.seq,
                m.sender_kind,
                m.state,
            )
        self._stick_to_bottom = self._distance_from_bottom() <= BOTTOM_SLACK or any(
            m.own for m in fresh
        )
        for m in messages:
            self._upsert(m)
            if not m.own and m.conversation_id is not None:
                self._typing.pop(m.conversation_id, None)
        self._show_typing()
        if len(self.messages) > MAX_SHOWN and self._stick_to_bottom:
            self._trim()
        self._relayout()
        self._update_header()
        incoming = [m for m in fresh if m.state == "received"]
        if incoming:
            self._maybe_notify(incoming[-1])
        self.mark_read()

    def _on_summary(self, summary: dict[str, Any], *, relayout: bool = True) -> None:
        cid = int(summary.get("id", 0))
        if not cid:
            return
        self.conversations[cid] = summary
        if relayout:
            self._relayout()
        self._update_header()

    def _upsert(self, m: StoredMessage) -> None:
        self.messages[m.local_id] = m
        if m.prev_seq == 0 and m.conversation_id is not None:
            self.complete[m.conversation_id] = True  # its first message: nothing older
        widget = self.widgets.get(m.local_id)
        if isinstance(widget, MessageBubble):
            widget.set_message(m)
            return
        if m.sender_kind == "system":
            self.widgets[m.local_id] = SystemLine(m.text, self.timeline)
            return
        bubble = MessageBubble(m, self.timeline)
        bubble.retry.connect(self._retry)
        bubble.discard.connect(self._discard)
        bubble.article_requested.connect(self.article_requested)
        bubble.feedback.connect(lambda seq, helpful, b=bubble: self._feedback(b, seq, helpful))
        bubble.attachment_requested.connect(
            lambda a, b=bubble: self.open_attachment(b.message.conversation_id, a)
        )
        bubble.set_bubble_width(self._bubble_width())
        self.widgets[m.local_id] = bubble

    def clear(self) -> None:
        """Forget everything shown (the customer changed)."""
        for widget in [*self.widgets.values(), *self._extras.values()]:
            widget.deleteLater()
        self.widgets.clear()
        self._extras.clear()
        self.messages.clear()
        self.conversations.clear()
        self.complete.clear()
        self.feedback_given.clear()
        self._read_marks.clear()
        self._typing.clear()
        self.loading_older = self.older_failed = False
        self._draft_loaded = False
        self.composer.clear()
        self.composer.show_notice("")
        self._relayout()
        self._update_header()

    def _trim(self) -> None:
        """Let go of the oldest messages beyond KEEP_SHOWN (see MAX_SHOWN)."""
        ordered = self.ordered()
        for m in ordered[: len(ordered) - KEEP_SHOWN]:
            self.messages.pop(m.local_id, None)
            widget = self.widgets.pop(m.local_id, None)
            if widget is not None:
                widget.deleteLater()
            if m.conversation_id is not None:
                self.complete[m.conversation_id] = False

    # -- layout -----------------------------------------------------------------------------

    def ordered(self) -> list[StoredMessage]:
        return sorted(self.messages.values(), key=_key)

    def _relayout(self) -> None:
        """Put every piece in order: older-history line, then per message a
        conversation or day separator where one starts, the bubble; ticket
        notices; the typing line."""
        wanted: list[QWidget] = []
        used: set[Any] = set()

        def extra(key: Any, make: Any) -> QWidget:
            widget = self._extras.get(key)
            if widget is None:
                widget = make()
                self._extras[key] = widget
            used.add(key)
            return widget

        ordered = self.ordered()
        oldest_cid = next((m.conversation_id for m in ordered), None)
        self.older_line.setText(self._older_text(oldest_cid))
        wanted.append(self.older_line)
        prev_cid: int | None = None
        prev_day = None
        for m in ordered:
            cid = m.conversation_id
            if prev_cid is not None and cid != prev_cid:
                wanted.extend(self._conversation_end(prev_cid, extra))
                wanted.append(
                    extra(
                        ("new", cid),
                        lambda: SystemLine(self.tr("New conversation"), self.timeline),
                    )
                )
            day = local_day(m.created_at)
            if day != prev_day:
                text = day_label(day)
                wanted.append(
                    extra(
                        ("day", cid, day.toJulianDay()),
                        lambda t=text: DaySeparator(t, self.timeline),
                    )
                )
                prev_day = day
            prev_cid = cid
            wanted.append(self.widgets[m.local_id])
        if prev_cid is not None:
            wanted.extend(self._conversation_end(prev_cid, extra))
        self.empty_line.setVisible(not ordered)
        for key in [k for k in self._extras if k not in used]:
            self._extras.pop(key).deleteLater()
        if not ordered:
            wanted.append(self.empty_line)
        wanted.append(self.typing_line)
        self._apply_order(wanted)
        self._update_feedback()

    def _apply_order(self, wanted: list[QWidget]) -> None:
        """Make the layout hold ``wanted`` (after a leading stretch that keeps
        a short conversation at the bottom), touching only what changed: a
        new message is one insertion, not a rebuild of hundreds of rows."""
        layout = self.timeline_layout
        if layout.count() == 0:
            layout.addStretch(1)
        current: list[QWidget | None] = []
        for i in range(1, layout.count()):
            item = layout.itemAt(i)
            current.append(item.widget() if item is not None else None)
        if current == wanted:
            return
        shortest = min(len(current), len(wanted))
        head = 0
        while head < shortest and current[head] is wanted[head]:
            head += 1
        tail = 0
        while tail < shortest - head and current[-1 - tail] is wanted[-1 - tail]:
            tail += 1
        for widget in current[head : len(current) - tail]:
            if widget is not None:
                layout.removeWidget(widget)
        for offset, widget in enumerate(wanted[head : len(wanted) - tail]):
            layout.insertWidget(1 + head + offset, widget)

    def _conversation_end(self, cid: int, extra: Any) -> list[QWidget]:
        summary = self.conversations.get(cid) or {}
        out: list[QWidget] = []
        ticket_id = summary.get("ticket_id")
        if ticket_id:
            number = summary.get("ticket_number") or ticket_id
            # The service says so in the conversation; this line is the way there.
            text = self.tr("Continued in ticket #{number}").format(number=number)

            def make() -> QWidget:
                line = SystemLine(text, self.timeline, action=self.tr("Open ticket"))
                line.action.connect(lambda: self.ticket_requested.emit(int(ticket_id)))
                return line

            out.append(extra(("ticket", cid, ticket_id), make))
        elif summary.get("status") == "closed":
            out.append(
                extra(
                    ("closed", cid),
                    lambda: SystemLine(self.tr("Conversation ended"), self.timeline),
                )
            )
        return out

    def _older_text(self, oldest_cid: int | None) -> str:
        if oldest_cid is None or oldest_cid >= _LAST:
            return ""
        if self.loading_older:
            return self.tr("Loading earlier messages…")
        if self.older_failed:
            return self.tr("Earlier messages cannot be loaded now.")
        if self.complete.get(oldest_cid) and self._previous_conversation(oldest_cid) is None:
            return self.tr("This is the beginning of your conversation.")
        return self.tr("Scroll up for earlier messages")

    def _update_feedback(self) -> None:
        """Offer "Did this solve it?" on the newest bot answer only, while the
        bot still has the conversation."""
        newest: MessageBubble | None = None
        for m in self.ordered():
            widget = self.widgets.get(m.local_id)
            if isinstance(widget, MessageBubble) and widget.cards:
                widget.set_feedback_open(False)
                newest = widget
        if newest is None:
            return
        m = newest.message
        cid = m.conversation_id
        status = (self.conversations.get(cid or 0) or {}).get("status")
        later = any(
            x.conversation_id == cid and (x.seq or _LAST) > (m.seq or 0) and not x.own
            for x in self.messages.values()
        )
        open_ = (
            status in (None, "bot")
            and not later
            and m.seq is not None
            and (cid or 0, m.seq) not in self.feedback_given
        )
        newest.set_feedback_open(open_)

    def _bubble_width(self) -> int:
        return int(self.scroller.viewport().width() * 0.72)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        width = self._bubble_width()
        for widget in self.widgets.values():
            if isinstance(widget, MessageBubble):
                widget.set_bubble_width(width)

    # -- scrolling --------------------------------------------------------------------------

    def _distance_from_bottom(self) -> int:
        bar = self.scroller.verticalScrollBar()
        return int(bar.maximum() - bar.value())

    def _on_range_changed(self, _low: int, high: int) -> None:
        bar = self.scroller.verticalScrollBar()
        if self._keep_from_bottom is not None:
            bar.setValue(high - self._keep_from_bottom)
            self._keep_from_bottom = None
        elif self._stick_to_bottom:
            bar.setValue(high)

    def _on_scrolled(self, value: int) -> None:
        self._stick_to_bottom = self._distance_from_bottom() <= BOTTOM_SLACK
        if value <= TOP_TRIGGER and self.scroller.verticalScrollBar().maximum() > 0:
            self.load_older()
        if self._stick_to_bottom:
            self.mark_read()

    def scroll_to_bottom(self) -> None:
        self._stick_to_bottom = True
        bar = self.scroller.verticalScrollBar()
        bar.setValue(bar.maximum())

    def load_older(self) -> bool:
        """Ask for the page before the oldest message shown. False if there
        is nothing to ask (all shown, already loading, no client)."""
        client = self.bridge.client
        if client is None or self.loading_older:
            return False
        ordered = [m for m in self.ordered() if m.conversation_id is not None]
        if not ordered:
            return False
        oldest = ordered[0]
        cid = oldest.conversation_id
        assert cid is not None
        if self.complete.get(cid):
            previous = self._previous_conversation(cid)
            if previous is None:
                return False
            cid, before = previous, None
        else:
            before = oldest.seq
        self.loading_older = True
        self.older_line.setText(self.tr("Loading earlier messages…"))
        client.load_older(cid, before)
        return True

    def _previous_conversation(self, cid: int) -> int | None:
        older = [c for c in self.conversations if c < cid]
        return max(older) if older else None

    # -- conversation state -----------------------------------------------------------------

    @property
    def current_conversation(self) -> int | None:
        """The conversation new messages go to (None: a new one starts)."""
        ids = set(self.conversations) | {
            m.conversation_id for m in self.messages.values() if m.conversation_id is not None
        }
        if not ids:
            return None
        newest = max(ids)
        if (self.conversations.get(newest) or {}).get("status") == "closed":
            return None
        return newest

    def _update_header(self) -> None:
        cid = self.current_conversation
        summary = self.conversations.get(cid) if cid is not None else None
        status = summary.get("status") if summary else None
        assignee = (summary.get("assignee") or {}).get("name") if summary else None
        if cid is None and self.conversations:
            status = "closed"
        self.status.setText(status_line(status, assignee))
        self.handoff_button.setVisible(cid is not None and status == "bot")

    # -- typing -----------------------------------------------------------------------------

    def _on_typing(self, cid: int, name: str, typing: bool) -> None:
        if typing:
            self._typing[cid] = name
            self._typing_shown.start()
        else:
            self._typing.pop(cid, None)
        self._show_typing()

    def _show_typing(self) -> None:
        cid = self.current_conversation
        name = self._typing.get(cid) if cid is not None else None
        if name is None:
            self.typing_line.hide()
            return
        self.typing_line.setText(
            self.tr("{name} is typing…").format(name=name)
            if name
            else self.tr("Support is typing…")
        )
        self.typing_line.show()

    def _clear_typing(self) -> None:
        self._typing.clear()
        self._show_typing()

    @property
    def typing_text(self) -> str:
        return self.typing_line.text() if self.typing_line.isVisibleTo(self) else ""

    def _on_text_edited(self) -> None:
        self._draft_timer.start()
        cid = self.current_conversation
        if cid is None or not self.composer.text():
            return
        now = time.monotonic()
        if self._typing_conversation != cid or now - self._typing_sent_at > TYPING_EVERY_S:
            self._send_typing(True)
        self._typing_timer.start()

    def _send_typing(self, typing: bool) -> None:
        client = self.bridge.client
        cid = self.current_conversation if typing else self._typing_conversation
        if client is None or cid is None:
            return
        client.set_typing(cid, typing)
        self._typing_conversation = cid if typing else None
        self._typing_sent_at = time.monotonic() if typing else 0.0

    # -- connection -------------------------------------------------------------------------

    def _on_connection(self, event: ConnectionChanged) -> None:
        self._retry_deadline = (
            time.monotonic() + event.retry_in if event.retry_in is not None else None
        )
        self._set_connection(event.state, event.reason)

    def _set_connection(self, state: str, reason: str = "") -> None:
        self._connection_state = state
        self._connection_reason = reason
        if state == "offline" and self._retry_deadline is not None:
            self._countdown.start()
        else:
            self._countdown.stop()
        self._show_connection()
        if state == "online":
            if self.composer.notice.text() == offline_hint():
                self.composer.show_notice("")
        elif state in ("offline", "connecting") and self._pending_count():
            self.composer.show_notice(offline_hint())

    def _show_connection(self) -> None:
        state = self._connection_state
        retry_in = None
        if self._retry_deadline is not None:
            retry_in = max(0.0, self._retry_deadline - time.monotonic())
            if retry_in <= 0:
                self._countdown.stop()
        if state == "signed_out" and self.portal.online is False:
            state = "unreachable"  # not a sign-in problem: the service is out of reach
            retry_in = None
        self.connection.setText("● " + connection_label(state, retry_in, self._connection_reason))
        self.connection.setProperty(
            "state",
            {"online": "online", "offline": "offline", "unreachable": "offline"}.get(
                state, "unknown"
            ),
        )
        self.connection.style().unpolish(self.connection)
        self.connection.style().polish(self.connection)

    @property
    def connection_text(self) -> str:
        return self.connection.text()

    def _pending_count(self) -> int:
        return sum(1 for m in self.messages.values() if m.state == "sending")

    # -- sending ----------------------------------------------------------------------------

    def send(self) -> None:
        """Send what is in the composer (after uploading its files)."""
        if not self.composer.sendable:
            return
        client = self.bridge.client
        if client is None:
            self.composer.show_notice(
                self.tr("You are not signed in. Please open Help from your application.")
            )
            return
        text = self.composer.text()
        files = list(self.composer.attachments)
        if not files:
            self._deliver(text, [])
            return
        self.composer.set_busy(True)
        self.composer.show_notice(self.tr("Uploading {n} file(s)…").format(n=len(files)))
        backend = self.portal.backend

        def upload() -> list[dict[str, Any]]:
            infos: list[dict[str, Any]] = []
            for item in files:
                if item.info is None:
                    source: Path | bytes = item.data if item.data is not None else item.path  # type: ignore[assignment]
                    info = backend.api.upload_attachment(source, item.name, item.key)
                    item.info = info.model_dump(mode="json")
                infos.append(dict(item.info))
            return infos

        def uploaded(infos: list[dict[str, Any]]) -> None:
            self.composer.set_busy(False)
            self.composer.show_notice("")
            self._deliver(text, infos)

        def failed(exc: BaseException) -> None:
            self.composer.set_busy(False)
            code = exception_code(exc)
            log.warning("chat upload failed: %s", code)
            self.composer.show_notice(
                self.tr("The files could not be uploaded: {reason} Your message is kept.").format(
                    reason=error_message(code)
                )
            )

        self.portal.runner.run_task(upload, uploaded, failed)

    def _deliver(self, text: str, attachments: list[dict[str, Any]]) -> None:
        client = self.bridge.client
        if client is None:
            return
        self._typing_timer.stop()
        if self._typing_conversation is not None:
            self._send_typing(False)
        client.send(text, self.current_conversation, attachments)
        self.composer.clear()
        self.composer.show_notice(offline_hint() if self._connection_state != "online" else "")
        self.save_draft()
        self.scroll_to_bottom()

    def _retry(self, client_id: str) -> None:
        if self.bridge.client is not None and client_id:
            self.bridge.client.retry(client_id)

    def _discard(self, client_id: str) -> None:
        if self.bridge.client is not None and client_id:
            self.bridge.client.discard(client_id)

    def talk_to_person(self) -> None:
        cid = self.current_conversation
        client = self.bridge.client
        if cid is None or client is None:
            return
        client.handoff(cid)
        self.handoff_button.hide()
        self.status.setText(status_line("queued", None))

    def _feedback(self, bubble: MessageBubble, seq: int, helpful: bool) -> None:
        cid = bubble.message.conversation_id
        client = self.bridge.client
        if cid is None or client is None:
            return
        self.feedback_given.add((cid, seq))
        client.feedback(cid, seq, helpful)
        if not helpful:
            self.handoff_button.hide()

    # -- read receipts, notifications -------------------------------------------------------

    def _watching(self) -> bool:
        window = self.window()
        return (
            self.isVisible()
            and window.isVisible()
            and not window.isMinimized()
            and window.isActiveWindow()
        )

    def mark_read(self) -> None:
        """Tell the service what the customer has seen (when they can see it)."""
        client = self.bridge.client
        if client is None or not self._watching():
            return
        if self._distance_from_bottom() > BOTTOM_SLACK:
            return
        newest: dict[int, int] = {}
        for m in self.messages.values():
            if m.state == "received" and m.conversation_id is not None and m.seq is not None:
                newest[m.conversation_id] = max(newest.get(m.conversation_id, 0), m.seq)
        for cid, seq in newest.items():
            if self._read_marks.get(cid, 0) < seq:
                self._read_marks[cid] = seq
                client.mark_read(cid, seq)

    def _maybe_notify(self, m: StoredMessage) -> None:
        window = self.window()
        if window.isVisible() and not window.isMinimized():
            return
        created = m.created_at if m.created_at.tzinfo else m.created_at.replace(tzinfo=UTC)
        if datetime.now(UTC) - created > NOTIFY_RECENT:
            return
        who = m.sender_name or (
            self.tr("Assistant") if m.sender_kind == "bot" else self.tr("Support")
        )
        text = m.text or self.tr("sent you a file")
        self.notify.emit(self.tr("{name} (chat)").format(name=who), text[:200])

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self.mark_read)

    # -- drafts -----------------------------------------------------------------------------

    def save_draft(self) -> None:
        """Keep the text box on disk (worker)."""
        self._draft_timer.stop()
        store = self.bridge.store
        if store is None:
            return
        text = self.composer.text()
        self.portal.runner.run_task(
            lambda: store.save_draft(text),
            None,
            lambda exc: log.warning("chat draft not saved: %s", exc),
            serial=True,
        )

    def _on_stopping(self, quitting: bool) -> None:
        if quitting:
            self.save_draft_now()
        else:
            self.save_draft()

    def save_draft_now(self) -> None:
        """The portal quits: write the draft here and now."""
        self._draft_timer.stop()
        store = self.bridge.store
        if store is None:
            return
        try:
            store.save_draft(self.composer.text())
        except Exception as exc:
            log.warning("chat draft not saved: %s", exc)

    # -- files ------------------------------------------------------------------------------

    def capture_screenshot(self) -> None:
        from client.ui.capture import ScreenCapture

        capture = ScreenCapture(self)
        capture.captured.connect(self._edit_capture)
        capture.failed.connect(self.composer.show_notice)
        capture.captured.connect(capture.deleteLater)
        capture.cancelled.connect(capture.deleteLater)
        capture.failed.connect(capture.deleteLater)
        capture.capture_region(self.window())

    def _edit_capture(self, image: QImage) -> None:
        from client.ui.capture import AnnotationEditor

        editor = AnnotationEditor(image, self.window(), runner=self.portal.runner)
        editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        editor.exported.connect(lambda data: self._attach_bytes(_shot_name(), data))
        editor.open()

    def attach_image(self, image: QImage) -> None:
        """A pasted or dropped picture: attached as PNG (encoded on a worker)."""
        from client.core.imaging import ImageError, encode_png
        from client.ui.capture.sources import check_qimage, image_error_message, qimage_to_rgba

        try:
            check_qimage(image)
        except ImageError as exc:
            self.composer.show_notice(image_error_message(exc))
            return
        copy = image.copy()
        self.portal.runner.run_task(
            lambda: encode_png(qimage_to_rgba(copy)),
            lambda png: self._attach_bytes(_shot_name(), png),
            lambda exc: self.composer.show_notice(error_message(exception_code(exc))),
        )

    def _attach_bytes(self, name: str, data: bytes) -> None:
        problem = self.composer.add_attachment(PendingAttachment(name, len(data), data=data))
        self.composer.show_notice(problem or "")
        self.composer.input.setFocus()

    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, self.tr("Attach files"))
        if paths:
            self.attach_files([Path(p) for p in paths])

    def attach_files(self, paths: list[Path]) -> None:
        """Files from the dialog, a drop or the clipboard (sizes read on a worker)."""

        def inspect() -> list[tuple[Path, int | None]]:
            out: list[tuple[Path, int | None]] = []
            for p in paths:
                try:
                    out.append((p, p.stat().st_size if p.is_file() else None))
                except OSError:
                    out.append((p, None))
            return out

        def add(found: list[tuple[Path, int | None]]) -> None:
            problems: list[str] = []
            for path, size in found:
                if size is None:
                    problems.append(self.tr("“{name}” cannot be read.").format(name=path.name))
                    continue
                problem = self.composer.add_attachment(
                    PendingAttachment(path.name, size, path=path)
                )
                if problem:
                    problems.append(problem)
            self.composer.show_notice(" ".join(problems))

        self.portal.runner.run_task(inspect, add)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        mime = event.mimeData()
        if mime is not None and (mime.hasUrls() or mime.hasImage()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        from client.ui.capture.sources import local_files

        mime = event.mimeData()
        files = local_files(mime)
        if files:
            event.acceptProposedAction()
            self.attach_files(files)
            return
        if mime is not None and mime.hasImage():
            data = mime.imageData()
            image = data if isinstance(data, QImage) else QImage(data)
            if not image.isNull():
                event.acceptProposedAction()
                self.attach_image(image)
                return
        event.ignore()

    def open_attachment(self, conversation_id: int | None, attachment: dict[str, Any]) -> None:
        """Download a file of the conversation and open it with the system's viewer."""
        attachment_id = attachment.get("id")
        if conversation_id is None or not isinstance(attachment_id, int):
            return
        backend = self.portal.backend
        name = Path(str(attachment.get("filename") or f"file-{attachment_id}")).name

        def fetch() -> Path:
            from client.core.paths import data_dir
            from client.core.realtime import ApiChatService

            folder = data_dir() / "chat-files" / f"{conversation_id}-{attachment_id}"
            folder.mkdir(parents=True, exist_ok=True)
            dest = folder / name
            if dest.is_file() and dest.stat().st_size == attachment.get("size"):
                return dest
            service = ApiChatService(backend.api, lambda: backend.access_token)
            return service.download_attachment(conversation_id, attachment_id, dest)

        def opened(path: Path) -> None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

        def failed(exc: BaseException) -> None:
            self.composer.show_notice(error_message(exception_code(exc)))

        self.portal.runner.run_task(fetch, opened, failed)

    # -- for tests and the window -----------------------------------------------------------

    def bubbles(self) -> list[MessageBubble]:
        return [
            w
            for m in self.ordered()
            if isinstance(w := self.widgets.get(m.local_id), MessageBubble)
        ]

    def timeline_widgets(self) -> list[QWidget]:
        layout = self.timeline_layout
        out: list[QWidget] = []
        for i in range(layout.count()):
            item = layout.itemAt(i)
            widget = item.widget() if item is not None else None
            if widget is not None:
                out.append(widget)
        return out


def _shot_name() -> str:
    return f"screenshot-{datetime.now().strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}.png"
