"""The console's main window: tabs for the ticket queue, chats and (for
supervisors) the team, opened tickets as closable tabs, and a status bar with
the agent, presence, capacity and connection state."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QLabel,
    QMainWindow,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QWidget,
)

from client.agent import texts
from client.agent.admin import AdminPage
from client.agent.assist import AssistDesk
from client.agent.canned_ui import CannedLibrary
from client.agent.chat import ChatPage
from client.agent.live import LiveBridge
from client.agent.reports import ReportsPage
from client.agent.session import MAX_CAPACITY, Console
from client.agent.team import TeamPage
from client.agent.tickets import TicketQueue, TicketView
from client.ui.look import app_icon, icon

if TYPE_CHECKING:
    from client.core.agent_api import AgentApi
    from protocol.models import Agent

log = logging.getLogger(__name__)

PRESENCE_STATES = ("online", "away", "offline")


class ConsoleWindow(QMainWindow):
    """The agent console.

    Signals:
        presence_changed(str, int): the agent chose a presence or capacity.
        sign_out_requested(): the agent pressed "Sign out".
        sign_in_requested(): the same button while signed out ("Sign in…").
    """

    presence_changed = Signal(str, int)
    sign_out_requested = Signal()
    sign_in_requested = Signal()

    def __init__(
        self, console: Console, library: CannedLibrary, live: LiveBridge | None = None
    ) -> None:
        super().__init__()
        self.setObjectName("ConsoleWindow")
        self.console = console
        self.library = library
        self.setWindowTitle(self.tr("HelpBridge Agent"))
        self.setWindowIcon(app_icon())
        self.resize(1240, 780)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("Workspace")
        self.tabs.setDocumentMode(True)
        self.tabs.setTabsClosable(True)
        self.tabs.tabCloseRequested.connect(self.close_tab)
        self.setCentralWidget(self.tabs)
        self.queue = TicketQueue(console, self)
        self.queue.ticket_activated.connect(self.open_ticket)
        self._add_fixed_tab(self.queue, icon("ticket"), self.tr("Tickets"))
        self.ticket_views: dict[int, TicketView] = {}
        self.live = live if live is not None else LiveBridge(self)
        self.chat_page = ChatPage(console, self.live, library, self)
        self.chat_page.ticket_requested.connect(self.open_ticket)
        self.chat_page.conversation_requested.connect(self.open_conversation)
        self.chat_index = self._add_fixed_tab(self.chat_page, icon("chat"), self.tr("Chats"))
        self.chat_page.inbox.waiting_changed.connect(self._on_waiting)
        self.chat_page.assigned_to_me.connect(self._on_assigned)
        self.assist = AssistDesk(console, self.live, self)
        self.chat_page.assist_requested.connect(self.assist.request)
        self.team_page = TeamPage(console, self.live, self)
        self.team_index = self._add_fixed_tab(self.team_page, icon("agent-team"), self.tr("Team"))
        self.tabs.setTabVisible(self.team_index, False)
        # Shown by the signed-in agent's permissions (GET /team/me).
        self.reports_page = ReportsPage(console, self)
        self.reports_index = self._add_fixed_tab(
            self.reports_page, icon("chart"), self.tr("Reports")
        )
        self.tabs.setTabVisible(self.reports_index, False)
        self.admin_page = AdminPage(console, self)
        self.admin_index = self._add_fixed_tab(
            self.admin_page, icon("settings"), self.tr("Administration")
        )
        self.tabs.setTabVisible(self.admin_index, False)
        self.permissions: set[str] = set()

        bar = self.statusBar()
        bar.setObjectName("StatusBar")
        self.agent_label = QLabel(self)
        self.agent_label.setObjectName("AgentName")
        bar.addWidget(self.agent_label)
        self.message_label = QLabel(self)
        self.message_label.setObjectName("Hint")
        bar.addWidget(self.message_label, 1)
        self.connection_label = QLabel(self)
        self.connection_label.setObjectName("Status")
        bar.addPermanentWidget(self.connection_label)
        bar.addPermanentWidget(QLabel(self.tr("Presence:"), self))
        self.presence_combo = QComboBox(self)
        self.presence_combo.setObjectName("PresenceCombo")
        for state in PRESENCE_STATES:
            self.presence_combo.addItem(texts.presence_label(state), state)
        self.presence_combo.currentIndexChanged.connect(self._emit_presence)
        bar.addPermanentWidget(self.presence_combo)
        bar.addPermanentWidget(QLabel(self.tr("Chats at once:"), self))
        self.capacity_spin = QSpinBox(self)
        self.capacity_spin.setObjectName("CapacitySpin")
        self.capacity_spin.setRange(1, MAX_CAPACITY)
        self.capacity_spin.setValue(console.settings.capacity)
        self.capacity_spin.setToolTip(self.tr("The most chats you take at the same time"))
        self.capacity_spin.valueChanged.connect(self._on_capacity)
        bar.addPermanentWidget(self.capacity_spin)
        self.assist_code_button = QPushButton(self.tr("Remote assist: enter code…"), self)
        self.assist_code_button.setObjectName("AssistCodeButton")
        self.assist_code_button.clicked.connect(self.assist.enter_code)
        bar.addPermanentWidget(self.assist_code_button)
        self.sign_out_button = QPushButton(self.tr("Sign out"), self)
        self.sign_out_button.clicked.connect(self._on_account_button)
        bar.addPermanentWidget(self.sign_out_button)
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.timeout.connect(self.message_label.clear)

        console.online_changed.connect(self._on_online)
        console.notice.connect(self.show_message)
        QShortcut(QKeySequence("F5"), self, self.refresh_current)
        QShortcut(QKeySequence("Ctrl+W"), self, lambda: self.close_tab(self.tabs.currentIndex()))
        self.set_connection("connecting")

    def _add_fixed_tab(self, widget: QWidget, tab_icon: Any, title: str) -> int:
        index = self.tabs.addTab(widget, tab_icon, title)
        bar = self.tabs.tabBar()
        for side in (bar.ButtonPosition.RightSide, bar.ButtonPosition.LeftSide):
            button = bar.tabButton(index, side)
            if button is not None:
                button.resize(0, 0)
                button.hide()
        return index

    # -- signed-in state -------------------------------------------------------

    def set_agent(self, agent: Agent | None) -> None:
        self.sign_out_button.setText(self.tr("Sign out") if agent else self.tr("Sign in…"))
        if agent is None:
            self.agent_label.setText(self.tr("Not signed in"))
            self.assist.close_all()
            self.queue.stop()
            self.team_page.stop()
            self.tabs.setTabVisible(self.team_index, False)
            self.reports_page.stop()
            self.permissions = set()
            self.tabs.setTabVisible(self.reports_index, False)
            self.tabs.setTabVisible(self.admin_index, False)
            return
        role = agent.role.value
        self.agent_label.setText(f"{agent.name} · {texts.role_label(role)}")
        self.queue.start()
        self.chat_page.start()
        self.load_agents()
        supervisor = role in ("supervisor", "admin")
        self.tabs.setTabVisible(self.team_index, supervisor)
        if supervisor:
            self.team_page.start()
        self.load_access()

    def load_access(self) -> None:
        """Show the Reports and Administration tabs by what the agent holds."""

        def done(access: Any) -> None:
            if self.console.agent is None or access.agent.id != self.console.agent.id:
                return
            held = set(access.permissions)
            self.permissions = held
            is_admin = access.agent.role.value == "admin"
            reports = is_admin or "reports.read" in held
            self.tabs.setTabVisible(self.reports_index, reports)
            if reports:
                self.reports_page.set_permissions(held | ({"export"} if is_admin else set()))
                self.reports_page.start()
            admin = self.admin_page.set_access(
                held, is_admin=is_admin, me=access.agent.id, groups={g.id for g in access.groups}
            )
            self.tabs.setTabVisible(self.admin_index, admin)
            if admin:
                self.admin_page.start()

        self.console.call(
            lambda api: api.my_access(), done, lambda exc: log.info("access: %s", exc)
        )

    def _on_account_button(self) -> None:
        if self.console.agent is not None:
            self.sign_out_requested.emit()
        else:
            self.sign_in_requested.emit()

    def load_agents(self) -> None:
        """Who tickets can be assigned to (every active agent, from presence)."""

        def fetch(api: AgentApi) -> Any:
            from protocol.realtime import PresenceList

            return api.get_model("/agent/presence", PresenceList)

        def done(found: Any) -> None:
            for a in found.agents:
                self.console.remember_agent(a.agent_id, a.name)

        self.console.call(fetch, done, lambda exc: log.info("agent list: %s", exc))

    def set_connection(self, state: str) -> None:
        """``online``, ``offline``, ``connecting`` or ``live`` (realtime up)."""
        labels = {
            "online": self.tr("Connected"),
            "live": self.tr("Live"),
            "offline": self.tr("Offline — retrying"),
            "connecting": self.tr("Connecting…"),
        }
        self.connection_label.setText(labels.get(state, state))
        self.connection_label.setProperty(
            "state", "online" if state in ("online", "live") else "offline"
        )
        self.connection_label.style().unpolish(self.connection_label)
        self.connection_label.style().polish(self.connection_label)

    def _on_online(self, online: bool) -> None:
        if self.live.connected and online:
            return  # the live connection's own state says more
        self.set_connection("online" if online else "offline")

    def _on_waiting(self, count: int) -> None:
        title = (
            self.tr("Chats (%1 waiting)").replace("%1", str(count)) if count else self.tr("Chats")
        )
        self.tabs.setTabText(self.chat_index, title)

    def _on_assigned(self, conversation_id: int) -> None:
        """A chat is now this agent's: bring it up unless they are writing elsewhere."""
        log.info("chat %d is now this agent's", conversation_id)
        summary = self.chat_page.inbox.summaries.get(conversation_id)
        name = summary.customer.name if summary is not None and summary.customer.name else ""
        self.show_message("info", self.tr("New chat: %1").replace("%1", name or "—"))
        QApplication.alert(self)
        current = self.tabs.currentWidget()
        writing_ticket = isinstance(current, TicketView) and bool(current.composer.text().strip())
        if self.chat_page.busy_typing() or writing_ticket:
            return
        view = self.chat_page.open_conversation(conversation_id)
        self.tabs.setCurrentWidget(self.chat_page)
        if view is not None:
            view.composer.edit.setFocus()

    def on_live_state(self, state: str) -> None:
        """The realtime connection's state: online, connecting, offline..."""
        self.set_connection({"online": "live", "connecting": "connecting"}.get(state, "offline"))

    def show_message(self, kind: str, text: str) -> None:
        self.message_label.setText(text)
        self.message_label.setToolTip(text)
        self._message_timer.start(10_000 if kind == "info" else 30_000)

    # -- presence ----------------------------------------------------------------

    @property
    def presence(self) -> str:
        return str(self.presence_combo.currentData())

    def _emit_presence(self) -> None:
        self.presence_changed.emit(self.presence, self.capacity_spin.value())

    def _on_capacity(self, value: int) -> None:
        self.console.settings.capacity = value
        self._emit_presence()

    # -- tabs ----------------------------------------------------------------

    def open_ticket(self, ticket_id: int) -> TicketView:
        view = self.ticket_views.get(ticket_id)
        if view is None:
            view = TicketView(self.console, self.library, ticket_id, self)
            view.changed.connect(lambda _id: self.queue.reload())
            view.ticket_activated.connect(self.open_ticket)
            view.conversation_activated.connect(self.open_conversation)
            view.assist_requested.connect(self.assist.request)
            index = self.tabs.addTab(view, icon("ticket"), self.tr("Ticket"))
            view.title_changed.connect(
                lambda title, v=view: self.tabs.setTabText(self.tabs.indexOf(v), title)
            )
            self.ticket_views[ticket_id] = view
            view.reload()
        else:
            index = self.tabs.indexOf(view)
        self.tabs.setCurrentIndex(index)
        return view

    def open_conversation(self, conversation_id: int) -> None:
        self.tabs.setCurrentWidget(self.chat_page)
        self.chat_page.show_conversation(conversation_id)

    def close_tab(self, index: int) -> None:
        widget = self.tabs.widget(index)
        fixed = (self.queue, self.chat_page, self.team_page, self.reports_page, self.admin_page)
        if widget is None or widget in fixed:
            return
        if isinstance(widget, TicketView):
            self.ticket_views.pop(widget.ticket_id, None)
        self.tabs.removeTab(index)
        widget.deleteLater()

    def refresh_current(self) -> None:
        widget = self.tabs.currentWidget()
        refresh = getattr(widget, "reload", None)
        if callable(refresh):
            refresh()

    def close_ticket_tabs(self) -> None:
        for view in list(self.ticket_views.values()):
            self.close_tab(self.tabs.indexOf(view))

    def closeEvent(self, event: QCloseEvent) -> None:
        self.assist.close_all()
        self.queue.stop()
        self.team_page.stop()
        super().closeEvent(event)
