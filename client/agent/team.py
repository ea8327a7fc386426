"""The supervisors' board: every agent's presence and chat load, and the
waiting queues. Loaded from ``/agent/presence`` and ``/conversations``,
kept live by presence and conversation events, refreshed every 30 s."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from client.agent import texts
from client.agent.live import LiveBridge, Raw
from client.agent.session import Console

if TYPE_CHECKING:
    from client.core.agent_api import AgentApi

REFRESH_MS = 30_000
STATUS_COLOURS = {"online": "#047857", "away": "#b45309", "offline": "#6b7280"}


class TeamPage(QWidget):
    """Agents (status, chats / capacity) and queues (waiting chats)."""

    def __init__(self, console: Console, live: LiveBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TeamPage")
        self.console = console
        self.agents: dict[int, Any] = {}
        self.waiting: dict[int, Any] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        top = QHBoxLayout()
        title = QLabel(self.tr("Agents"), self)
        title.setObjectName("PageTitle")
        top.addWidget(title)
        top.addStretch(1)
        self.summary_label = QLabel(self)
        self.summary_label.setObjectName("Hint")
        top.addWidget(self.summary_label)
        refresh = QPushButton(self.tr("Refresh"), self)
        refresh.clicked.connect(self.reload)
        top.addWidget(refresh)
        layout.addLayout(top)
        self.agent_table = self._table(
            [self.tr("Agent"), self.tr("Status"), self.tr("Chats"), self.tr("Capacity")]
        )
        layout.addWidget(self.agent_table, 2)
        queues_title = QLabel(self.tr("Queues"), self)
        queues_title.setObjectName("PageTitle")
        layout.addWidget(queues_title)
        self.queue_table = self._table([self.tr("Queue"), self.tr("Waiting chats")])
        layout.addWidget(self.queue_table, 1)
        self.error_label = QLabel(self)
        self.error_label.setStyleSheet("color: #b91c1c;")
        self.error_label.hide()
        layout.addWidget(self.error_label)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.reload)
        live.received.connect(self.on_event)

    def _table(self, headers: list[str]) -> QTableWidget:
        table = QTableWidget(0, len(headers), self)
        table.setObjectName("QueueTable")
        table.setHorizontalHeaderLabels(headers)
        table.verticalHeader().hide()
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        table.setShowGrid(False)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        return table

    def start(self) -> None:
        self.reload()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def reload(self) -> None:
        def fetch(api: AgentApi) -> Any:
            from protocol.realtime import ConversationList, PresenceList

            presence = api.get_model("/agent/presence", PresenceList)
            waiting = api.get_model("/conversations", ConversationList, {"filter": "waiting"})
            return presence, waiting

        def done(result: Any) -> None:
            presence, waiting = result
            self.error_label.hide()
            self.agents = {a.agent_id: a for a in presence.agents}
            for a in presence.agents:
                self.console.remember_agent(a.agent_id, a.name)
            self.waiting = {c.id: c for c in waiting.conversations}
            self.redraw()

        def failed(exc: BaseException) -> None:
            self.error_label.setText(texts.exception_message(exc))
            self.error_label.show()

        self.console.call(fetch, done, failed, latest="team")

    def on_event(self, event: Any) -> None:
        if not isinstance(event, Raw):
            return
        e = event.event
        kind = getattr(e, "type", "")
        if kind == "presence":
            known = self.agents.get(e.agent_id)
            if known is not None:
                self.agents[e.agent_id] = known.model_copy(
                    update={"status": e.status, "load": e.load, "capacity": e.capacity}
                )
            else:
                self.reload()
                return
            self.redraw()
        elif kind == "conversation":
            c = e.conversation
            if c.status.value == "queued":
                self.waiting[c.id] = c
            else:
                self.waiting.pop(c.id, None)
            self.redraw()

    def redraw(self) -> None:
        agents = sorted(self.agents.values(), key=lambda a: (a.status.value != "online", a.name))
        self.agent_table.setRowCount(len(agents))
        for row, a in enumerate(agents):
            status = a.status.value
            cells = [a.name, texts.presence_label(status), str(a.load), str(a.capacity)]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 1:
                    item.setForeground(QBrush(QColor(STATUS_COLOURS.get(status, "#111827"))))
                if column == 2 and a.load >= a.capacity > 0:
                    item.setForeground(QBrush(QColor("#b91c1c")))
                item.setTextAlignment(
                    Qt.AlignmentFlag.AlignVCenter
                    | (Qt.AlignmentFlag.AlignLeft if column < 2 else Qt.AlignmentFlag.AlignRight)
                )
                self.agent_table.setItem(row, column, item)
        queues = Counter(c.queue for c in self.waiting.values())
        self.queue_table.setRowCount(len(queues))
        for row, (queue, count) in enumerate(sorted(queues.items())):
            self.queue_table.setItem(row, 0, QTableWidgetItem(queue))
            self.queue_table.setItem(row, 1, QTableWidgetItem(str(count)))
        online = sum(1 for a in self.agents.values() if a.status.value == "online")
        self.summary_label.setText(
            self.tr("%1 online · %2 waiting")
            .replace("%1", str(online))
            .replace("%2", str(len(self.waiting)))
        )

    def agent_rows(self) -> list[list[str]]:
        rows = []
        for r in range(self.agent_table.rowCount()):
            row = []
            for c in range(self.agent_table.columnCount()):
                item = self.agent_table.item(r, c)
                row.append(item.text() if item is not None else "")
            rows.append(row)
        return rows
