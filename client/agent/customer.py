"""The customer panel: who the customer is (as the host application vouched
for them in its signed token), their tickets and their earlier chats."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from client.agent.session import Console
from client.agent.texts import exception_message, relative_time, status_label, tier_label

if TYPE_CHECKING:
    from protocol.models import Customer
    from protocol.tickets import TicketList

ID_ROLE = Qt.ItemDataRole.UserRole + 1


def tier_badge(tier: str, parent: QWidget | None = None) -> QLabel:
    badge = QLabel(tier_label(tier), parent)
    badge.setObjectName("TierBadge")
    badge.setProperty("tier", tier)
    badge.setVisible(tier in ("vip", "svip"))
    return badge


def _plain(parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    return label


class CustomerPanel(QFrame):
    """Identity, tickets and conversations of one customer.

    Signals:
        ticket_activated(int): open this ticket.
        conversation_activated(int): open this conversation.
    """

    ticket_activated = Signal(int)
    conversation_activated = Signal(int)

    def __init__(self, console: Console, parent: QWidget | None = None, *, key: str = "") -> None:
        super().__init__(parent)
        self.setObjectName("CustomerPanel")
        self.console = console
        self.customer: Customer | None = None
        self._key = f"customer-panel-{key or id(self)}"
        self._exclude_ticket: int | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(8)
        title = QLabel(self.tr("CUSTOMER"), self)
        title.setObjectName("PanelTitle")
        layout.addWidget(title)
        name_row = QHBoxLayout()
        self.name_label = _plain(self)
        self.name_label.setObjectName("CustomerName")
        name_row.addWidget(self.name_label, 1)
        self.badge = tier_badge("normal", self)
        name_row.addWidget(self.badge, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(name_row)
        form = QFormLayout()
        form.setSpacing(4)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        self.company_label = _plain(self)
        self.product_label = _plain(self)
        self.email_label = _plain(self)
        self.phone_label = _plain(self)
        self.external_label = _plain(self)
        form.addRow(self.tr("Company:"), self.company_label)
        form.addRow(self.tr("Product:"), self.product_label)
        form.addRow(self.tr("E-mail:"), self.email_label)
        form.addRow(self.tr("Phone:"), self.phone_label)
        form.addRow(self.tr("Customer ID:"), self.external_label)
        layout.addLayout(form)
        tickets_title = QLabel(self.tr("TICKETS"), self)
        tickets_title.setObjectName("PanelTitle")
        layout.addWidget(tickets_title)
        self.tickets_list = QListWidget(self)
        self.tickets_list.setObjectName("CustomerTickets")
        self.tickets_list.setWordWrap(True)
        self.tickets_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.tickets_list.itemActivated.connect(self._open_ticket)
        self.tickets_list.itemDoubleClicked.connect(self._open_ticket)
        layout.addWidget(self.tickets_list, 1)
        self.conversations_title = QLabel(self.tr("EARLIER CHATS"), self)
        self.conversations_title.setObjectName("PanelTitle")
        layout.addWidget(self.conversations_title)
        self.conversations_list = QListWidget(self)
        self.conversations_list.setObjectName("CustomerConversations")
        self.conversations_list.setWordWrap(True)
        self.conversations_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.conversations_list.itemActivated.connect(self._open_conversation)
        self.conversations_list.itemDoubleClicked.connect(self._open_conversation)
        layout.addWidget(self.conversations_list, 1)
        self.conversations_title.hide()
        self.conversations_list.hide()
        self.status_label = QLabel(self)
        self.status_label.setObjectName("Hint")
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)

    def set_customer(self, customer: Customer, *, current_ticket: int | None = None) -> None:
        """Show ``customer`` and load their tickets (and chats when the service has them)."""
        self.customer = customer
        self._exclude_ticket = current_ticket
        self.name_label.setText(customer.name or customer.external_id)
        tier = customer.tier.value
        self.badge.setText(tier_label(tier))
        self.badge.setProperty("tier", tier)
        self.badge.style().unpolish(self.badge)
        self.badge.style().polish(self.badge)
        self.badge.setVisible(tier in ("vip", "svip"))
        self.company_label.setText(customer.company or "—")
        product = " ".join(p for p in (customer.product, customer.product_version) if p)
        self.product_label.setText(product or "—")
        self.email_label.setText(customer.email or "—")
        self.phone_label.setText(customer.phone or "—")
        self.external_label.setText(customer.external_id)
        self.refresh()

    def refresh(self) -> None:
        customer = self.customer
        if customer is None:
            return
        self.status_label.setText(self.tr("Loading…"))
        self.console.call(
            lambda api: api.queue(requester_id=customer.id, per_page=20),
            lambda found: self._show_tickets(customer.id, found),
            lambda exc: self.status_label.setText(exception_message(exc)),
            latest=self._key,
        )

    def _show_tickets(self, customer_id: int, found: TicketList) -> None:
        if self.customer is None or self.customer.id != customer_id:
            return
        self.status_label.setText("")
        self.tickets_list.clear()
        for t in found.tickets:
            text = f"#{t.number}  {t.subject}\n{status_label(t.status.value)} · " + relative_time(
                t.updated_at
            )
            item = QListWidgetItem(text)
            item.setData(ID_ROLE, t.id)
            if t.id == self._exclude_ticket:
                item.setToolTip(self.tr("This ticket"))
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.tickets_list.addItem(item)
        if not found.tickets:
            self.tickets_list.addItem(QListWidgetItem(self.tr("No tickets")))

    def show_conversations(self, items: list[tuple[int, str]]) -> None:
        """Earlier conversations: (id, one-line description)."""
        self.conversations_list.clear()
        for conversation_id, text in items:
            item = QListWidgetItem(text)
            item.setData(ID_ROLE, conversation_id)
            self.conversations_list.addItem(item)
        visible = bool(items)
        self.conversations_title.setVisible(visible)
        self.conversations_list.setVisible(visible)

    def ticket_texts(self) -> list[str]:
        return [self.tickets_list.item(i).text() for i in range(self.tickets_list.count())]

    def _open_ticket(self, item: QListWidgetItem) -> None:
        value: Any = item.data(ID_ROLE)
        if value is not None:
            self.ticket_activated.emit(int(value))

    def _open_conversation(self, item: QListWidgetItem) -> None:
        value: Any = item.data(ID_ROLE)
        if value is not None:
            self.conversation_activated.emit(int(value))
