"""Live chat in the console: the inbox (Waiting / Mine / All) and one view
per open conversation (transcript, reply box, files, internal notes,
transfer, close, turn into a ticket, customer panel).

Lists come from the REST endpoints when a tab is chosen and are kept live by
the realtime events (:mod:`client.agent.live`); transcripts start from the
REST history (internal notes included) and grow with live messages, kept in
``seq`` order without duplicates.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from client.agent import texts
from client.agent.assist import assist_button
from client.agent.browser import TimelineBrowser
from client.agent.canned_ui import CannedLibrary
from client.agent.composer import ReplyComposer
from client.agent.customer import CustomerPanel, tier_badge
from client.agent.live import LiveBridge
from client.agent.session import Console
from client.agent.timeline import ArticleRef, Entry, FileRef, timeline_html

if TYPE_CHECKING:
    from client.core.agent_api import AgentApi

log = logging.getLogger(__name__)

ID_ROLE = Qt.ItemDataRole.UserRole + 1
FILTERS = ("waiting", "mine", "all")
TYPING_IDLE_MS = 4000


def customer_line(summary: Any) -> str:
    c = summary.customer
    name = c.name or QCoreApplication.translate("ChatText", "Customer %1").replace("%1", str(c.id))
    tier = c.tier.value if hasattr(c.tier, "value") else str(c.tier)
    if tier in ("vip", "svip"):
        name = f"{name}  [{texts.tier_label(tier)}]"
    return name


class Inbox(QWidget):
    """Waiting / Mine / All, live.

    Signals:
        conversation_activated(int): open this conversation.
    """

    conversation_activated = Signal(int)
    waiting_changed = Signal(int)

    def __init__(self, console: Console, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.console = console
        self.summaries: dict[int, Any] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.tabs = QTabBar(self)
        self.tabs.setObjectName("Sections")
        self.tabs.addTab(self.tr("Waiting"))
        self.tabs.addTab(self.tr("Mine"))
        self.tabs.addTab(self.tr("All"))
        self.tabs.currentChanged.connect(lambda _i: self.refresh())
        layout.addWidget(self.tabs)
        self.state_label = QLabel(self.tr("Connecting to live chat…"), self)
        self.state_label.setObjectName("Hint")
        self.state_label.setWordWrap(True)
        layout.addWidget(self.state_label)
        self.list = QListWidget(self)
        self.list.setObjectName("Inbox")
        self.list.setWordWrap(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.itemActivated.connect(self._activate)
        self.list.itemClicked.connect(self._activate)
        layout.addWidget(self.list, 1)

    @property
    def filter(self) -> str:
        return FILTERS[max(0, self.tabs.currentIndex())]

    def set_role(self, role: str) -> None:
        """ "All" is for supervisors and administrators."""
        self.tabs.setTabVisible(2, role in ("supervisor", "admin"))

    def set_state(self, text: str) -> None:
        self.state_label.setText(text)
        self.state_label.setVisible(bool(text))

    def refresh(self) -> None:
        which = self.filter

        def fetch(api: AgentApi) -> Any:
            from protocol.realtime import ConversationList

            return api.get_model("/conversations", ConversationList, {"filter": which})

        self.console.call(
            fetch, lambda found: self._fill(which, found), self._failed, latest="inbox"
        )

    def _failed(self, exc: BaseException) -> None:
        self.set_state(texts.exception_message(exc))

    def _fill(self, which: str, found: Any) -> None:
        for s in found.conversations:
            self.summaries[s.id] = s
        self._render()

    def update_summary(self, summary: Any) -> None:
        self.summaries[summary.id] = summary
        self._render()

    def set_summaries(self, summaries: list[Any]) -> None:
        for s in summaries:
            self.summaries[s.id] = s
        self._render()

    def mark_read(self, conversation_id: int) -> None:
        """The agent has seen the conversation: no unread badge until more arrives."""
        summary = self.summaries.get(conversation_id)
        if summary is not None and summary.unread:
            self.summaries[conversation_id] = summary.model_copy(update={"unread": 0})
            self._render()

    def matches(self, summary: Any) -> bool:
        me = self.console.agent.id if self.console.agent else None
        status = str(summary.status.value)
        if self.filter == "waiting":
            return bool(status == "queued")
        if self.filter == "mine":
            return (
                status == "assigned"
                and summary.assignee is not None
                and (summary.assignee.id == me)
            )
        return status != "closed"

    def visible_ids(self) -> list[int]:
        values = (self.list.item(i).data(ID_ROLE) for i in range(self.list.count()))
        return [int(v) for v in values if v is not None]

    def _render(self) -> None:
        current = self.list.currentItem()
        selected = int(current.data(ID_ROLE)) if current is not None else None
        self.waiting_changed.emit(
            sum(1 for s in self.summaries.values() if s.status.value == "queued")
        )
        shown = [s for s in self.summaries.values() if self.matches(s)]
        if self.filter == "waiting":
            # As the service serves the queue: SVIP, then VIP, then the rest,
            # longest waiting first within each.
            rank = {"svip": 0, "vip": 1}
            shown.sort(key=lambda s: (rank.get(s.customer.tier.value, 2), s.updated_at, s.id))
        else:
            shown.sort(key=lambda s: (s.updated_at, s.id), reverse=True)
        self.list.clear()
        for s in shown:
            lines = [customer_line(s)]
            product = " ".join(p for p in (s.customer.product, s.customer.product_version) if p)
            detail = [texts.conversation_status(s.status.value)]
            if s.assignee is not None and self.filter != "mine":
                detail.append(s.assignee.name)
            if product:
                detail.append(product)
            detail.append(texts.relative_time(s.updated_at))
            lines.append(" · ".join(detail))
            if s.unread:
                lines[0] += f"  ({s.unread})"
            item = QListWidgetItem("\n".join(lines))
            item.setData(ID_ROLE, s.id)
            tier = s.customer.tier.value
            if tier in ("vip", "svip"):
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.list.addItem(item)
            if s.id == selected:
                self.list.setCurrentItem(item)
        if not shown and self.state_label.text() == "":
            self.list.addItem(QListWidgetItem(self.tr("Nothing here.")))

    def _activate(self, item: QListWidgetItem) -> None:
        value = item.data(ID_ROLE)
        if value is not None:
            self.conversation_activated.emit(int(value))


class ConversationView(QWidget):
    """One conversation.

    Signals:
        ticket_requested(int): open this ticket (the chat became one).
        conversation_requested(int): open another conversation (customer panel).
        read(int): the agent has seen this conversation up to its newest message.
    """

    ticket_requested = Signal(int)
    conversation_requested = Signal(int)
    read = Signal(int)
    assist_requested = Signal(str, int, str)
    """("conversation", id, "view" | "control"): Request remote assist."""

    def __init__(
        self,
        console: Console,
        live: LiveBridge,
        library: CannedLibrary,
        summary: Any,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("ConversationView")
        self.console = console
        self.live = live
        self.summary = summary
        self.conversation_id: int = summary.id
        self.messages: dict[int, Any] = {}
        self.pending: dict[str, tuple[str, bool, str]] = {}
        """client_id -> (text, internal, state) of messages not acknowledged yet."""
        self.typing_text = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        header = QHBoxLayout()
        self.name_label = QLabel(self)
        self.name_label.setObjectName("PageTitle")
        self.name_label.setTextFormat(Qt.TextFormat.PlainText)
        header.addWidget(self.name_label)
        self.badge = tier_badge(summary.customer.tier.value, self)
        header.addWidget(self.badge)
        header.addStretch(1)
        self.meta_label = QLabel(self)
        self.meta_label.setObjectName("Hint")
        self.meta_label.setTextFormat(Qt.TextFormat.PlainText)
        self.meta_label.setWordWrap(True)
        self.accept_button = QPushButton(self.tr("Accept"), self)
        self.accept_button.setObjectName("AcceptButton")
        self.accept_button.clicked.connect(self.accept)
        header.addWidget(self.accept_button)
        self.transfer_button = QToolButton(self)
        self.transfer_button.setObjectName("TransferButton")
        self.transfer_button.setText(self.tr("Transfer"))
        self.transfer_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.transfer_menu = QMenu(self.transfer_button)
        self.transfer_menu.aboutToShow.connect(self._fill_transfer_menu)
        self.transfer_button.setMenu(self.transfer_menu)
        header.addWidget(self.transfer_button)
        self.assist_button = assist_button(self, self._request_assist)
        header.addWidget(self.assist_button)
        self.ticket_button = QPushButton(self.tr("Turn into ticket"), self)
        self.ticket_button.clicked.connect(self.to_ticket)
        header.addWidget(self.ticket_button)
        self.close_button = QPushButton(self.tr("Close chat"), self)
        self.close_button.clicked.connect(self.close_conversation)
        header.addWidget(self.close_button)
        layout.addLayout(header)
        layout.addWidget(self.meta_label)
        self.error_label = QLabel(self)
        self.error_label.setStyleSheet("color: #b91c1c;")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.error_label)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        left = QSplitter(Qt.Orientation.Vertical, split)
        top = QWidget(left)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.setSpacing(2)
        self.transcript = TimelineBrowser(top)
        self.transcript.attachment_clicked.connect(self._download)
        self.typing_label = QLabel(top)
        self.typing_label.setObjectName("Hint")
        top_layout.addWidget(self.transcript, 1)
        top_layout.addWidget(self.typing_label)
        self.composer = ReplyComposer(console, library, left, kb_key=f"kb-chat-{summary.id}")
        self.composer.send_requested.connect(self._send)
        self.composer.edit.textChanged.connect(self._typing)
        left.addWidget(top)
        left.addWidget(self.composer)
        left.setStretchFactor(0, 3)
        left.setStretchFactor(1, 1)
        left.setSizes([520, 200])
        self.customer_panel = CustomerPanel(console, split, key=f"chat-{summary.id}")
        self.customer_panel.ticket_activated.connect(self.ticket_requested)
        self.customer_panel.conversation_activated.connect(self.conversation_requested)
        self.customer_panel.setMinimumWidth(240)
        split.addWidget(left)
        split.addWidget(self.customer_panel)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        layout.addWidget(split, 1)
        self._typing_timer = QTimer(self)
        self._typing_timer.setSingleShot(True)
        self._typing_timer.setInterval(TYPING_IDLE_MS)
        self._typing_timer.timeout.connect(lambda: self._set_typing(False))
        self._typing_sent = False
        self._waiting_ticket = False
        self.update_summary(summary)

    # -- state ------------------------------------------------------------------

    def update_summary(self, summary: Any) -> None:
        self.summary = summary
        c = summary.customer
        self.name_label.setText(c.name or self.tr("Customer %1").replace("%1", str(c.id)))
        parts = [texts.conversation_status(summary.status.value)]
        if summary.assignee is not None:
            parts.append(self.tr("with %1").replace("%1", summary.assignee.name))
        product = " ".join(p for p in (c.product, c.product_version) if p)
        if product:
            parts.append(product)
        if c.company:
            parts.append(c.company)
        parts.append(self.tr("queue %1").replace("%1", summary.queue))
        self.meta_label.setText(" · ".join(parts))
        status = summary.status.value
        me = self.console.agent.id if self.console.agent else None
        mine = summary.assignee is not None and summary.assignee.id == me
        self.accept_button.setVisible(status == "queued")
        open_ = status != "closed"
        self.transfer_button.setEnabled(open_ and (mine or self.console.role != "agent"))
        self.close_button.setEnabled(open_)
        self.assist_button.setEnabled(open_)
        self.ticket_button.setEnabled(summary.ticket_id is None)
        self.composer.set_enabled_for(open_, self.tr("This chat is closed.") if not open_ else "")
        if summary.ticket_id is not None and self._waiting_ticket:
            self._waiting_ticket = False
            self.ticket_requested.emit(summary.ticket_id)

    def load(self) -> None:
        """History from the service (internal notes included), then the customer."""
        cid = self.conversation_id

        def fetch(api: AgentApi) -> Any:
            from protocol.realtime import MessagePage

            return api.get_model(f"/conversations/{cid}/messages", MessagePage, {"limit": 100})

        self.console.call(
            fetch,
            lambda page: self.add_messages(page.messages),
            self._show_error,
            latest=f"conversation-{cid}",
        )
        self.customer_panel.load(self.summary.customer.id, current_conversation=cid)

    def add_messages(self, messages: Any) -> None:
        changed = False
        for m in messages:
            if m.conversation_id != self.conversation_id or m.seq in self.messages:
                continue
            self.messages[m.seq] = m
            if m.client_id in self.pending:
                del self.pending[m.client_id]
            changed = True
        if changed:
            self.redraw()
            if self.isVisible():
                self.mark_read()

    def mark_read(self) -> None:
        if self.messages:
            self.live.mark_read(self.conversation_id, max(self.messages))
            self.read.emit(self.conversation_id)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.mark_read()

    def acked(self, client_id: str) -> None:
        if client_id in self.pending:
            text, internal, _ = self.pending[client_id]
            self.pending[client_id] = (text, internal, "sent")
            self.redraw()

    def failed(self, client_id: str, message: str) -> bool:
        if client_id not in self.pending:
            return False
        text, internal, _ = self.pending[client_id]
        self.pending[client_id] = (text, internal, "failed")
        self.redraw()
        self._show_message(message)
        return True

    def set_typing_of(self, name: str, typing: bool) -> None:
        self.typing_text = self.tr("%1 is typing…").replace("%1", name) if typing else ""
        self.typing_label.setText(self.typing_text)

    def redraw(self) -> None:
        entries: list[Entry] = []
        for seq in sorted(self.messages):
            m = self.messages[seq]
            kind = m.sender.kind.value
            files = tuple(FileRef(a.id, a.filename, a.size) for a in m.attachments)
            articles = tuple(ArticleRef(a.id, a.title) for a in m.articles)
            if m.internal:
                side, label = "note", self.tr("Internal note")
            elif kind == "system":
                side, label = "system", ""
            else:
                side, label = kind, ""
            entries.append(
                Entry(side, m.sender.name, m.text, m.created_at, files, articles, label=label)
            )
        now = datetime.now(UTC)
        me = self.console.agent.name if self.console.agent else ""
        states = {
            "sending": self.tr("sending…"),
            "sent": self.tr("sent"),
            "failed": self.tr("not sent"),
        }
        for text, internal, state in self.pending.values():
            entries.append(
                Entry(
                    "note" if internal else "agent",
                    me,
                    text,
                    now,
                    label=self.tr("Internal note") if internal else "",
                    state=states.get(state, state),
                )
            )
        html = timeline_html(entries, texts.format_datetime, texts.format_size)
        self.transcript.set_timeline(html, keep_position=True)

    def transcript_text(self) -> str:
        return self.transcript.toPlainText()

    # -- actions -----------------------------------------------------------------

    def _request_assist(self, mode: str) -> None:
        self.assist_requested.emit("conversation", self.conversation_id, mode)

    def accept(self) -> None:
        self.live.accept(self.conversation_id)

    def close_conversation(self) -> None:
        self.live.close_conversation(self.conversation_id)

    def to_ticket(self) -> None:
        self._waiting_ticket = True
        self.live.to_ticket(self.conversation_id)

    def transfer(self, agent_id: int) -> None:
        self.live.transfer(self.conversation_id, agent_id)

    def _fill_transfer_menu(self) -> None:
        self.transfer_menu.clear()
        loading = self.transfer_menu.addAction(self.tr("Loading agents…"))
        loading.setEnabled(False)

        def fetch(api: AgentApi) -> Any:
            from protocol.realtime import PresenceList

            return api.get_model("/agent/presence", PresenceList)

        def done(found: Any) -> None:
            self.transfer_menu.clear()
            me = self.console.agent.id if self.console.agent else None
            candidates = [a for a in found.agents if a.agent_id != me]
            for a in candidates:
                self.console.remember_agent(a.agent_id, a.name)
                action = self.transfer_menu.addAction(
                    f"{a.name} — {texts.presence_label(a.status.value)} ({a.load}/{a.capacity})"
                )
                action.setEnabled(a.status.value == "online" and a.load < a.capacity)
                action.triggered.connect(lambda _=False, i=a.agent_id: self.transfer(i))
            if not candidates:
                none = self.transfer_menu.addAction(self.tr("No other agent"))
                none.setEnabled(False)

        self.console.call(fetch, done, self._show_error)

    def _send(self, text: str, internal: bool, files: list[Path]) -> None:
        cid = self.conversation_id
        if not files:
            self._post(text, internal, [])
            return

        def upload(api: AgentApi) -> list[int]:
            import uuid

            return [api.upload_attachment(p, p.name, uuid.uuid4().hex).id for p in files]

        self.console.call(
            upload,
            lambda ids: self._post(text, internal, ids),
            lambda exc: self.composer.failed(texts.exception_message(exc)),
            serial=True,
        )
        log.debug("uploading %d file(s) for conversation %d", len(files), cid)

    def _post(self, text: str, internal: bool, attachment_ids: list[int]) -> None:
        client_id = self.live.send(self.conversation_id, text, internal, attachment_ids)
        if client_id is None:
            self.composer.failed(self.tr("Live chat is not connected yet."))
            return
        self.pending[client_id] = (text, internal, "sending")
        self.composer.sent()
        self._set_typing(False)
        self.redraw()

    def _typing(self) -> None:
        if not self.composer.internal and self.composer.text().strip():
            if not self._typing_sent:
                self._set_typing(True)
            self._typing_timer.start()

    def _set_typing(self, typing: bool) -> None:
        if typing != self._typing_sent:
            self._typing_sent = typing
            self.live.set_typing(self.conversation_id, typing)

    def _download(self, attachment_id: int) -> None:
        from PySide6.QtWidgets import QFileDialog

        dialog = QFileDialog(self, self.tr("Save attachment"))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        name = next(
            (
                a.filename
                for m in self.messages.values()
                for a in m.attachments
                if a.id == attachment_id
            ),
            f"attachment-{attachment_id}",
        )
        dialog.selectFile(name)
        cid = self.conversation_id
        dialog.fileSelected.connect(
            lambda path: self.save_attachment(cid, attachment_id, Path(path))
        )
        dialog.open()

    def save_attachment(self, conversation_id: int, attachment_id: int, dest: Path) -> None:
        self.console.call(
            lambda api: api.download_conversation_attachment(conversation_id, attachment_id, dest),
            lambda path: self.console.notice.emit(
                "info", self.tr("Saved %1").replace("%1", str(path))
            ),
            self._show_error,
        )

    def _show_error(self, exc: BaseException) -> None:
        self._show_message(texts.exception_message(exc))

    def _show_message(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))


class ChatPage(QWidget):
    """Inbox on the left, the chosen conversation on the right.

    Signals:
        ticket_requested(int): open this ticket.
        conversation_requested(int): show this conversation (from a customer panel).
        assigned_to_me(int): a conversation was just routed (or transferred) to this agent.
    """

    ticket_requested = Signal(int)
    conversation_requested = Signal(int)
    assigned_to_me = Signal(int)
    assist_requested = Signal(str, int, str)

    def __init__(
        self,
        console: Console,
        live: LiveBridge,
        library: CannedLibrary,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("ChatPage")
        self.console = console
        self.live = live
        self.library = library
        self.views: dict[int, ConversationView] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        self.inbox = Inbox(console, split)
        self.inbox.conversation_activated.connect(self.open_conversation)
        self.stack = QStackedWidget(split)
        self.placeholder = QLabel(self.tr("Choose a conversation in the inbox."), self.stack)
        self.placeholder.setObjectName("Hint")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(self.placeholder)
        split.addWidget(self.inbox)
        split.addWidget(self.stack)
        self.inbox.setMinimumWidth(280)
        split.setSizes([300, 900])
        layout.addWidget(split)
        live.received.connect(self.on_event)

    def start(self) -> None:
        if self.console.agent is not None:
            self.inbox.set_role(self.console.role)
        self.inbox.refresh()

    def reload(self) -> None:
        self.inbox.refresh()

    def show_conversation(self, conversation_id: int) -> None:
        """Open a conversation the inbox may not list (e.g. a closed one)."""
        if conversation_id in self.inbox.summaries:
            self.open_conversation(conversation_id)
            return

        def fetch(api: AgentApi) -> Any:
            from protocol.realtime import ConversationSummary

            return api.get_model(f"/conversations/{int(conversation_id)}", ConversationSummary)

        def done(summary: Any) -> None:
            self.inbox.summaries.setdefault(summary.id, summary)
            self.open_conversation(summary.id)

        self.console.call(
            fetch,
            done,
            lambda exc: self.console.notice.emit("warning", texts.exception_message(exc)),
        )

    def open_conversation(self, conversation_id: int) -> ConversationView | None:
        view = self.views.get(conversation_id)
        if view is None:
            summary = self.inbox.summaries.get(conversation_id)
            if summary is None:
                return None
            view = ConversationView(self.console, self.live, self.library, summary, self.stack)
            view.ticket_requested.connect(self.ticket_requested)
            view.read.connect(self.inbox.mark_read)
            view.conversation_requested.connect(self.conversation_requested)
            view.assist_requested.connect(self.assist_requested)
            self.views[conversation_id] = view
            self.stack.addWidget(view)
            view.load()
        self.stack.setCurrentWidget(view)
        return view

    def on_event(self, event: Any) -> None:
        """One live event (GUI thread)."""
        from client.agent.live import AgentMessages, Raw

        name = type(event).__name__
        if name == "ConnectionChanged":
            self._connection(event.state, event.retry_in)
        elif name == "Welcomed":
            self.inbox.set_summaries(list(event.conversations))
            self.inbox.refresh()
        elif isinstance(event, AgentMessages):
            by_conversation: dict[int, list[Any]] = {}
            for m in event.messages:
                by_conversation.setdefault(m.conversation_id, []).append(m)
            for cid, messages in by_conversation.items():
                view = self.views.get(cid)
                if view is not None:
                    view.add_messages(messages)
        elif isinstance(event, Raw):
            self._raw(event.event)

    def _raw(self, event: Any) -> None:
        kind = getattr(event, "type", "")
        if kind == "conversation":
            summary = event.conversation
            before = self.inbox.summaries.get(summary.id)
            self.inbox.update_summary(summary)
            if self._newly_mine(before, summary):
                self.assigned_to_me.emit(summary.id)
            view = self.views.get(summary.id)
            if view is not None:
                view.update_summary(summary)
        elif kind == "typing":
            view = self.views.get(event.conversation_id)
            if view is not None and event.who.kind.value == "customer":
                view.set_typing_of(event.who.name, event.typing)
        elif kind == "ack":
            view = self.views.get(event.conversation_id)
            if view is not None:
                view.acked(event.client_id)
        elif kind == "error":
            handled = False
            if event.client_id:
                for view in self.views.values():
                    handled = view.failed(event.client_id, texts.error_message(event.code.value))
                    if handled:
                        break
            if not handled:
                self.console.notice.emit("warning", texts.error_message(event.code.value))

    def _newly_mine(self, before: Any, summary: Any) -> bool:
        me = self.console.agent.id if self.console.agent else None
        mine = (
            summary.status.value == "assigned"
            and summary.assignee is not None
            and summary.assignee.id == me
        )
        was_mine = (
            before is not None
            and before.status.value == "assigned"
            and before.assignee is not None
            and before.assignee.id == me
        )
        return bool(mine and not was_mine)

    def busy_typing(self) -> bool:
        """Whether the agent is writing in the conversation shown now."""
        view = self.stack.currentWidget()
        return isinstance(view, ConversationView) and bool(view.composer.text().strip())

    def _connection(self, state: str, retry_in: float | None) -> None:
        labels = {
            "online": "",
            "connecting": self.tr("Connecting to live chat…"),
            "offline": self.tr("Live chat is offline; reconnecting…"),
            "signed_out": self.tr("Live chat needs a new sign-in."),
            "stopped": self.tr("Live chat is off."),
        }
        self.inbox.set_state(labels.get(state, state))
