"""The ticket queue and the ticket view.

Queue: filters (status, priority, assignee, SLA breached), one request per
filter change or refresh (and a quiet refresh each minute); the SLA column
counts down from the due times already in hand, recomputed by one QTimer
every 30 s (client/agent/sla.py), never by asking the service.

Ticket view: header with status and assignment, the timeline (customer and
agent messages, internal notes on yellow, status changes and assignments as
grey lines), the reply box (client/agent/composer.py) and the customer panel.
Every request runs on a worker through :class:`~client.agent.session.Console`.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from client.agent import texts
from client.agent.assist import assist_button
from client.agent.browser import TimelineBrowser
from client.agent.canned_ui import CannedLibrary
from client.agent.composer import ReplyComposer
from client.agent.customer import CustomerPanel
from client.agent.session import Console
from client.agent.sla import SlaState, sla_state
from client.agent.timeline import Entry, FileRef, timeline_html

if TYPE_CHECKING:
    from client.core.agent_api import AgentApi
    from protocol.tickets import Ticket, TicketList, TicketSummary

log = logging.getLogger(__name__)

SLA_TICK_MS = 30_000
QUEUE_REFRESH_MS = 60_000
ID_ROLE = Qt.ItemDataRole.UserRole + 1
BAND_ROLE = Qt.ItemDataRole.UserRole + 2

BAND_COLOURS = {
    "ok": ("#065f46", "#d1fae5"),
    "warn": ("#92400e", "#fef3c7"),
    "breached": ("#991b1b", "#fee2e2"),
    "none": ("#6b7280", ""),
}

COLUMNS = ("number", "subject", "requester", "priority", "status", "assignee", "sla", "updated")


def style_sla_item(item: QTableWidgetItem | None, state: SlaState) -> None:
    if item is None:
        return
    fg, bg = BAND_COLOURS[state.band]
    item.setText(texts.sla_text(state))
    item.setToolTip(texts.sla_tooltip(state))
    item.setData(BAND_ROLE, state.band)
    item.setForeground(QBrush(QColor(fg)))
    item.setBackground(QBrush(QColor(bg)) if bg else QBrush())


def style_sla_label(label: QLabel, state: SlaState) -> None:
    fg, bg = BAND_COLOURS[state.band]
    label.setText(texts.sla_text(state))
    label.setToolTip(texts.sla_tooltip(state))
    label.setProperty("band", state.band)
    label.setStyleSheet(
        f"color: {fg}; background: {bg or 'transparent'}; border-radius: 8px; padding: 2px 8px;"
    )


class TicketQueue(QWidget):
    """The filtered list of tickets.

    Signals:
        ticket_activated(int): open this ticket.
        loaded(int): a list arrived (its total).
    """

    ticket_activated = Signal(int)
    loaded = Signal(int)

    def __init__(self, console: Console, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TicketQueue")
        self.console = console
        self.tickets: list[TicketSummary] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 6)
        layout.setSpacing(8)
        filters = QHBoxLayout()
        filters.setSpacing(8)
        self.status_combo = QComboBox(self)
        self.status_combo.addItem(self.tr("Active"), "active")
        for status in texts.STATUSES:
            self.status_combo.addItem(texts.status_label(status), status)
        self.status_combo.addItem(self.tr("Any status"), "")
        self.priority_combo = QComboBox(self)
        self.priority_combo.addItem(self.tr("Any priority"), "")
        for priority in texts.PRIORITIES:
            self.priority_combo.addItem(texts.priority_label(priority), priority)
        self.assignee_combo = QComboBox(self)
        self.assignee_combo.addItem(self.tr("Everyone's"), "")
        self.assignee_combo.addItem(self.tr("Mine"), "me")
        self.assignee_combo.addItem(self.tr("Unassigned"), "none")
        self.breached_check = QCheckBox(self.tr("SLA breached"), self)
        for label, widget in (
            (self.tr("Status:"), self.status_combo),
            (self.tr("Priority:"), self.priority_combo),
            (self.tr("Assignee:"), self.assignee_combo),
        ):
            filters.addWidget(QLabel(label, self))
            filters.addWidget(widget)
            widget.currentIndexChanged.connect(self.reload)
        filters.addWidget(self.breached_check)
        self.breached_check.toggled.connect(self.reload)
        filters.addStretch(1)
        self.count_label = QLabel(self)
        self.count_label.setObjectName("Hint")
        filters.addWidget(self.count_label)
        self.refresh_button = QPushButton(self.tr("Refresh"), self)
        self.refresh_button.clicked.connect(self.reload)
        filters.addWidget(self.refresh_button)
        layout.addLayout(filters)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("QueueTable")
        self.table.setHorizontalHeaderLabels(
            [
                self.tr("#"),
                self.tr("Subject"),
                self.tr("Customer"),
                self.tr("Priority"),
                self.tr("Status"),
                self.tr("Assignee"),
                self.tr("SLA"),
                self.tr("Updated"),
            ]
        )
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.itemActivated.connect(self._activate)
        self.table.itemDoubleClicked.connect(self._activate)
        layout.addWidget(self.table, 1)
        self.error_label = QLabel(self)
        self.error_label.setObjectName("QueueError")
        self.error_label.setStyleSheet("color: #b91c1c;")
        self.error_label.hide()
        layout.addWidget(self.error_label)
        self.sla_timer = QTimer(self)
        self.sla_timer.setInterval(SLA_TICK_MS)
        self.sla_timer.timeout.connect(self.update_sla)
        self.refresh_timer = QTimer(self)
        self.refresh_timer.setInterval(QUEUE_REFRESH_MS)
        self.refresh_timer.timeout.connect(self.reload)

    def start(self) -> None:
        """Signed in: load now, then keep the list and the countdowns fresh."""
        self.reload()
        self.sla_timer.start()
        self.refresh_timer.start()

    def stop(self) -> None:
        self.sla_timer.stop()
        self.refresh_timer.stop()
        self.console.runner.supersede("queue")

    def filters(self) -> dict[str, Any]:
        """The current filters as AgentApi.queue keyword arguments."""
        out: dict[str, Any] = {}
        status = self.status_combo.currentData()
        if status == "active":
            out["status"] = ["new", "open", "pending_customer"]
        elif status:
            out["status"] = [status]
        if self.priority_combo.currentData():
            out["priority"] = [self.priority_combo.currentData()]
        if self.assignee_combo.currentData():
            out["assignee"] = self.assignee_combo.currentData()
        if self.breached_check.isChecked():
            out["breached"] = True
        return out

    def reload(self) -> None:
        filters = self.filters()

        def fetch(api: AgentApi) -> TicketList:
            from protocol.tickets import Priority, TicketStatus

            return api.queue(
                status=[TicketStatus(s) for s in filters.get("status", [])] or None,
                priority=[Priority(p) for p in filters.get("priority", [])] or None,
                assignee=filters.get("assignee"),
                breached=filters.get("breached"),
                per_page=100,
            )

        self.console.call(fetch, self._show, self._failed, latest="queue")

    def _failed(self, exc: BaseException) -> None:
        self.error_label.setText(texts.exception_message(exc))
        self.error_label.show()

    def _show(self, found: TicketList) -> None:
        self.error_label.hide()
        selected = self.selected_id()
        self.tickets = list(found.tickets)
        self.table.setRowCount(len(self.tickets))
        now = datetime.now(UTC)
        for row, t in enumerate(self.tickets):
            values = {
                "number": f"#{t.number}",
                "subject": t.subject,
                "requester": t.requester_name or "",
                "priority": t.priority.value,
                "status": texts.status_label(t.status.value),
                "assignee": t.assignee_name or self.tr("Unassigned"),
                "sla": "",
                "updated": texts.relative_time(t.updated_at, now),
            }
            for column, name in enumerate(COLUMNS):
                item = QTableWidgetItem(values[name])
                item.setData(ID_ROLE, t.id)
                if name == "subject":
                    item.setToolTip(t.subject)
                if name == "priority":
                    item.setToolTip(texts.priority_label(t.priority.value))
                if name == "assignee" and not t.assignee_name:
                    item.setForeground(QBrush(QColor("#6b7280")))
                self.table.setItem(row, column, item)
            style_sla_item(self.table.item(row, COLUMNS.index("sla")), sla_state(t, now))
            if t.id == selected:
                self.table.selectRow(row)
        shown = len(self.tickets)
        self.count_label.setText(
            self.tr("%1 of %2 tickets").replace("%1", str(shown)).replace("%2", str(found.total))
            if shown < found.total
            else self.tr("%n ticket(s)", "", found.total)
        )
        self.loaded.emit(found.total)

    def update_sla(self, now: datetime | None = None) -> None:
        """Recompute every row's SLA cell from the due times in hand."""
        now = now or datetime.now(UTC)
        column = COLUMNS.index("sla")
        updated = COLUMNS.index("updated")
        for row, t in enumerate(self.tickets):
            style_sla_item(self.table.item(row, column), sla_state(t, now))
            item = self.table.item(row, updated)
            if item is not None:
                item.setText(texts.relative_time(t.updated_at, now))

    def row_of(self, ticket_id: int) -> int | None:
        return next((i for i, t in enumerate(self.tickets) if t.id == ticket_id), None)

    def band_of(self, ticket_id: int) -> str | None:
        row = self.row_of(ticket_id)
        if row is None:
            return None
        item = self.table.item(row, COLUMNS.index("sla"))
        return str(item.data(BAND_ROLE)) if item is not None else None

    def selected_id(self) -> int | None:
        items = self.table.selectedItems()
        return int(items[0].data(ID_ROLE)) if items else None

    def _activate(self, item: QTableWidgetItem) -> None:
        self.ticket_activated.emit(int(item.data(ID_ROLE)))


