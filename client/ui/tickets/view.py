"""One ticket: header, timeline, reply box, resolve / reopen, satisfaction.

The timeline shows the customer's and support's messages as bubbles (the
customer's on the right), status changes as thin lines, and replies still in
the outbox at the end, marked "Sending…" or with the reason they failed and
Retry / Discard. Attachments download through a save dialog on a worker.

Every text from the service is shown as plain text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from client.ui.errors import exception_code, ticket_error_message, ticket_failure_message
from client.ui.tickets import text as tt
from client.ui.tickets.widgets import (
    AttachmentBox,
    Chip,
    FlowLayout,
    StatusBadge,
    clear_layout,
    is_submit_key,
    plain_label,
    repolish,
)

if TYPE_CHECKING:
    from client.core.outbox import OutboxItem
    from client.ui.tickets.service import TicketService
    from protocol.tickets import AttachmentInfo, Ticket, TicketEvent

log = logging.getLogger(__name__)

REPLY_AUTOSAVE_MS = 3000


def outbox_state_text(
    item: OutboxItem, online: bool | None, progress: tuple[int, int] | None
) -> str:
    """How an unsent ticket or reply is doing, for the customer."""
    if item.state == "sent":
        return QCoreApplication.translate("Tickets", "Sent")
    if item.state == "failed":
        return QCoreApplication.translate("Tickets", "Not sent")
    if item.state == "sending" and progress is not None and progress[1] > 0:
        percent = min(100, int(progress[0] * 100 / progress[1]))
        return QCoreApplication.translate("Tickets", "Sending… {percent}%").format(percent=percent)
    if item.waiting_for_sign_in:
        return QCoreApplication.translate(
            "Tickets", "Saved — will be sent once you are signed in again"
        )
    if online is False or (item.error and item.attempts > 0):
        return QCoreApplication.translate(
            "Tickets", "Saved — will be sent when the connection is back"
        )
    return QCoreApplication.translate("Tickets", "Sending…")


def failure_text(item: OutboxItem) -> str:
    from client.ui.errors import ticket_error_message

    return ticket_error_message(item.error_code)


class Bubble(QFrame):
    """One message in the timeline."""

    def __init__(
        self,
        author_type: str,
        author: str,
        when: datetime,
        body: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("Bubble")
        self.setProperty("author", author_type)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(4)
        top = QHBoxLayout()
        self.author = plain_label(author, self, "BubbleAuthor")
        self.time = plain_label(tt.relative_time(when), self, "BubbleTime")
        self.time.setToolTip(tt.format_datetime(when))
        top.addWidget(self.author)
        top.addStretch(1)
        top.addWidget(self.time)
        layout.addLayout(top)
        self.body = plain_label(body, self, "BubbleBody")
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body.setVisible(bool(body))
        layout.addWidget(self.body)
        self.files_host = QWidget(self)
        self.files_layout = FlowLayout(self.files_host)
        self.files_host.hide()
        layout.addWidget(self.files_host)
        self.state_row = QWidget(self)
        state_layout = QHBoxLayout(self.state_row)
        state_layout.setContentsMargins(0, 0, 0, 0)
        self.state = plain_label("", self.state_row, "BubbleTime")
        self.state.setWordWrap(True)
        state_layout.addWidget(self.state, 1)
        self.retry_button = QPushButton(
            QCoreApplication.translate("Tickets", "Retry"), self.state_row
        )
        self.discard_button = QPushButton(
            QCoreApplication.translate("Tickets", "Discard"), self.state_row
        )
        state_layout.addWidget(self.retry_button)
        state_layout.addWidget(self.discard_button)
        self.retry_button.hide()
        self.discard_button.hide()
        self.state_row.hide()
        layout.addWidget(self.state_row)

    def add_file(self, chip: Chip) -> None:
        self.files_layout.addWidget(chip)
        self.files_host.show()


class TicketView(QWidget):
    """Shows one ticket and what can be done with it.

    Signals:
        new_ticket_requested(): "Write a new ticket" on a closed ticket.
        changed(object): the Ticket after an action (resolve, reopen, rate).
    """

    new_ticket_requested = Signal()
    changed = Signal(object)

    def __init__(self, service: TicketService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TicketView")
        self.service = service
        self.ticket: Ticket | None = None
        self.ticket_id: int | None = None
        self.rating = 0
        self.confirm: Callable[[str, str], bool] = self._ask
        self.choose_save_path: Callable[[str], str] = self._save_dialog
        self.downloads: list[Path] = []
        self._reply_dirty = False
        self._reply_loading = False
        self._reply_seq = 0
        self._bubbles: dict[int, Bubble] = {}

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self._build_header())
        self.scroll_area = QScrollArea(self)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.timeline_host = QWidget(self.scroll_area)
        self.timeline_host.setObjectName("TimelineBody")
        self.timeline = QVBoxLayout(self.timeline_host)
        self.timeline.setContentsMargins(20, 8, 20, 8)
        self.timeline.setSpacing(10)
        self.timeline.addStretch(1)
        self.scroll_area.setWidget(self.timeline_host)
        outer.addWidget(self.scroll_area, 1)
        outer.addWidget(self._build_rating())
        outer.addWidget(self._build_reply())

        self._reply_timer = QTimer(self)
        self._reply_timer.setInterval(REPLY_AUTOSAVE_MS)
        self._reply_timer.timeout.connect(self._autosave_reply)
        self._reply_timer.start()
        service.outbox_item.connect(self._on_outbox_item)
        service.outbox_removed.connect(lambda _id: self._refresh_pending())
        service.outbox_progress.connect(self._on_progress)
        service.reply_delivered.connect(self._on_reply_delivered)
        service.account_leaving.connect(self.save_reply_now)
        service.account_changed.connect(lambda _account: self.reset())

    # -- construction ---------------------------------------------------------------

    def _build_header(self) -> QWidget:
        header = QFrame(self)
        header.setObjectName("TicketHeader")
        layout = QVBoxLayout(header)
        layout.setContentsMargins(20, 14, 20, 8)
        layout.setSpacing(4)
        top = QHBoxLayout()
        self.subject = plain_label("", header, "TicketSubject")
        self.subject.setWordWrap(True)
        self.subject.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top.addWidget(self.subject, 1)
        self.resolve_button = QPushButton(self.tr("Mark as resolved"), header)
        self.resolve_button.setToolTip(self.tr("Tell support the problem is solved"))
        self.resolve_button.clicked.connect(self.resolve)
        self.reopen_button = QPushButton(self.tr("Reopen"), header)
        self.reopen_button.clicked.connect(self.reopen)
        top.addWidget(self.resolve_button, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.reopen_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(top)
        meta = QHBoxLayout()
        meta.setSpacing(8)
        self.number = plain_label("", header, "TicketMeta")
        self.status = StatusBadge(header)
        self.meta = plain_label("", header, "TicketMeta")
        meta.addWidget(self.number)
        meta.addWidget(self.status)
        meta.addWidget(self.meta, 1)
        layout.addLayout(meta)
        self.sla = plain_label("", header, "SlaLine")
        self.sla.setWordWrap(True)
        layout.addWidget(self.sla)
        self.context_host = QWidget(header)
        self.context_layout = FlowLayout(self.context_host)
        self.context_host.hide()
        layout.addWidget(self.context_host)
        self.error_label = plain_label("", header, "FieldError")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.error_label)
        self.info_label = plain_label("", header, "FieldHint")
        self.info_label.hide()
        layout.addWidget(self.info_label)
        return header

    def _build_rating(self) -> QWidget:
        box = QFrame(self)
        box.setObjectName("RatingBox")
        layout = QHBoxLayout(box)
        layout.setContentsMargins(20, 6, 20, 6)
        self.rating_title = plain_label(self.tr("How did we do?"), box, "FormLabel")
        layout.addWidget(self.rating_title)
        self.stars: list[QToolButton] = []
        for n in range(1, 6):
            star = QToolButton(box)
            star.setObjectName("Star")
            star.setText("★")
            star.setCheckable(True)
            star.setToolTip(self.tr("{n} of 5").format(n=n))
            star.setAccessibleName(self.tr("{n} of 5").format(n=n))
            star.clicked.connect(lambda _c=False, value=n: self.set_rating(value))
            layout.addWidget(star)
            self.stars.append(star)
        self.rating_comment = QLineEdit(box)
        self.rating_comment.setObjectName("CommentEdit")
        self.rating_comment.setMaxLength(5000)
        self.rating_comment.setPlaceholderText(self.tr("Anything to add? (optional)"))
        layout.addWidget(self.rating_comment, 1)
        self.rate_button = QPushButton(self.tr("Send rating"), box)
        self.rate_button.setEnabled(False)
        self.rate_button.clicked.connect(self.send_rating)
        layout.addWidget(self.rate_button)
        self.rated_label = plain_label("", box, "FieldHint")
        layout.addWidget(self.rated_label)
        self.rating_box = box
        box.hide()
        return box

    def _build_reply(self) -> QWidget:
        box = QFrame(self)
        box.setObjectName("ReplyBox")
        layout = QVBoxLayout(box)
        layout.setContentsMargins(20, 6, 20, 12)
        layout.setSpacing(6)
        self.reply_hint = plain_label("", box, "FieldHint")
        self.reply_hint.setWordWrap(True)
        layout.addWidget(self.reply_hint)
        self.reply = QPlainTextEdit(box)
        self.reply.setObjectName("BodyEdit")
        self.reply.setPlaceholderText(self.tr("Write a reply…"))
        self.reply.setAccessibleName(self.tr("Reply"))
        self.reply.setFixedHeight(86)
        self.reply.setTabChangesFocus(True)
        self.reply.textChanged.connect(self._on_reply_changed)
        layout.addWidget(self.reply)
        self.reply_files = AttachmentBox(self.service.runner, box)
        row = QHBoxLayout()
        row.addWidget(self.reply_files, 1)
        self.send_button = QPushButton(self.tr("Send reply"), box)
        self.send_button.setObjectName("Primary")
        self.send_button.setToolTip(self.tr("Send (Ctrl+Enter)"))
        self.send_button.clicked.connect(self.send_reply)
        row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(row)
        self.new_ticket_button = QPushButton(self.tr("Write a new ticket"), box)
        self.new_ticket_button.clicked.connect(self.new_ticket_requested)
        self.new_ticket_button.hide()
        layout.addWidget(self.new_ticket_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.reply_box = box
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), box, self.send_reply)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.reply.installEventFilter(self)
        return box

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.reply and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if is_submit_key(event):
                # A text box would take Ctrl+Enter as a new line.
                self.send_reply()
                return True
            if (
                event.matches(QKeySequence.StandardKey.Paste)
                and self.reply_files.clipboard_has_attachment()
            ):
                self.reply_files.paste()
                return True
        return super().eventFilter(watched, event)

    # -- loading ----------------------------------------------------------------------

    def reset(self) -> None:
        """Show nothing (the customer changed)."""
        self.ticket = None
        self.ticket_id = None
        self._reply_seq = 0
        self._reply_dirty = False
        self._clear_timeline()
        self._reply_loading = True
        self.reply.clear()
        self._reply_loading = False
        self.reply_files.clear()
        self.subject.clear()
        self.number.clear()
        self.meta.clear()
        self.sla.clear()
        self.clear_error()

    def show_ticket(self, ticket_id: int) -> None:
        """Open ticket ``ticket_id`` (the known summary at once, the rest when loaded)."""
        if self.ticket_id != ticket_id:
            self._save_reply_draft()
            self.ticket = None
            self.ticket_id = ticket_id
            self._clear_timeline()
            self.reply_files.clear()
            self._load_reply_draft(ticket_id)
            summary = self.service.summaries.get(ticket_id)
            self.subject.setText(summary.subject if summary else self.tr("Loading…"))
            self.number.setText(tt.ticket_number(summary.number) if summary else "")
            if summary is not None:
                self.status.set_status(str(summary.status))
            self.meta.setText("")
            self.sla.setText("")
            self.resolve_button.hide()
            self.reopen_button.hide()
            self.rating_box.hide()
        self.clear_error()
        self.reload()

    def reload(self) -> None:
        ticket_id = self.ticket_id
        if ticket_id is None:
            return
        self.service.load(
            ticket_id,
            lambda ticket: self._loaded(ticket_id, ticket),
            lambda exc: self._load_failed(ticket_id, exc),
        )

    def _loaded(self, ticket_id: int, ticket: Ticket) -> None:
        if ticket_id != self.ticket_id:
            return
        self.set_ticket(ticket)

    def _load_failed(self, ticket_id: int, exc: BaseException) -> None:
        if ticket_id != self.ticket_id:
            return
        code = exception_code(exc)
        log.info("ticket %d not loaded: %s", ticket_id, code)
        if self.ticket is None and code == "offline":
            self.show_error(self.tr("This ticket cannot be shown while offline."))
        else:
            self.show_error(ticket_error_message(code))

    def set_ticket(self, ticket: Ticket) -> None:
        log.info(
            "ticket shown id=%d number=%d status=%s events=%d",
            ticket.id,
            ticket.number,
            ticket.status,
            len(ticket.events),
        )
        self.ticket = ticket
        self.ticket_id = ticket.id
        status = str(ticket.status)
        self.subject.setText(ticket.subject)
        self.number.setText(tt.ticket_number(ticket.number))
        self.status.set_status(status)
        parts = [tt.priority_label(str(ticket.priority))]
        if ticket.category:
            parts.append(ticket.category)
        parts.append(self.tr("opened {when}").format(when=tt.format_datetime(ticket.created_at)))
        if ticket.assignee is not None:
            parts.append(self.tr("handled by {name}").format(name=ticket.assignee.name))
        self.meta.setText(" · ".join(parts))
        self.sla.setText(self.sla_text(ticket))
        self.sla.setProperty("breached", "true" if ticket.sla_breached else "false")
        repolish(self.sla)
        self.sla.setVisible(bool(self.sla.text()))
        self._set_context(ticket.context)
        self.resolve_button.setVisible(status in tt.OPEN_STATUSES)
        self.reopen_button.setVisible(status == "resolved")
        self._update_rating(ticket)
        closed = status == "closed"
        self.reply.setVisible(not closed)
        self.reply_files.setVisible(not closed)
        self.send_button.setVisible(not closed)
        self.new_ticket_button.setVisible(closed)
        if closed:
            self.reply_hint.setText(
                self.tr("This ticket is closed. If you still need help, please write a new ticket.")
            )
        elif status == "resolved":
            self.reply_hint.setText(self.tr("Writing a reply opens this ticket again."))
        elif status == "pending_customer":
            self.reply_hint.setText(self.tr("Support is waiting for your answer."))
        else:
            self.reply_hint.setText("")
        self.reply_hint.setVisible(bool(self.reply_hint.text()))
        self._fill_timeline(ticket)

    def sla_text(self, ticket: Ticket) -> str:
        status = str(ticket.status)
        if status not in tt.OPEN_STATUSES or status == "pending_customer":
            return ""
        if ticket.sla_breached:
            return self.tr(
                "This is taking longer than we aimed for. Sorry — it has been flagged to the team."
            )
        if ticket.first_responded_at is None and ticket.first_response_due is not None:
            return self.tr("We aim to reply by {when}").format(
                when=tt.format_datetime(ticket.first_response_due)
            )
        if ticket.resolution_due is not None:
            return self.tr("We aim to solve this by {when}").format(
                when=tt.format_datetime(ticket.resolution_due)
            )
        return ""

    def _set_context(self, context: dict[str, str]) -> None:
        from client.ui.tickets.form import context_label, ordered_context

        clear_layout(self.context_layout)
        for key, value in ordered_context(context):
            self.context_layout.addWidget(
                Chip(f"{context_label(key)}: {value}", self.context_host, kind="context")
            )
        self.context_host.setVisible(bool(context))

    # -- timeline -------------------------------------------------------------------------

    def _clear_timeline(self) -> None:
        while self.timeline.count() > 1:
            item = self.timeline.takeAt(0)
            if item is None:
                break
            widget = item.widget()
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        self._bubbles.clear()

    def _add_row(self, widget: QWidget, side: str) -> QWidget:
        row = QWidget(self.timeline_host)
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        if side == "right":
            layout.addStretch(1)
            layout.addWidget(widget, 5)
        elif side == "left":
            layout.addWidget(widget, 5)
            layout.addStretch(1)
        else:
            layout.addWidget(widget, 1)
        self.timeline.insertWidget(self.timeline.count() - 1, row)
        return row

    def _fill_timeline(self, ticket: Ticket) -> None:
        at_bottom = self._at_bottom()
        self._clear_timeline()
        placed: set[int] = set()
        for event in ticket.events:
            self._add_event(ticket, event)
            placed.update(a.id for a in event.attachments)
        loose = [a for a in ticket.attachments if a.id not in placed]
        if loose:
            # Files not tied to a message: shown under the first one.
            first = next(iter(self._bubbles.values()), None)
            if first is not None:
                for info in loose:
                    first.add_file(self._file_chip(info))
        self._refresh_pending()
        if at_bottom:
            QTimer.singleShot(0, self._scroll_to_bottom)

    def _add_event(self, ticket: Ticket, event: TicketEvent) -> None:
        kind = event.kind
        if kind in ("created", "comment"):
            mine = event.author_type == "customer"
            author = self.tr("You") if mine else (event.author_name or self.tr("Support"))
            body = event.body
            if kind == "created" and not body.strip():
                body = self.tr("Opened this ticket.")
            bubble = Bubble(event.author_type, author, event.created_at, body, self.timeline_host)
            for info in event.attachments:
                bubble.add_file(self._file_chip(info))
            self._bubbles[event.id] = bubble
            self._add_row(bubble, "right" if mine else "left")
            return
        text = self.event_line(event)
        if text:
            line = plain_label(text, self.timeline_host, "TimelineLine")
            line.setAlignment(Qt.AlignmentFlag.AlignCenter)
            line.setWordWrap(True)
            line.setToolTip(tt.format_datetime(event.created_at))
            self._add_row(line, "center")

    def event_line(self, event: TicketEvent) -> str:
        when = tt.relative_time(event.created_at)
        mine = event.author_type == "customer"
        if event.kind == "status" and event.status_to is not None:
            status = tt.status_label(str(event.status_to))
            if mine:
                text = self.tr("You set the status to {status}").format(status=status)
            elif event.author_type == "agent":
                text = self.tr("{name} set the status to {status}").format(
                    name=event.author_name, status=status
                )
            else:
                text = self.tr("Status: {status}").format(status=status)
            if event.body:
                text += " — " + event.body
            return f"{text} · {when}"
        if event.kind == "assigned":
            return (
                self.tr("{name} is handling your ticket").format(name=event.author_name)
                + f" · {when}"
            )
        if event.kind == "csat":
            return self.tr("You rated the support") + f" · {when}"
        return ""

    def _file_chip(self, info: AttachmentInfo) -> Chip:
        chip = Chip(
            info.filename,
            self.timeline_host,
            size=info.size,
            action=self.tr("Download"),
            icon_name="folder",
        )
        chip.activated.connect(lambda i=info: self.download(i.id, i.filename))
        return chip

    def _refresh_pending(self) -> None:
        """Rebuild the bubbles of replies still in the outbox."""
        for i in reversed(range(self.timeline.count() - 1)):
            item = self.timeline.itemAt(i)
            widget = item.widget() if item is not None else None
            if widget is not None and widget.property("pending"):
                self.timeline.takeAt(i)
                widget.hide()
                widget.deleteLater()
        if self.ticket_id is None:
            return
        for pending in self.service.ticket_items(self.ticket_id):
            bubble = Bubble("customer", self.tr("You"), pending.created_at, "", self.timeline_host)
            self._fill_pending(bubble, pending)
            row = self._add_row(bubble, "right")
            row.setProperty("pending", True)
            row.setProperty("item_id", pending.id)

    def _fill_pending(self, bubble: Bubble, item: OutboxItem) -> None:
        bubble.body.setText(item.summary)
        bubble.body.setVisible(bool(item.summary))
        for f in item.files:
            bubble.add_file(Chip(f.name, bubble, size=f.size, icon_name="folder"))
        online = self.service.portal.online
        bubble.state.setText(outbox_state_text(item, online, self.service.progress.get(item.id)))
        bubble.state_row.show()
        bubble.setProperty("state", item.state)
        repolish(bubble)
        if item.state == "failed":
            bubble.state.setText(failure_text(item))
            bubble.state.setToolTip(item.error or "")
            bubble.retry_button.show()
            bubble.discard_button.show()
            bubble.retry_button.clicked.connect(
                lambda: self.service.retry(item.id, self._action_failed)
            )
            bubble.discard_button.clicked.connect(lambda: self._discard(item))

    def pending_texts(self) -> list[str]:
        """The state lines of the replies still in the outbox (for tests)."""
        texts = []
        for i in range(self.timeline.count() - 1):
            item = self.timeline.itemAt(i)
            row = item.widget() if item is not None else None
            if row is not None and row.property("pending"):
                bubble = row.findChild(Bubble)
                if bubble is not None:
                    texts.append(bubble.state.text())
        return texts

    def bubble_texts(self) -> list[str]:
        return [b.body.text() for b in self.findChildren(Bubble) if b.isVisibleTo(self)]

    def _on_outbox_item(self, item: OutboxItem) -> None:
        if item.kind == "reply" and item.ticket_id == self.ticket_id and item.state != "sent":
            self._refresh_pending()

    def _on_progress(self, item_id: int, done: int, total: int) -> None:
        # Only the state line changes: rebuilding bubbles ten times a second
        # would flicker.
        item = self.service.items.get(item_id)
        if item is None or item.kind != "reply" or item.ticket_id != self.ticket_id:
            return
        for i in range(self.timeline.count() - 1):
            layout_item = self.timeline.itemAt(i)
            row = layout_item.widget() if layout_item is not None else None
            if row is not None and row.property("item_id") == item_id:
                bubble = row.findChild(Bubble)
                if bubble is not None:
                    bubble.state.setText(
                        outbox_state_text(item, self.service.portal.online, (done, total))
                    )

    def _on_reply_delivered(self, ticket_id: int) -> None:
        if ticket_id == self.ticket_id and self.isVisible():
            self.reload()

    def _at_bottom(self) -> bool:
        bar = self.scroll_area.verticalScrollBar()
        return bool(bar.value() >= bar.maximum() - 4)

    def _scroll_to_bottom(self) -> None:
        bar = self.scroll_area.verticalScrollBar()
        bar.setValue(bar.maximum())

    # -- actions ----------------------------------------------------------------------------

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.show()

    def clear_error(self) -> None:
        self.error_label.clear()
        self.error_label.hide()

    def _action_failed(self, exc: BaseException) -> None:
        code = exception_code(exc)
        message = getattr(exc, "message", "")
        log.info("ticket action failed: %s %s", code, message)
        self.show_error(ticket_failure_message(exc))
        self.resolve_button.setEnabled(True)
        self.reopen_button.setEnabled(True)
        self.rate_button.setEnabled(self.rating > 0)
        self.send_button.setEnabled(True)

    def _changed(self, ticket: Ticket) -> None:
        self.resolve_button.setEnabled(True)
        self.reopen_button.setEnabled(True)
        if ticket.id == self.ticket_id:
            self.clear_error()
            self.set_ticket(ticket)
        self.changed.emit(ticket)

    def resolve(self) -> None:
        if self.ticket_id is None:
            return
        self.resolve_button.setEnabled(False)
        self.service.resolve(self.ticket_id, self._changed, self._action_failed)

    def reopen(self) -> None:
        if self.ticket_id is None:
            return
        self.reopen_button.setEnabled(False)
        self.service.reopen(self.ticket_id, self._changed, self._action_failed)

    def _update_rating(self, ticket: Ticket) -> None:
        status = str(ticket.status)
        if status not in ("resolved", "closed"):
            self.rating_box.hide()
            return
        self.rating_box.show()
        done = ticket.csat is not None
        for star in self.stars:
            star.setEnabled(not done)
        self.rating_comment.setVisible(not done)
        self.rate_button.setVisible(not done)
        if ticket.csat is not None:
            self._show_stars(ticket.csat.rating)
            self.rating_title.setText(self.tr("Your rating"))
            self.rated_label.setText(self.tr("Thank you for your feedback."))
        else:
            self._show_stars(self.rating)
            self.rating_title.setText(self.tr("How did we do?"))
            self.rated_label.setText("")

    def set_rating(self, value: int) -> None:
        """1 to 5 stars: the only values the buttons can give."""
        self.rating = max(1, min(5, int(value)))
        self._show_stars(self.rating)
        self.rate_button.setEnabled(True)

    def _show_stars(self, value: int) -> None:
        for n, star in enumerate(self.stars, start=1):
            star.setChecked(n <= value)

    def send_rating(self) -> None:
        if self.ticket_id is None or not 1 <= self.rating <= 5:
            return
        self.rate_button.setEnabled(False)
        self.service.rate(
            self.ticket_id,
            self.rating,
            self.rating_comment.text().strip(),
            self._rated,
            self._action_failed,
        )

    def _rated(self, ticket: Ticket) -> None:
        self.rating = 0
        self.rating_comment.clear()
        self._changed(ticket)

    # -- replying ---------------------------------------------------------------------------

    def send_reply(self) -> None:
        if self.ticket_id is None or not self.send_button.isVisible():
            return
        text = self.reply.toPlainText()
        files = list(self.reply_files.files)
        if not text.strip() and not files:
            self.show_error(self.tr("Write a reply or attach a file first."))
            return
        if self.reply_files.busy:
            self.show_error(self.tr("Please wait until the attached files are checked."))
            return
        ticket_id = self.ticket_id
        self.send_button.setEnabled(False)
        self.service.submit_reply(
            ticket_id,
            text,
            files,
            lambda item: self._reply_queued(ticket_id, item),
            self._action_failed,
        )

    def _reply_queued(self, ticket_id: int, item: OutboxItem) -> None:
        self.send_button.setEnabled(True)
        log.info("reply to ticket %d queued as outbox item %d", ticket_id, item.id)
        if ticket_id == self.ticket_id:
            self._reply_loading = True
            self.reply.clear()
            self._reply_loading = False
            self.reply_files.clear()
            self.clear_error()
            self._refresh_pending()
            QTimer.singleShot(0, self._scroll_to_bottom)
        self._reply_seq += 1
        seq = self._reply_seq
        self.service.run_draft(lambda store: store.save_reply(ticket_id, "", seq))

    def _on_reply_changed(self) -> None:
        if not self._reply_loading:
            self._reply_dirty = True

    def _autosave_reply(self) -> None:
        if self._reply_dirty:
            self._save_reply_draft()

    def _save_reply_draft(self) -> None:
        if self.ticket_id is None or not self._reply_dirty:
            return
        self._reply_dirty = False
        self._reply_seq += 1
        ticket_id, text, seq = self.ticket_id, self.reply.toPlainText(), self._reply_seq
        self.service.run_draft(lambda store: store.save_reply(ticket_id, text, seq))

    def save_reply_now(self) -> None:
        drafts = self.service.drafts
        if (
            drafts is None
            or self.ticket_id is None
            or (self._reply_seq == 0 and not self._reply_dirty)
        ):
            return
        self._reply_dirty = False
        self._reply_seq += 1
        try:
            drafts.save_reply(self.ticket_id, self.reply.toPlainText(), self._reply_seq)
        except OSError as exc:
            log.warning("reply draft not saved at exit: %s", exc)

    def _load_reply_draft(self, ticket_id: int) -> None:
        self._reply_loading = True
        self.reply.clear()
        self._reply_loading = False
        self._reply_dirty = False

        def loaded(text: str) -> None:
            if ticket_id == self.ticket_id and not self.reply.toPlainText() and text:
                self._reply_loading = True
                self.reply.setPlainText(text)
                self._reply_loading = False

        self.service.run_draft(lambda store: store.load_reply(ticket_id), loaded)

    # -- files ---------------------------------------------------------------------------------

    def _save_dialog(self, filename: str) -> str:
        path, _filter = QFileDialog.getSaveFileName(self, self.tr("Save attachment"), filename)
        return path

    def download(self, attachment_id: int, filename: str) -> None:
        target = self.choose_save_path(filename)
        if not target:
            return
        dest = Path(target)
        self.clear_error()
        self.show_info(self.tr("Downloading {name}…").format(name=filename))
        self.service.download(
            attachment_id, dest, lambda path: self._downloaded(Path(path)), self._download_failed
        )

    def show_info(self, text: str) -> None:
        self.info_label.setText(text)
        self.info_label.setVisible(bool(text))

    def _downloaded(self, path: Path) -> None:
        self.downloads.append(path)
        self.show_info(self.tr("Saved {name}").format(name=path.name))

    def _download_failed(self, exc: BaseException) -> None:
        self.show_info("")
        self.show_error(ticket_error_message(exception_code(exc)))

    def _discard(self, item: OutboxItem) -> None:
        if self.confirm(
            self.tr("Discard this reply?"),
            self.tr("It has not reached support and will be deleted from this computer."),
        ):
            self.service.discard(item.id, self._action_failed)

    def _ask(self, title: str, text: str) -> bool:
        return QMessageBox.question(self, title, text) == QMessageBox.StandardButton.Yes
