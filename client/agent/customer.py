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
from client.agent.texts import (
    conversation_status,
    exception_message,
    format_datetime,
    relative_time,
    status_label,
    tier_label,
)

if TYPE_CHECKING:
    from client.core.agent_api import AgentApi
    from protocol.models import Customer

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
        self.customer_id: int | None = None
        self._exclude_conversation: int | None = None
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

    def set_customer(
        self,
        customer: Customer,
        *,
        current_ticket: int | None = None,
        current_conversation: int | None = None,
    ) -> None:
        """Show ``customer`` now, then their tickets and chats from the service."""
        self._show_identity(customer)
        self.load(
            customer.id, current_ticket=current_ticket, current_conversation=current_conversation
        )

    def load(
        self,
        customer_id: int,
        *,
        current_ticket: int | None = None,
        current_conversation: int | None = None,
    ) -> None:
        """Fetch the panel of ``customer_id`` (identity, tickets, chats)."""
        self.customer_id = customer_id
        self._exclude_ticket = current_ticket
        self._exclude_conversation = current_conversation
        self.refresh()

    def refresh(self) -> None:
        customer_id = self.customer_id
        if customer_id is None:
            return
        self.status_label.setText(self.tr("Loading…"))

        def fetch(api: AgentApi) -> Any:
            from protocol.realtime import CustomerPanel as PanelModel

            return api.get_model(f"/agent/customers/{int(customer_id)}", PanelModel)

        self.console.call(
            fetch,
            lambda panel: self._show_panel(customer_id, panel),
            lambda exc: self.status_label.setText(exception_message(exc)),
            latest=self._key,
        )

    def _show_identity(self, customer: Customer) -> None:
        self.customer = customer
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

    def _show_panel(self, customer_id: int, panel: Any) -> None:
        if customer_id != self.customer_id:
            return
        self.status_label.setText("")
        self._show_identity(panel.customer)
        self.tickets_list.clear()
        for t in panel.tickets:
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
        if not panel.tickets:
            self.tickets_list.addItem(QListWidgetItem(self.tr("No tickets")))
        self.show_conversations(
            [
                (
                    c.id,
                    f"{format_datetime(c.created_at)} · {conversation_status(c.status.value)}",
                )
                for c in panel.conversations
                if c.id != self._exclude_conversation
            ]
        )

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
