"""The Tickets section: "My tickets" on the left, the new-ticket form or one
ticket on the right.

The list shows the customer's tickets (newest change first) with number,
subject, status badge, priority, last update and an unread dot, filtered to
open ones or all; above them, tickets still in the outbox: "Sending…" with
progress, "Saved — will be sent when the connection is back", or the reason
they failed with Retry and Discard. A queued ticket turns into the real one
(with its number) as soon as it is delivered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from client.ui.errors import ticket_failure_message
from client.ui.look import app_icon
from client.ui.tickets import text as tt
from client.ui.tickets.form import TicketForm
from client.ui.tickets.view import TicketView, failure_text, outbox_state_text
from client.ui.tickets.widgets import ElidedLabel, StatusBadge, plain_label, tickets_style

if TYPE_CHECKING:
    from client.core.outbox import OutboxItem
    from client.ui.portal import Portal
    from client.ui.tickets.service import TicketService
    from protocol.tickets import TicketSummary

log = logging.getLogger(__name__)

PAGE_EMPTY, PAGE_FORM, PAGE_TICKET = 0, 1, 2
KEY_ROLE = Qt.ItemDataRole.UserRole + 10
RELATIVE_REFRESH_MS = 60_000


class TicketRow(QFrame):
    """A delivered ticket in the list."""

    def __init__(self, summary: TicketSummary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TicketRow")
        self.summary = summary
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(2)
        top = QHBoxLayout()
        top.setSpacing(6)
        self.dot = plain_label("●", self, "UnreadDot")
        self.dot.setToolTip(self.tr("New answer"))
        self.dot.setVisible(summary.unread)
        self.number = plain_label(tt.ticket_number(summary.number), self, "TicketRowMeta")
        self.badge = StatusBadge(self)
        self.badge.set_status(str(summary.status))
        self.when = plain_label(tt.relative_time(summary.updated_at), self, "TicketRowMeta")
        self.when.setToolTip(tt.format_datetime(summary.updated_at))
        top.addWidget(self.dot)
        top.addWidget(self.number)
        top.addWidget(self.badge)
        top.addStretch(1)
        top.addWidget(self.when)
        layout.addLayout(top)
        self.subject = ElidedLabel(summary.subject, self, "TicketRowSubject")
        layout.addWidget(self.subject)
        meta = [tt.priority_label(str(summary.priority))]
        if summary.category:
            meta.append(summary.category)
        self.meta = plain_label(" · ".join(meta), self, "TicketRowMeta")
        layout.addWidget(self.meta)

    def refresh_time(self) -> None:
        self.when.setText(tt.relative_time(self.summary.updated_at))

    def text(self) -> str:
        return " ".join(
            x
            for x in (
                self.number.text(),
                self.badge.text(),
                self.subject.text(),
                "unread" if self.summary.unread else "",
            )
            if x
        )


class OutboxRow(QFrame):
    """A ticket that is not delivered yet."""

    def __init__(
        self,
        item: OutboxItem,
        online: bool | None,
        progress: tuple[int, int] | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("TicketRow")
        self.item = item
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(3)
        top = QHBoxLayout()
        self.badge = StatusBadge(self)
        state = {"failed": "failed", "sent": "open"}.get(item.state, "sending")
        if item.state == "pending" and (
            online is False or item.attempts > 0 or item.waiting_for_sign_in
        ):
            state = "saved"
        self.badge.set_status(state, outbox_state_text(item, online, progress))
        top.addWidget(self.badge)
        top.addStretch(1)
        when = plain_label(tt.relative_time(item.created_at), self, "TicketRowMeta")
        top.addWidget(when)
        layout.addLayout(top)
        self.subject = ElidedLabel(item.summary, self, "TicketRowSubject")
        layout.addWidget(self.subject)
        if item.files:
            files = plain_label(
                self.tr("{n} file(s), {size}").format(
                    n=len(item.files), size=tt.format_size(item.total_bytes)
                ),
                self,
                "TicketRowMeta",
            )
            layout.addWidget(files)
        self.progress = QProgressBar(self)
        self.progress.setMaximumHeight(6)
        self.progress.setTextVisible(False)
        self.progress.setVisible(item.state == "sending" and progress is not None)
        if progress is not None and progress[1] > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(progress[0] * 1000 / progress[1]))
        layout.addWidget(self.progress)
        self.error = plain_label("", self, "RowError")
        self.error.setWordWrap(True)
        self.retry_button = QPushButton(self.tr("Retry"), self)
        self.discard_button = QPushButton(self.tr("Discard"), self)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.discard_button)
        failed = item.state == "failed"
        if failed:
            self.error.setText(failure_text(item))
            self.error.setToolTip(item.error or "")
        self.error.setVisible(failed)
        self.retry_button.setVisible(failed)
        self.discard_button.setVisible(failed)
        layout.addWidget(self.error)
        layout.addLayout(buttons)

    def text(self) -> str:
        return f"{self.badge.text()} {self.subject.text()}"


class TicketsPanel(QWidget):
    """My tickets, the form and the ticket view.

    Signals:
        article_requested(int): open this knowledge article (a suggestion).
        deflected(int): an article solved the problem; no ticket was written.
    """

    article_requested = Signal(int)
    deflected = Signal(int)

    def __init__(
        self,
        service: TicketService,
        portal: Portal,
        parent: QWidget | None = None,
        *,
        settings_dump: Callable[[], dict[str, str]] = dict,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("TicketsPanel")
        self.setStyleSheet(tickets_style())
        self.service = service
        self.portal = portal
        self.show_all = False
        self.confirm: Callable[[str, str], bool] = self._ask
        self._awaiting: int | None = None
        self._rows: dict[tuple[str, int], QListWidgetItem] = {}

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.setChildrenCollapsible(False)
        splitter.setHandleWidth(12)
        splitter.addWidget(self._build_list_panel())
        right = QFrame(self)
        right.setObjectName("Panel")
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        self.stack = QStackedWidget(right)
        self.stack.addWidget(self._build_empty_page())
        self.form = TicketForm(service, portal, self.stack, settings_dump=settings_dump)
        self.stack.addWidget(self.form)
        self.view = TicketView(service, self.stack)
        self.stack.addWidget(self.view)
        right_layout.addWidget(self.stack)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([300, 660])
        layout.addWidget(splitter)

        self.form.submitted.connect(self._on_submitted)
        self.form.closed.connect(self.show_empty)
        self.form.article_requested.connect(self.article_requested)
        self.form.deflected.connect(self.deflected)
        self.view.new_ticket_requested.connect(lambda: self.open_form())
        service.summaries_changed.connect(self.rebuild)
        service.outbox_item.connect(self._on_outbox_item)
        service.outbox_removed.connect(lambda _id: self.rebuild())
        service.outbox_reset.connect(self.rebuild)
        service.outbox_progress.connect(self._on_progress)
        service.account_changed.connect(self._on_account)
        portal.online_changed.connect(lambda _online: self.rebuild())
        self._clock = QTimer(self)
        self._clock.setInterval(RELATIVE_REFRESH_MS)
        self._clock.timeout.connect(self._refresh_times)
        self._clock.start()
        self._on_account(service.account)

    # -- construction -------------------------------------------------------------

    def _build_list_panel(self) -> QWidget:
        panel = QFrame(self)
        panel.setObjectName("Panel")
        panel.setMinimumWidth(250)
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(10, 12, 10, 10)
        layout.setSpacing(8)
        top = QHBoxLayout()
        title = plain_label(self.tr("MY TICKETS"), panel, "PanelTitle")
        top.addWidget(title)
        top.addStretch(1)
        self.refresh_button = QToolButton(panel)
        self.refresh_button.setText("⟳")
        self.refresh_button.setToolTip(self.tr("Refresh"))
        self.refresh_button.clicked.connect(self.service.refresh)
        top.addWidget(self.refresh_button)
        layout.addLayout(top)
        self.new_button = QPushButton(self.tr("New ticket"), panel)
        self.new_button.setObjectName("Primary")
        self.new_button.clicked.connect(lambda: self.open_form())
        layout.addWidget(self.new_button)
        filters = QHBoxLayout()
        filters.setSpacing(4)
        self.open_filter = QPushButton(self.tr("Open"), panel)
        self.all_filter = QPushButton(self.tr("All"), panel)
        for button, everything in ((self.open_filter, False), (self.all_filter, True)):
            button.setCheckable(True)
            button.setAutoExclusive(True)
            button.setObjectName("FilterChip")
            button.clicked.connect(lambda _c=False, e=everything: self.set_filter(e))
            filters.addWidget(button)
        self.open_filter.setChecked(True)
        filters.addStretch(1)
        layout.addLayout(filters)
        self.list = QListWidget(panel)
        self.list.setObjectName("TicketList")
        self.list.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.itemClicked.connect(self._on_row_clicked)
        self.list.itemActivated.connect(self._on_row_clicked)
        layout.addWidget(self.list, 1)
        self.list_hint = plain_label("", panel, "Hint")
        self.list_hint.setWordWrap(True)
        self.list_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # Takes the list's place while it is empty.
        layout.addWidget(self.list_hint, 1)
        return panel

    def _build_empty_page(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(36, 36, 36, 36)
        layout.setSpacing(10)
        logo = QLabel(page)
        logo.setPixmap(app_icon().pixmap(56, 56))
        self.empty_title = plain_label(self.tr("Need a hand from a person?"), page, "WelcomeTitle")
        self.empty_text = plain_label("", page, "Hint")
        self.empty_text.setWordWrap(True)
        for label in (self.empty_title, self.empty_text):
            label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.empty_button = QPushButton(self.tr("New ticket"), page)
        self.empty_button.setObjectName("Primary")
        self.empty_button.clicked.connect(lambda: self.open_form())
        layout.addStretch(1)
        layout.addWidget(logo, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.empty_title)
        layout.addWidget(self.empty_text)
        layout.addWidget(self.empty_button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        return page

    # -- navigation ------------------------------------------------------------------

    @property
    def page(self) -> int:
        return self.stack.currentIndex()

    def open_form(self, context: dict[str, str] | None = None, query: str = "") -> bool:
        """Show the new-ticket form; False when nobody is signed in."""
        if self.service.account is None:
            self.show_empty()
            return False
        self.list.clearSelection()
        self.stack.setCurrentIndex(PAGE_FORM)
        self.form.open_with(context, query)
        return True

    def open_ticket(self, ticket_id: int) -> None:
        self.stack.setCurrentIndex(PAGE_TICKET)
        self.view.show_ticket(ticket_id)
        item = self._rows.get(("ticket", ticket_id))
        if item is not None:
            self.list.setCurrentItem(item)

    def show_empty(self) -> None:
        self.stack.setCurrentIndex(PAGE_EMPTY)
        self._update_empty_text()

    def set_filter(self, everything: bool) -> None:
        self.show_all = everything
        (self.all_filter if everything else self.open_filter).setChecked(True)
        self.rebuild()

    def _on_account(self, account: object) -> None:
        signed_in = account is not None
        self.new_button.setEnabled(signed_in)
        self.empty_button.setEnabled(signed_in)
        self._awaiting = None
        if self.page == PAGE_TICKET or not signed_in:
            # Another customer's ticket must not stay on screen.
            self.show_empty()
        elif self.page == PAGE_FORM:
            # The form was emptied for the new customer: bring back their draft.
            self.form.open_with()
        self._update_empty_text()
        self.rebuild()

    def _update_empty_text(self) -> None:
        if self.service.account is None:
            self.empty_text.setText(
                self.tr(
                    "Open Help from your application to sign in; "
                    "then you can write to support here."
                )
            )
        elif self._awaiting is not None and self._awaiting in self.service.items:
            item = self.service.items[self._awaiting]
            if item.state == "failed":
                self.empty_text.setText(failure_text(item))
            elif self.portal.online is False or item.attempts > 0:
                self.empty_text.setText(
                    self.tr(
                        "Saved — will be sent when the connection is back. "
                        "You can close HelpBridge; nothing is lost."
                    )
                )
            else:
                self.empty_text.setText(self.tr("Thank you. Your ticket is on its way to support."))
        else:
            self.empty_text.setText(
                self.tr(
                    "Write a ticket and our support team will answer here. "
                    "You will get a notification when they do."
                )
            )

    def _on_submitted(self, item: OutboxItem) -> None:
        self._awaiting = item.id
        self.empty_title.setText(self.tr("Ticket saved"))
        self.show_empty()
        self.rebuild()
        row = self._rows.get(("item", item.id))
        if row is not None:
            self.list.setCurrentItem(row)

    # -- the list ------------------------------------------------------------------------

    def visible_items(self) -> list[OutboxItem]:
        """Outbox tickets to list: undelivered ones, and delivered ones whose
        ticket is not in the list yet."""
        found = []
        for item in sorted(self.service.items.values(), key=lambda i: i.id, reverse=True):
            if item.kind != "ticket":
                continue
            if item.state == "sent" and (
                item.result_ticket_id is None or item.result_ticket_id in self.service.summaries
            ):
                continue
            if item.state == "sent" and self.service.loaded and item.sent_at is not None:
                # Delivered long ago and not listed (beyond the first page): not news.
                from datetime import UTC, datetime, timedelta

                if datetime.now(UTC) - item.sent_at > timedelta(minutes=5):
                    continue
            found.append(item)
        return found

    def visible_summaries(self) -> list[TicketSummary]:
        summaries = sorted(
            self.service.summaries.values(), key=lambda s: (s.updated_at, s.id), reverse=True
        )
        if self.show_all:
            return summaries
        return [s for s in summaries if str(s.status) in tt.OPEN_STATUSES or s.unread]

    def rebuild(self) -> None:
        current = self.list.currentItem()
        selected = current.data(KEY_ROLE) if current is not None else None
        if selected is None and self.page == PAGE_TICKET and self.view.ticket_id is not None:
            selected = ("ticket", self.view.ticket_id)
        scroll = self.list.verticalScrollBar().value()
        self.list.clear()
        self._rows.clear()
        online = self.portal.online
        for item in self.visible_items():
            row = OutboxRow(item, online, self.service.progress.get(item.id))
            row.retry_button.clicked.connect(lambda _c=False, i=item.id: self.retry(i))
            row.discard_button.clicked.connect(lambda _c=False, i=item.id: self.discard(i))
            self._add_row(("item", item.id), row)
        for summary in self.visible_summaries():
            self._add_row(("ticket", summary.id), TicketRow(summary))
        if selected is not None and tuple(selected) in self._rows:
            self.list.setCurrentItem(self._rows[tuple(selected)])
        self.list.verticalScrollBar().setValue(scroll)
        self._update_hint()
        self._follow_awaited()
        if self.page == PAGE_EMPTY:
            self._update_empty_text()

    def _add_row(self, key: tuple[str, int], widget: QWidget) -> None:
        entry = QListWidgetItem()
        entry.setData(KEY_ROLE, key)
        entry.setSizeHint(QSize(100, widget.sizeHint().height()))
        self.list.addItem(entry)
        self.list.setItemWidget(entry, widget)
        self._rows[key] = entry

    def _update_hint(self) -> None:
        if self.service.account is None:
            text = self.tr("Not signed in.")
        elif self.list.count():
            text = ""
        elif not self.service.loaded and self.portal.online is not False:
            text = self.tr("Loading…")
        elif not self.service.loaded:
            text = self.tr("Your tickets will appear when the connection is back.")
        elif self.show_all or not self.service.summaries:
            text = self.tr("No tickets yet.")
        else:
            text = self.tr("No open tickets. Choose “All” to see the others.")
        self.list_hint.setText(text)
        self.list_hint.setVisible(bool(text))
        self.list.setVisible(not text)

    def row_texts(self) -> list[str]:
        texts = []
        for i in range(self.list.count()):
            widget = self.list.itemWidget(self.list.item(i))
            if isinstance(widget, TicketRow | OutboxRow):
                texts.append(widget.text())
        return texts

    def row_widget(self, key: tuple[str, int]) -> QWidget | None:
        entry = self._rows.get(key)
        return self.list.itemWidget(entry) if entry is not None else None

    def _on_row_clicked(self, entry: QListWidgetItem) -> None:
        key = entry.data(KEY_ROLE)
        if not key:
            return
        kind, ident = key
        if kind == "ticket":
            self.open_ticket(int(ident))
        else:
            item = self.service.items.get(int(ident))
            if item is not None and item.result_ticket_id is not None:
                self.open_ticket(item.result_ticket_id)
            else:
                self._awaiting = int(ident)
                self.empty_title.setText(self.tr("Ticket saved"))
                self.show_empty()

    def _on_outbox_item(self, item: OutboxItem) -> None:
        if item.kind == "ticket":
            self.rebuild()

    def _on_progress(self, item_id: int, done: int, total: int) -> None:
        widget = self.row_widget(("item", item_id))
        if isinstance(widget, OutboxRow) and total > 0:
            widget.progress.show()
            widget.progress.setRange(0, 1000)
            widget.progress.setValue(int(done * 1000 / total))
            item = self.service.items.get(item_id)
            if item is not None:
                widget.badge.set_status(
                    "sending", outbox_state_text(item, self.portal.online, (done, total))
                )

    def _follow_awaited(self) -> None:
        """The ticket just written was delivered: show it, if the customer
        is still looking at its "saved" page."""
        if self._awaiting is None:
            return
        item = self.service.items.get(self._awaiting)
        if item is None or item.state != "sent" or item.result_ticket_id is None:
            return
        if item.result_ticket_id not in self.service.summaries:
            return
        self._awaiting = None
        self.empty_title.setText(self.tr("Need a hand from a person?"))
        if self.page == PAGE_EMPTY:
            self.open_ticket(item.result_ticket_id)

    def _refresh_times(self) -> None:
        for i in range(self.list.count()):
            widget = self.list.itemWidget(self.list.item(i))
            if isinstance(widget, TicketRow):
                widget.refresh_time()

    # -- outbox actions ---------------------------------------------------------------------

    def retry(self, item_id: int) -> None:
        self.service.retry(item_id, self._action_failed)

    def discard(self, item_id: int) -> None:
        item = self.service.items.get(item_id)
        if item is None:
            return
        if not self.confirm(
            self.tr("Discard this ticket?"),
            self.tr(
                "“{subject}” has not reached support. It will be deleted from this computer."
            ).format(subject=item.summary),
        ):
            return
        self.service.discard(item_id, self._action_failed)

    def _action_failed(self, exc: BaseException) -> None:
        text = ticket_failure_message(exc)
        box = QMessageBox(
            QMessageBox.Icon.Warning, self.tr("Tickets"), text, QMessageBox.StandardButton.Ok, self
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _ask(self, title: str, text: str) -> bool:
        return QMessageBox.question(self, title, text) == QMessageBox.StandardButton.Yes

    # -- closing -----------------------------------------------------------------------------

    def save_now(self) -> None:
        """Keep what is being written (the portal is quitting)."""
        self.form.save_draft_now()
        self.view.save_reply_now()