def ticket_entries(ticket: Ticket) -> list[Entry]:
    """A ticket's events in the timeline's terms (translated labels)."""
    out: list[Entry] = []
    for e in ticket.events:
        files = tuple(FileRef(a.id, a.filename, a.size) for a in e.attachments)
        if e.kind in ("created", "comment"):
            side = "customer" if e.author_type == "customer" else "agent"
            label = (
                QCoreApplication.translate("TicketView", "Opened the ticket")
                if e.kind == "created"
                else ""
            )
            out.append(Entry(side, e.author_name, e.body, e.created_at, files, label=label))
        elif e.kind == "note":
            label = QCoreApplication.translate("TicketView", "Internal note")
            out.append(Entry("note", e.author_name, e.body, e.created_at, files, label=label))
        elif e.kind == "status":
            old = texts.status_label(e.status_from.value) if e.status_from else "?"
            new = texts.status_label(e.status_to.value) if e.status_to else "?"
            label = (
                QCoreApplication.translate("TicketView", "Status: %1 → %2")
                .replace("%1", old)
                .replace("%2", new)
            )
            out.append(Entry("system", e.author_name, e.body, e.created_at, label=label))
        elif e.kind == "assigned":
            label = (
                QCoreApplication.translate("TicketView", "Assigned to %1").replace("%1", e.body)
                if e.body
                else QCoreApplication.translate("TicketView", "Unassigned")
            )
            out.append(Entry("system", e.author_name, "", e.created_at, label=label))
        elif e.kind == "csat":
            rating = ticket.csat.rating if ticket.csat is not None else 0
            label = QCoreApplication.translate("TicketView", "Rated the support %1/5").replace(
                "%1", str(rating)
            )
            out.append(Entry("system", e.author_name, e.body, e.created_at, label=label))
    return out


class TicketView(QWidget):
    """One open ticket.

    Signals:
        changed(int): the ticket changed here (reply, status, assignment).
        ticket_activated(int): open another ticket (from the customer panel).
        conversation_activated(int): open one of the customer's chats.
        title_changed(str): the tab title.
    """

    changed = Signal(int)
    ticket_activated = Signal(int)
    conversation_activated = Signal(int)
    title_changed = Signal(str)
    assist_requested = Signal(str, int, str)
    """("ticket", id, "view" | "control"): Request remote assist."""

    def __init__(
        self,
        console: Console,
        library: CannedLibrary,
        ticket_id: int,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("TicketView")
        self.console = console
        self.ticket_id = ticket_id
        self.ticket: Ticket | None = None
        self._send_key: tuple[str, tuple[str, bool, tuple[str, ...]]] | None = None
        self._file_keys: dict[str, str] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(8)

        header = QHBoxLayout()
        header.setSpacing(10)
        titles = QVBoxLayout()
        self.title_label = QLabel(self.tr("Loading…"), self)
        self.title_label.setObjectName("PageTitle")
        self.title_label.setTextFormat(Qt.TextFormat.PlainText)
        self.title_label.setWordWrap(True)
        titles.addWidget(self.title_label)
        self.meta_label = QLabel(self)
        self.meta_label.setObjectName("Hint")
        self.meta_label.setTextFormat(Qt.TextFormat.PlainText)
        self.meta_label.setWordWrap(True)
        titles.addWidget(self.meta_label)
        header.addLayout(titles, 1)
        self.sla_label = QLabel(self)
        self.sla_label.setObjectName("SlaBadge")
        header.addWidget(self.sla_label, 0, Qt.AlignmentFlag.AlignTop)
        header.addWidget(QLabel(self.tr("Status:"), self), 0, Qt.AlignmentFlag.AlignTop)
        self.status_combo = QComboBox(self)
        for status in texts.STATUSES:
            self.status_combo.addItem(texts.status_label(status), status)
        self.status_combo.setEnabled(False)
        self.status_combo.activated.connect(self._on_status_chosen)
        header.addWidget(self.status_combo, 0, Qt.AlignmentFlag.AlignTop)
        self.assign_button = QToolButton(self)
        self.assign_button.setObjectName("AssignButton")
        self.assign_button.setText(self.tr("Assign"))
        self.assign_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.assign_menu = QMenu(self.assign_button)
        self.assign_menu.aboutToShow.connect(self._fill_assign_menu)
        self.assign_button.setMenu(self.assign_menu)
        self.assign_button.setEnabled(False)
        header.addWidget(self.assign_button, 0, Qt.AlignmentFlag.AlignTop)
        self.assist_button = assist_button(
            self, lambda mode: self.assist_requested.emit("ticket", self.ticket_id, mode)
        )
        header.addWidget(self.assist_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(header)
        self.error_label = QLabel(self)
        self.error_label.setObjectName("TicketError")
        self.error_label.setStyleSheet("color: #b91c1c;")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.error_label)

        split = QSplitter(Qt.Orientation.Horizontal, self)
        left = QSplitter(Qt.Orientation.Vertical, split)
        self.timeline = TimelineBrowser(left)
        self.timeline.attachment_clicked.connect(self.download_attachment)
        self.composer = ReplyComposer(console, library, left, kb_key=f"kb-ticket-{ticket_id}")
        self.composer.send_requested.connect(self._send)
        left.addWidget(self.timeline)
        left.addWidget(self.composer)
        left.setStretchFactor(0, 3)
        left.setStretchFactor(1, 1)
        left.setSizes([480, 230])
        self.customer_panel = CustomerPanel(console, split, key=f"ticket-{ticket_id}")
        self.customer_panel.ticket_activated.connect(self._open_other)
        self.customer_panel.conversation_activated.connect(self.conversation_activated)
        self.customer_panel.setMinimumWidth(240)
        split.addWidget(left)
        split.addWidget(self.customer_panel)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([760, 280])
        layout.addWidget(split, 1)
        self.sla_timer = QTimer(self)
        self.sla_timer.setInterval(SLA_TICK_MS)
        self.sla_timer.timeout.connect(self.update_sla)
        self.sla_timer.start()
        self.loads = 0

    # -- loading ---------------------------------------------------------------

    def reload(self) -> None:
        ticket_id = self.ticket_id
        self.console.call(
            lambda api: api.agent_ticket(ticket_id),
            self.show_ticket,
            self._show_error,
            latest=f"ticket-{ticket_id}",
        )

    def show_ticket(self, ticket: Ticket) -> None:
        first = self.ticket is None
        customer_changed = first or (
            self.ticket is not None and self.ticket.requester != ticket.requester
        )
        self.ticket = ticket
        self.loads += 1
        self.title_label.setText(f"#{ticket.number}  {ticket.subject}")
        self.title_changed.emit(f"#{ticket.number}")
        assignee = ticket.assignee.name if ticket.assignee else self.tr("Unassigned")
        if ticket.assignee is not None:
            self.console.remember_agent(ticket.assignee.id, ticket.assignee.name)
        parts = [
            texts.priority_label(ticket.priority.value),
            ticket.requester.name or ticket.requester.external_id,
            self.tr("Assignee: %1").replace("%1", assignee),
            self.tr("Opened %1").replace("%1", texts.format_datetime(ticket.created_at)),
        ]
        if ticket.category:
            parts.insert(1, ticket.category)
        context = ", ".join(f"{k}: {v}" for k, v in sorted(ticket.context.items()))
        if context:
            parts.append(context)
        self.meta_label.setText(" · ".join(parts))
        self.status_combo.setEnabled(True)
        self.status_combo.setCurrentIndex(max(0, self.status_combo.findData(ticket.status.value)))
        self.assign_button.setEnabled(True)
        self.update_sla()
        html = timeline_html(ticket_entries(ticket), texts.format_datetime, texts.format_size)
        self.timeline.set_timeline(html, keep_position=not first)
        closed = ticket.status.value == "closed"
        self.composer.set_enabled_for(
            not closed, self.tr("This ticket is closed; reopen it to reply.") if closed else ""
        )
        if customer_changed:
            self.customer_panel.set_customer(ticket.requester, current_ticket=ticket.id)

    def _show_error(self, exc: BaseException) -> None:
        self.error_label.setText(texts.exception_message(exc))
        self.error_label.show()

    def update_sla(self, now: datetime | None = None) -> None:
        if self.ticket is not None:
            style_sla_label(self.sla_label, sla_state(self.ticket, now))

    # -- replying --------------------------------------------------------------

    def _send(self, text: str, internal: bool, files: list[Path]) -> None:
        ticket_id = self.ticket_id
        content = (text, internal, tuple(str(p) for p in files))
        if self._send_key is None or self._send_key[1] != content:
            # Same content again (a retry after a failure): same key, so the
            # service stores it once even if the first attempt got through.
            self._send_key = (uuid.uuid4().hex, content)
        client_key = self._send_key[0]
        file_keys = {str(p): self._file_keys.setdefault(str(p), uuid.uuid4().hex) for p in files}

        def job(api: AgentApi) -> Ticket:
            from protocol.tickets import CommentCreate

            ids = [api.upload_attachment(p, p.name, file_keys[str(p)]).id for p in files]
            comment = CommentCreate(
                client_key=client_key, body=text, attachment_ids=ids, internal=internal
            )
            return api.agent_reply(ticket_id, comment)

        def done(ticket: Ticket) -> None:
            self._send_key = None
            self.composer.sent()
            self.show_ticket(ticket)
            self.customer_panel.refresh()
            self.changed.emit(ticket_id)

        self.console.call(
            job, done, lambda exc: self.composer.failed(texts.exception_message(exc)), serial=True
        )

    def download_attachment(self, attachment_id: int) -> None:
        name = self._attachment_name(attachment_id) or f"attachment-{attachment_id}"
        dialog = QFileDialog(self, self.tr("Save attachment"))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.selectFile(name)
        dialog.fileSelected.connect(lambda path: self.save_attachment(attachment_id, Path(path)))
        dialog.open()

    def save_attachment(self, attachment_id: int, dest: Path) -> None:
        self.console.call(
            lambda api: api.download_attachment(attachment_id, dest),
            lambda path: self.console.notice.emit(
                "info", self.tr("Saved %1").replace("%1", str(path))
            ),
            self._show_error,
        )

    def _attachment_name(self, attachment_id: int) -> str | None:
        if self.ticket is None:
            return None
        found = next((a for a in self.ticket.attachments if a.id == attachment_id), None)
        return found.filename if found else None

    # -- status and assignment -------------------------------------------------

    def _on_status_chosen(self, index: int) -> None:
        status = str(self.status_combo.itemData(index))
        if self.ticket is None or status == self.ticket.status.value:
            return
        self.set_status(status)

    def set_status(self, status: str) -> None:
        ticket_id = self.ticket_id

        def job(api: AgentApi) -> Ticket:
            from protocol.tickets import TicketStatus

            return api.set_status(ticket_id, TicketStatus(status))

        self.status_combo.setEnabled(False)
        self.console.call(job, self._after_action, self._action_failed)

    def _fill_assign_menu(self) -> None:
        self.assign_menu.clear()
        me = self.console.agent
        if me is not None:
            action = self.assign_menu.addAction(self.tr("Assign to me"))
            action.triggered.connect(lambda: self.assign(me.id))
        auto = self.assign_menu.addAction(self.tr("Assign automatically"))
        auto.setToolTip(self.tr("To the active agent with the fewest open tickets"))
        auto.triggered.connect(lambda: self.assign(None, auto=True))
        others = [
            (agent_id, name)
            for agent_id, name in sorted(self.console.known_agents.items(), key=lambda a: a[1])
            if me is None or agent_id != me.id
        ]
        if others:
            sub = self.assign_menu.addMenu(self.tr("Assign to"))
            for agent_id, name in others:
                action = sub.addAction(name)
                action.triggered.connect(lambda _=False, a=agent_id: self.assign(a))
        self.assign_menu.addSeparator()
        clear = self.assign_menu.addAction(self.tr("Unassign"))
        clear.setEnabled(self.ticket is not None and self.ticket.assignee is not None)
        clear.triggered.connect(lambda: self.assign(None))

    def assign(self, agent_id: int | None, *, auto: bool = False) -> None:
        ticket_id = self.ticket_id
        self.assign_button.setEnabled(False)
        self.console.call(
            lambda api: api.assign(ticket_id, agent_id, auto=auto),
            self._after_action,
            self._action_failed,
        )

    def _after_action(self, ticket: Ticket) -> None:
        self.error_label.hide()
        self.show_ticket(ticket)
        self.customer_panel.refresh()
        self.changed.emit(ticket.id)

    def _action_failed(self, exc: BaseException) -> None:
        self._show_error(exc)
        if self.ticket is not None:
            self.show_ticket(self.ticket)

    def _open_other(self, ticket_id: int) -> None:
        if ticket_id != self.ticket_id:
            self.ticket_activated.emit(ticket_id)
