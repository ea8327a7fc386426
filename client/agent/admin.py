"""Administration in the console: the agents (create, disable and enable,
force sign-out, reset password, grants, chat caps), the groups (create,
rename, products, members), the audit log (filters, pages, CSV) and
conversation quality review (rubrics, scoring closed chats).

Each part shows only for the permissions it needs (``agents.manage``,
``groups.manage``, ``audit.read``, ``conversations.score``); the service
checks them again. Every request runs on the worker pool.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDate, QStandardPaths, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from client.agent import texts
from client.agent.session import Console

if TYPE_CHECKING:
    from client.core.agent_api import AgentApi, AuditPage, AuditQuery
    from protocol.admin import Group, PermissionInfo, TeamAgent
    from protocol.realtime import ConversationSummary
    from protocol.reports import QualityScore, Rubric

log = logging.getLogger(__name__)

AUDIT_PAGE = 100


def _table(headers: list[str], parent: QWidget) -> QTableWidget:
    table = QTableWidget(0, len(headers), parent)
    table.setObjectName("QueueTable")
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setShowGrid(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    return table


def _fill(table: QTableWidget, rows: list[list[str]], ids: list[int] | None = None) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            if c == 0 and ids is not None:
                item.setData(Qt.ItemDataRole.UserRole, ids[r])
            table.setItem(r, c, item)


def table_rows(table: QTableWidget) -> list[list[str]]:
    out = []
    for r in range(table.rowCount()):
        row = []
        for c in range(table.columnCount()):
            item = table.item(r, c)
            row.append(item.text() if item is not None else "")
        out.append(row)
    return out


class Panel(QWidget):
    """A part of the administration tab: a state line and a way to call."""

    def __init__(self, console: Console, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.console = console
        self.state_label = QLabel(self)
        self.state_label.setObjectName("AdminState")
        self.state_label.setWordWrap(True)

    def show_state(self, kind: str, text: str) -> None:
        self.state_label.setText(text)
        self.state_label.setProperty("state", kind)
        colour = {"error": "#b91c1c", "loading": "#1d4ed8"}.get(kind, "#047857")
        self.state_label.setStyleSheet(f"color: {colour};")

    def run(
        self,
        fn: Callable[[AgentApi], Any],
        done: Callable[[Any], None],
        *,
        busy: str | None = None,
        latest: str | None = None,
    ) -> None:
        self.show_state("loading", busy if busy is not None else self.tr("Loading…"))

        def failed(exc: BaseException) -> None:
            self.show_state("error", texts.exception_message(exc))

        self.console.call(fn, done, failed, latest=latest)


# --- agents -------------------------------------------------------------------------------


class OneTimePasswordDialog(QDialog):
    """Shows a temporary password once, with a copy button."""

    def __init__(self, who: str, password: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("OneTimePassword")
        self.setWindowTitle(self.tr("One-time password"))
        layout = QVBoxLayout(self)
        note = QLabel(
            self.tr(
                "The temporary password of %1. It is shown only now: give it to them "
                "in person or by phone."
            ).replace("%1", who),
            self,
        )
        note.setWordWrap(True)
        layout.addWidget(note)
        self.field = QLineEdit(password, self)
        self.field.setObjectName("PasswordField")
        self.field.setReadOnly(True)
        layout.addWidget(self.field)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        copy = buttons.addButton(self.tr("Copy"), QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(password))
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)


class AgentDialog(QDialog):
    """Create an agent (e-mail, name, role, groups) or edit one (name, role,
    chat cap)."""

    def __init__(
        self,
        groups: list[Group],
        *,
        is_admin: bool,
        my_groups: set[int],
        agent: TeamAgent | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("AgentDialog")
        self.agent = agent
        self.setWindowTitle(self.tr("New agent") if agent is None else self.tr("Edit agent"))
        form = QFormLayout(self)
        self.email = QLineEdit(self)
        self.email.setObjectName("AgentEmail")
        self.name = QLineEdit(self)
        self.name.setObjectName("AgentName")
        self.role = QComboBox(self)
        self.role.setObjectName("AgentRole")
        for role in ("agent", "supervisor", "admin"):
            self.role.addItem(texts.role_label(role), role)
        self.role.setEnabled(is_admin)
        self.max_chats = QSpinBox(self)
        self.max_chats.setObjectName("MaxChats")
        self.max_chats.setRange(-1, 50)
        self.max_chats.setSpecialValueText(self.tr("Default"))
        self.groups = QListWidget(self)
        self.groups.setObjectName("AgentGroups")
        for g in groups:
            item = QListWidgetItem(g.name, self.groups)
            item.setData(Qt.ItemDataRole.UserRole, g.id)
            allowed = is_admin or g.id in my_groups
            flags = Qt.ItemFlag.ItemIsUserCheckable | (
                Qt.ItemFlag.ItemIsEnabled if allowed else Qt.ItemFlag.NoItemFlags
            )
            item.setFlags(flags)
            item.setCheckState(Qt.CheckState.Unchecked)
        if agent is None:
            form.addRow(self.tr("E-mail"), self.email)
        else:
            self.name.setText(agent.name)
            self.role.setCurrentIndex(max(0, self.role.findData(agent.role.value)))
            self.max_chats.setValue(-1 if agent.max_chats is None else agent.max_chats)
        form.addRow(self.tr("Name"), self.name)
        form.addRow(self.tr("Role"), self.role)
        if agent is None:
            form.addRow(self.tr("Groups"), self.groups)
        else:
            form.addRow(self.tr("Chats at once"), self.max_chats)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def group_ids(self) -> list[int]:
        out = []
        for i in range(self.groups.count()):
            item = self.groups.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(int(item.data(Qt.ItemDataRole.UserRole)))
        return out

    def cap(self) -> int | None:
        value = self.max_chats.value()
        return None if value < 0 else value


class PermissionsDialog(QDialog):
    """Check boxes for every permission; only those the caller may grant
    can be changed."""

    def __init__(
        self,
        agent: TeamAgent,
        catalogue: list[PermissionInfo],
        grantable: Callable[[PermissionInfo], bool],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("PermissionsDialog")
        self.agent = agent
        self.catalogue = catalogue
        self.setWindowTitle(self.tr("Permissions of %1").replace("%1", agent.name))
        layout = QVBoxLayout(self)
        hint = QLabel(
            self.tr("Greyed out: not yours to grant. Role defaults are marked with *."), self
        )
        hint.setObjectName("Hint")
        layout.addWidget(hint)
        self.boxes: dict[str, QCheckBox] = {}
        held = set(agent.permissions)
        for info in catalogue:
            default = agent.role in info.roles
            label = f"{info.name}{' *' if default else ''} — {info.description}"
            box = QCheckBox(label, self)
            box.setObjectName(f"perm:{info.name}")
            box.setChecked(info.name in held)
            box.setEnabled(agent.role.value != "admin" and grantable(info))
            layout.addWidget(box)
            self.boxes[info.name] = box
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def changes(self) -> dict[str, bool | None]:
        """What to send: grant, take away, or back to the role default."""
        out: dict[str, bool | None] = {}
        held = set(self.agent.permissions)
        for info in self.catalogue:
            box = self.boxes[info.name]
            if not box.isEnabled() or box.isChecked() == (info.name in held):
                continue
            default = self.agent.role in info.roles
            out[info.name] = None if box.isChecked() == default else box.isChecked()
        return out


class AgentsPanel(Panel):
    """Every agent the caller manages, and what can be done to them."""

    changed = Signal()

    def __init__(self, console: Console, parent: QWidget | None = None) -> None:
        super().__init__(console, parent)
        self.setObjectName("AgentsPanel")
        self.agents: list[TeamAgent] = []
        self.groups: list[Group] = []
        self.catalogue: list[PermissionInfo] = []
        self.held: set[str] = set()
        self.is_admin = False
        self.my_id: int | None = None
        self.my_groups: set[int] = set()
        self.ask_confirm: Callable[[str], bool] = self._confirm
        self.show_password: Callable[[str, str], None] = self._show_password
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.new_button = QPushButton(self.tr("New agent…"), self)
        self.edit_button = QPushButton(self.tr("Edit…"), self)
        self.perms_button = QPushButton(self.tr("Permissions…"), self)
        self.toggle_button = QPushButton(self.tr("Disable"), self)
        self.toggle_button.setObjectName("ToggleActive")
        self.sign_out_button = QPushButton(self.tr("Force sign-out"), self)
        self.reset_button = QPushButton(self.tr("Reset password"), self)
        refresh = QPushButton(self.tr("Refresh"), self)
        for b in (
            self.new_button,
            self.edit_button,
            self.perms_button,
            self.toggle_button,
            self.sign_out_button,
            self.reset_button,
        ):
            bar.addWidget(b)
        bar.addStretch(1)
        bar.addWidget(refresh)
        layout.addLayout(bar)
        self.table = _table(
            [
                self.tr("Name"),
                self.tr("E-mail"),
                self.tr("Role"),
                self.tr("Groups"),
                self.tr("Active"),
                self.tr("Chat cap"),
            ],
            self,
        )
        self.table.setObjectName("AgentsTable")
        layout.addWidget(self.table, 1)
        layout.addWidget(self.state_label)
        self.new_button.clicked.connect(self.create_agent)
        self.edit_button.clicked.connect(self.edit_agent)
        self.perms_button.clicked.connect(self.edit_permissions)
        self.toggle_button.clicked.connect(self.toggle_active)
        self.sign_out_button.clicked.connect(self.force_sign_out)
        self.reset_button.clicked.connect(self.reset_password)
        refresh.clicked.connect(self.reload)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self._update_buttons()

    def reload(self) -> None:
        def fetch(api: AgentApi) -> Any:
            return api.team_agents(), api.groups(), api.permission_catalogue()

        def done(result: Any) -> None:
            agents, groups, catalogue = result
            self.agents = list(agents.agents)
            self.groups = list(groups.groups)
            self.catalogue = list(catalogue.permissions)
            self.redraw()
            self.show_state("ok", "")

        self.run(fetch, done, latest="admin-agents")

    def redraw(self) -> None:
        chosen = self.selected()
        default = self.tr("default (%1)")
        rows = [
            [
                a.name,
                a.email,
                texts.role_label(a.role.value),
                ", ".join(g.name for g in a.groups),
                self.tr("yes") if a.active else self.tr("disabled"),
                (
                    default.replace("%1", str(a.chat_capacity))
                    if a.max_chats is None
                    else str(a.max_chats)
                ),
            ]
            for a in self.agents
        ]
        _fill(self.table, rows, [a.id for a in self.agents])
        if chosen is not None:
            self.select(chosen.id)
        self._update_buttons()

    def select(self, agent_id: int) -> None:
        for r in range(self.table.rowCount()):
            item = self.table.item(r, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == agent_id:
                self.table.selectRow(r)
                return

    def selected(self) -> TeamAgent | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        agent_id = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return next((a for a in self.agents if a.id == agent_id), None)

    def _update_buttons(self) -> None:
        a = self.selected()
        own = a is not None and a.id == self.my_id
        for b in (self.edit_button, self.perms_button, self.sign_out_button, self.reset_button):
            b.setEnabled(a is not None and not own)
        self.toggle_button.setEnabled(a is not None and not own)
        self.toggle_button.setText(
            self.tr("Enable") if a is not None and not a.active else self.tr("Disable")
        )

    def _replace(self, agent: TeamAgent) -> None:
        self.agents = [agent if a.id == agent.id else a for a in self.agents]
        if all(a.id != agent.id for a in self.agents):
            self.agents.append(agent)
        self.redraw()
        self.select(agent.id)
        self.changed.emit()

    def _confirm(self, text: str) -> bool:
        answer = QMessageBox.question(self, self.tr("Please confirm"), text)
        return answer == QMessageBox.StandardButton.Yes

    def _show_password(self, who: str, password: str) -> None:
        OneTimePasswordDialog(who, password, self).exec()

    def grantable(self, info: PermissionInfo) -> bool:
        if self.is_admin:
            return True
        return info.supervisor_grantable and info.name in self.held

    # -- actions -------------------------------------------------------------------------

    def create_agent(self) -> None:
        dialog = AgentDialog(
            self.groups, is_admin=self.is_admin, my_groups=self.my_groups, parent=self
        )
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.submit_new(
            dialog.email.text().strip(),
            dialog.name.text().strip(),
            str(dialog.role.currentData()),
            dialog.group_ids(),
        )

    def submit_new(self, email: str, name: str, role: str, group_ids: list[int]) -> None:
        from protocol.admin import AgentCreate
        from protocol.models import Role

        try:
            body = AgentCreate(email=email, name=name, role=Role(role), group_ids=group_ids)
        except ValueError:
            self.show_state("error", self.tr("Enter an e-mail address and a name."))
            return

        def done(created: Any) -> None:
            self._replace(created.agent)
            self.show_state("ok", self.tr("%1 was created.").replace("%1", created.agent.email))
            self.show_password(created.agent.email, created.password)

        self.run(lambda api: api.create_agent(body), done, busy=self.tr("Saving…"))

    def edit_agent(self) -> None:
        a = self.selected()
        if a is None:
            return
        dialog = AgentDialog(
            self.groups, is_admin=self.is_admin, my_groups=self.my_groups, agent=a, parent=self
        )
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.submit_edit(
            a, dialog.name.text().strip(), str(dialog.role.currentData()), dialog.cap()
        )

    def submit_edit(self, a: TeamAgent, name: str, role: str, cap: int | None) -> None:
        from protocol.admin import AgentUpdate
        from protocol.models import Role

        fields: dict[str, Any] = {}
        if name and name != a.name:
            fields["name"] = name
        if self.is_admin and role != a.role.value:
            fields["role"] = Role(role)
        if cap != a.max_chats:
            fields["max_chats"] = cap
        if not fields:
            return
        body = AgentUpdate(**fields)
        self.run(lambda api: api.update_agent(a.id, body), self._saved, busy=self.tr("Saving…"))

    def _saved(self, agent: TeamAgent) -> None:
        self._replace(agent)
        self.show_state("ok", self.tr("Saved."))

    def edit_permissions(self) -> None:
        a = self.selected()
        if a is None:
            return
        dialog = PermissionsDialog(a, self.catalogue, self.grantable, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.submit_permissions(a, dialog.changes())

    def submit_permissions(self, a: TeamAgent, changes: dict[str, bool | None]) -> None:
        if not changes:
            return
        self.run(
            lambda api: api.change_permissions(a.id, changes), self._saved, busy=self.tr("Saving…")
        )

    def toggle_active(self) -> None:
        a = self.selected()
        if a is None:
            return
        if a.active:
            text = self.tr(
                "Disable %1? Their sessions end now and their open tickets and chats go "
                "back to the queue."
            ).replace("%1", a.email)
            if not self.ask_confirm(text):
                return

            def disabled(result: Any) -> None:
                self._replace(result.agent)
                self.show_state(
                    "ok",
                    self.tr("%1 is disabled: %2 sessions ended, %3 tickets back in the queue.")
                    .replace("%1", a.email)
                    .replace("%2", str(result.sessions))
                    .replace("%3", str(result.tickets_released)),
                )

            self.run(lambda api: api.disable_agent(a.id), disabled, busy=self.tr("Saving…"))
        else:
            self.run(lambda api: api.enable_agent(a.id), self._saved, busy=self.tr("Saving…"))

    def force_sign_out(self) -> None:
        a = self.selected()
        if a is None or not self.ask_confirm(
            self.tr("End every session of %1 now?").replace("%1", a.email)
        ):
            return

        def done(result: Any) -> None:
            self.show_state(
                "ok",
                self.tr("%1 sessions of %2 ended.")
                .replace("%1", str(result.sessions))
                .replace("%2", a.email),
            )

        self.run(lambda api: api.sign_out_agent(a.id), done, busy=self.tr("Saving…"))

    def reset_password(self) -> None:
        a = self.selected()
        if a is None or not self.ask_confirm(
            self.tr("Give %1 a new one-time password? Their sessions end.").replace("%1", a.email)
        ):
            return

        def done(result: Any) -> None:
            self.show_state("ok", self.tr("The password of %1 was reset.").replace("%1", a.email))
            self.show_password(a.email, result.password)

        self.run(lambda api: api.reset_password(a.id), done, busy=self.tr("Saving…"))


# --- groups --------------------------------------------------------------------------------


class MembersDialog(QDialog):
    def __init__(
        self, group: Group, agents: list[TeamAgent], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("MembersDialog")
        self.setWindowTitle(self.tr("Members of %1").replace("%1", group.name))
        layout = QVBoxLayout(self)
        self.list = QListWidget(self)
        members = set(group.member_ids)
        for a in agents:
            item = QListWidgetItem(f"{a.name} <{a.email}>", self.list)
            item.setData(Qt.ItemDataRole.UserRole, a.id)
            item.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            item.setCheckState(
                Qt.CheckState.Checked if a.id in members else Qt.CheckState.Unchecked
            )
        layout.addWidget(self.list)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def checked(self) -> set[int]:
        out = set()
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                out.add(int(item.data(Qt.ItemDataRole.UserRole)))
        return out


class GroupsPanel(Panel):
    """Groups with their products and members (``groups.manage`` edits)."""

    def __init__(self, console: Console, parent: QWidget | None = None) -> None:
        super().__init__(console, parent)
        self.setObjectName("GroupsPanel")
        self.groups: list[Group] = []
        self.agents: list[TeamAgent] = []
        self.ask_text: Callable[[str, str, str], str | None] = self._ask_text
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.new_button = QPushButton(self.tr("New group…"), self)
        self.rename_button = QPushButton(self.tr("Rename…"), self)
        self.products_button = QPushButton(self.tr("Products…"), self)
        self.members_button = QPushButton(self.tr("Members…"), self)
        refresh = QPushButton(self.tr("Refresh"), self)
        for b in (self.new_button, self.rename_button, self.products_button, self.members_button):
            bar.addWidget(b)
        bar.addStretch(1)
        bar.addWidget(refresh)
        layout.addLayout(bar)
        self.table = _table(
            [self.tr("Group"), self.tr("Kind"), self.tr("Products"), self.tr("Members")], self
        )
        self.table.setObjectName("GroupsTable")
        layout.addWidget(self.table, 1)
        layout.addWidget(self.state_label)
        self.new_button.clicked.connect(self.new_group)
        self.rename_button.clicked.connect(self.rename_group)
        self.products_button.clicked.connect(self.edit_products)
        self.members_button.clicked.connect(self.edit_members)
        refresh.clicked.connect(self.reload)

    def reload(self) -> None:
        def fetch(api: AgentApi) -> Any:
            from client.core.api import ApiError
            from protocol.admin import TeamAgentList

            try:
                agents = api.team_agents()
            except ApiError as exc:
                if exc.code != "forbidden":
                    raise
                agents = TeamAgentList(agents=[])  # groups.manage without agents.manage
            return api.groups(), agents

        def done(result: Any) -> None:
            groups, agents = result
            self.groups = list(groups.groups)
            self.agents = list(agents.agents)
            self.redraw()
            self.show_state("ok", "")

        self.run(fetch, done, latest="admin-groups")

    def redraw(self) -> None:
        names = {a.id: a.name for a in self.agents}
        rows = [
            [
                g.name,
                g.kind,
                ", ".join(g.products),
                ", ".join(names.get(m, f"#{m}") for m in g.member_ids),
            ]
            for g in self.groups
        ]
        _fill(self.table, rows, [g.id for g in self.groups])

    def selected(self) -> Group | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        gid = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return next((g for g in self.groups if g.id == gid), None)

    def _ask_text(self, title: str, label: str, value: str) -> str | None:
        text, ok = QInputDialog.getText(self, title, label, QLineEdit.EchoMode.Normal, value)
        return text if ok else None

    def _replace(self, group: Group) -> None:
        self.groups = [group if g.id == group.id else g for g in self.groups]
        if all(g.id != group.id for g in self.groups):
            self.groups.append(group)
        self.redraw()
        self.show_state("ok", self.tr("Saved."))

    def new_group(self) -> None:
        name = self.ask_text(self.tr("New group"), self.tr("Name"), "")
        if not name or not name.strip():
            return
        from protocol.admin import GroupIn

        body = GroupIn(name=name.strip())
        self.run(lambda api: api.create_group(body), self._replace, busy=self.tr("Saving…"))

    def rename_group(self) -> None:
        g = self.selected()
        if g is None:
            return
        name = self.ask_text(self.tr("Rename group"), self.tr("Name"), g.name)
        if not name or not name.strip() or name.strip() == g.name:
            return
        from protocol.admin import GroupUpdate

        body = GroupUpdate(name=name.strip())
        self.run(lambda api: api.update_group(g.id, body), self._replace, busy=self.tr("Saving…"))

    def edit_products(self) -> None:
        g = self.selected()
        if g is None:
            return
        text = self.ask_text(
            self.tr("Products of %1").replace("%1", g.name),
            self.tr("Products, separated by commas"),
            ", ".join(g.products),
        )
        if text is None:
            return
        from protocol.admin import GroupUpdate

        body = GroupUpdate(products=[p.strip() for p in text.split(",") if p.strip()])
        self.run(lambda api: api.update_group(g.id, body), self._replace, busy=self.tr("Saving…"))

    def edit_members(self) -> None:
        g = self.selected()
        if g is None:
            return
        dialog = MembersDialog(g, self.agents, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.set_members(g, dialog.checked())

    def set_members(self, g: Group, members: set[int]) -> None:
        before = set(g.member_ids)

        def apply(api: AgentApi) -> Group:
            result = g
            for aid in sorted(members - before):
                result = api.set_group_member(g.id, aid, True)
            for aid in sorted(before - members):
                result = api.set_group_member(g.id, aid, False)
            return result

        self.run(apply, self._replace, busy=self.tr("Saving…"))


# --- the audit log ----------------------------------------------------------------------------


class AuditPanel(Panel):
    """The append-only log: filter, page through, export."""

    loaded = Signal()
    exported = Signal(str)

    def __init__(self, console: Console, parent: QWidget | None = None) -> None:
        super().__init__(console, parent)
        self.setObjectName("AuditPanel")
        self.page = 1
        self.total = 0
        self.can_export = False
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.action_edit = QLineEdit(self)
        self.action_edit.setObjectName("AuditAction")
        self.action_edit.setPlaceholderText(self.tr("Action (e.g. agent.)"))
        self.actor_edit = QLineEdit(self)
        self.actor_edit.setObjectName("AuditActor")
        self.actor_edit.setPlaceholderText(self.tr("Actor"))
        self.outcome_combo = QComboBox(self)
        for value, label in (
            ("", self.tr("Any outcome")),
            ("ok", self.tr("Done")),
            ("denied", self.tr("Denied")),
            ("failed", self.tr("Failed")),
        ):
            self.outcome_combo.addItem(label, value)
        self.since_check = QCheckBox(self.tr("From"), self)
        self.since_edit = QDateEdit(self)
        self.until_check = QCheckBox(self.tr("To"), self)
        self.until_edit = QDateEdit(self)
        today = QDate.currentDate()
        for edit, day in ((self.since_edit, today.addDays(-30)), (self.until_edit, today)):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setDate(day)
        search = QPushButton(self.tr("Search"), self)
        search.setObjectName("AuditSearch")
        self.export_button = QPushButton(self.tr("Export CSV…"), self)
        self.export_button.hide()
        for w in (
            self.action_edit,
            self.actor_edit,
            self.outcome_combo,
            self.since_check,
            self.since_edit,
            self.until_check,
            self.until_edit,
            search,
        ):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.export_button)
        layout.addLayout(bar)
        self.table = _table(
            [
                self.tr("Time"),
                self.tr("Actor"),
                self.tr("Action"),
                self.tr("Target"),
                self.tr("Outcome"),
                self.tr("From"),
                self.tr("Details"),
            ],
            self,
        )
        self.table.setObjectName("AuditTable")
        layout.addWidget(self.table, 1)
        pager = QHBoxLayout()
        pager.addWidget(self.state_label, 1)
        self.prev_button = QPushButton(self.tr("‹ Newer"), self)
        self.page_label = QLabel(self)
        self.page_label.setObjectName("AuditPageLabel")
        self.next_button = QPushButton(self.tr("Older ›"), self)
        for part in (self.prev_button, self.page_label, self.next_button):
            pager.addWidget(part)
        layout.addLayout(pager)
        search.clicked.connect(lambda: self.reload(1))
        self.action_edit.returnPressed.connect(lambda: self.reload(1))
        self.actor_edit.returnPressed.connect(lambda: self.reload(1))
        self.prev_button.clicked.connect(lambda: self.reload(self.page - 1))
        self.next_button.clicked.connect(lambda: self.reload(self.page + 1))
        self.export_button.clicked.connect(lambda: self.export())
        self._update_pager()

    def set_permissions(self, held: set[str]) -> None:
        self.can_export = "export" in held
        self.export_button.setVisible(self.can_export)

    def query(self) -> AuditQuery:
        from client.core.agent_api import AuditQuery

        def midnight(edit: QDateEdit, days: int = 0) -> datetime:
            d = edit.date().addDays(days).toPython()
            assert isinstance(d, date)
            return datetime.combine(d, time()).astimezone(UTC)

        return AuditQuery(
            action=self.action_edit.text(),
            actor=self.actor_edit.text(),
            outcome=str(self.outcome_combo.currentData() or ""),
            since=midnight(self.since_edit) if self.since_check.isChecked() else None,
            until=midnight(self.until_edit, 1) if self.until_check.isChecked() else None,
        )

    def reload(self, page: int | None = None) -> None:
        page = max(1, page if page is not None else self.page)
        q = self.query()

        def done(result: AuditPage) -> None:
            self.page, self.total = result.page, result.total
            self.show_page(result)
            self.show_state("ok", "")
            self.loaded.emit()

        self.run(lambda api: api.audit_log(q, page=page, per_page=AUDIT_PAGE), done, latest="audit")

    def show_page(self, result: AuditPage) -> None:
        rows = [
            [
                texts.format_datetime(e.at),
                e.actor_name or e.actor_type,
                e.action,
                e.target,
                e.outcome,
                e.source,
                ", ".join(f"{k}={v}" for k, v in sorted(e.detail.items())),
            ]
            for e in result.entries
        ]
        _fill(self.table, rows, [e.id for e in result.entries])
        self._update_pager()

    def pages(self) -> int:
        return max(1, -(-self.total // AUDIT_PAGE))

    def _update_pager(self) -> None:
        self.page_label.setText(
            self.tr("Page %1 of %2 · %3 entries")
            .replace("%1", str(self.page))
            .replace("%2", str(self.pages()))
            .replace("%3", str(self.total))
        )
        self.prev_button.setEnabled(self.page > 1)
        self.next_button.setEnabled(self.page < self.pages())

    def export(self, dest: Path | None = None) -> None:
        q = self.query()
        if dest is None:
            folder = QStandardPaths.writableLocation(
                QStandardPaths.StandardLocation.DocumentsLocation
            )
            chosen, _ = QFileDialog.getSaveFileName(
                self,
                self.tr("Save CSV"),
                str(Path(folder) / "helpbridge-audit.csv"),
                self.tr("CSV files (*.csv)"),
            )
            if not chosen:
                return
            dest = Path(chosen)
        target = dest

        def done(path: Path) -> None:
            self.show_state("ok", self.tr("Saved %1").replace("%1", str(path)))
            self.exported.emit(str(path))

        self.run(lambda api: api.download_audit_log(q, target), done, busy=self.tr("Exporting…"))


# --- quality review --------------------------------------------------------------------------


class ScoreDialog(QDialog):
    """Scores per criterion of a rubric, and a comment."""

    def __init__(self, rubric: Rubric, conversation: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ScoreDialog")
        self.rubric = rubric
        self.setWindowTitle(self.tr("Score %1").replace("%1", conversation))
        form = QFormLayout(self)
        self.spins: dict[str, QSpinBox] = {}
        for c in rubric.criteria:
            spin = QSpinBox(self)
            spin.setRange(0, c.max_score)
            spin.setSuffix(f" / {c.max_score}")
            form.addRow(c.name, spin)
            self.spins[c.name] = spin
        self.comment = QPlainTextEdit(self)
        self.comment.setMaximumHeight(90)
        form.addRow(self.tr("Comment"), self.comment)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def scores(self) -> dict[str, int]:
        return {name: spin.value() for name, spin in self.spins.items()}


class QualityPanel(Panel):
    """Rubrics (left: list, right: editor) and scoring closed conversations."""

    def __init__(self, console: Console, parent: QWidget | None = None) -> None:
        super().__init__(console, parent)
        self.setObjectName("QualityPanel")
        self.rubrics: list[Rubric] = []
        self.closed: list[ConversationSummary] = []
        self.scores: list[QualityScore] = []
        self.ask_scores: Callable[[Rubric, str], tuple[dict[str, int], str] | None] = (
            self._ask_scores
        )
        layout = QVBoxLayout(self)
        split = QSplitter(self)
        left = QWidget(split)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel(self.tr("Rubrics"), left))
        self.rubric_list = QListWidget(left)
        self.rubric_list.setObjectName("RubricList")
        left_layout.addWidget(self.rubric_list, 1)
        self.new_rubric_button = QPushButton(self.tr("New rubric"), left)
        left_layout.addWidget(self.new_rubric_button)
        right = QWidget(split)
        form = QFormLayout(right)
        self.rubric_name = QLineEdit(right)
        self.rubric_name.setObjectName("RubricName")
        self.rubric_description = QLineEdit(right)
        self.rubric_active = QCheckBox(self.tr("In use"), right)
        self.rubric_active.setChecked(True)
        self.criteria = QTableWidget(0, 3, right)
        self.criteria.setObjectName("CriteriaTable")
        self.criteria.setHorizontalHeaderLabels(
            [self.tr("Criterion"), self.tr("Weight"), self.tr("Highest score")]
        )
        crit_header = self.criteria.horizontalHeader()
        crit_header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        crit_header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.criteria.verticalHeader().hide()
        crit_buttons = QHBoxLayout()
        self.add_criterion_button = QPushButton(self.tr("Add criterion"), right)
        self.remove_criterion_button = QPushButton(self.tr("Remove criterion"), right)
        self.save_rubric_button = QPushButton(self.tr("Save rubric"), right)
        self.save_rubric_button.setObjectName("SaveRubric")
        for b in (self.add_criterion_button, self.remove_criterion_button):
            crit_buttons.addWidget(b)
        crit_buttons.addStretch(1)
        crit_buttons.addWidget(self.save_rubric_button)
        form.addRow(self.tr("Name"), self.rubric_name)
        form.addRow(self.tr("Description"), self.rubric_description)
        form.addRow("", self.rubric_active)
        form.addRow(self.tr("Criteria"), self.criteria)
        form.addRow(crit_buttons)
        self.used_label = QLabel(right)
        self.used_label.setObjectName("Hint")
        form.addRow(self.used_label)
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([220, 600])
        layout.addWidget(split, 1)

        score_bar = QHBoxLayout()
        score_bar.addWidget(QLabel(self.tr("Closed chat:"), self))
        self.conversation_combo = QComboBox(self)
        self.conversation_combo.setObjectName("ClosedConversations")
        self.conversation_combo.setMinimumContentsLength(30)
        score_bar.addWidget(self.conversation_combo, 1)
        self.score_rubric_combo = QComboBox(self)
        self.score_rubric_combo.setObjectName("ScoreRubric")
        score_bar.addWidget(self.score_rubric_combo)
        self.score_button = QPushButton(self.tr("Score…"), self)
        self.score_button.setObjectName("ScoreButton")
        score_bar.addWidget(self.score_button)
        refresh = QPushButton(self.tr("Refresh"), self)
        score_bar.addWidget(refresh)
        layout.addLayout(score_bar)
        self.scores_table = _table(
            [
                self.tr("Chat"),
                self.tr("Agent"),
                self.tr("Rubric"),
                self.tr("Score"),
                self.tr("Reviewer"),
                self.tr("Comment"),
            ],
            self,
        )
        self.scores_table.setObjectName("ScoresTable")
        layout.addWidget(self.scores_table, 1)
        layout.addWidget(self.state_label)
        self._editing: int | None = None
        self.rubric_list.currentRowChanged.connect(self._show_rubric)
        self.new_rubric_button.clicked.connect(self.new_rubric)
        self.add_criterion_button.clicked.connect(lambda: self.add_criterion("", 1.0, 5))
        self.remove_criterion_button.clicked.connect(
            lambda: self.criteria.removeRow(self.criteria.currentRow())
        )
        self.save_rubric_button.clicked.connect(self.save_rubric)
        self.score_button.clicked.connect(self.score_selected)
        refresh.clicked.connect(self.reload)
        self.new_rubric()

    def reload(self) -> None:
        def fetch(api: AgentApi) -> Any:
            from protocol.realtime import ConversationList

            rubrics = api.rubrics(include_inactive=True)
            closed = api.get_model(
                "/conversations", ConversationList, {"filter": "all", "status": "closed"}
            )
            return rubrics, closed, api.quality_scores(per_page=50)

        def done(result: Any) -> None:
            rubrics, closed, scores = result
            self.rubrics = list(rubrics.rubrics)
            self.closed = [c for c in closed.conversations if c.assignee is not None]
            self.scores = list(scores.scores)
            self.redraw()
            self.show_state("ok", "")

        self.run(fetch, done, latest="quality")

    def redraw(self) -> None:
        editing = self._editing
        self.rubric_list.blockSignals(True)
        self.rubric_list.clear()
        for r in self.rubrics:
            label = r.name if r.active else self.tr("%1 (not in use)").replace("%1", r.name)
            item = QListWidgetItem(label, self.rubric_list)
            item.setData(Qt.ItemDataRole.UserRole, r.id)
        self.rubric_list.blockSignals(False)
        self.score_rubric_combo.clear()
        for r in self.rubrics:
            if r.active:
                self.score_rubric_combo.addItem(r.name, r.id)
        self.conversation_combo.clear()
        for c in self.closed:
            assert c.assignee is not None
            who = c.customer.name or f"#{c.customer.id}"
            when = texts.format_datetime(c.closed_at or c.updated_at)
            self.conversation_combo.addItem(f"#{c.id} · {who} · {c.assignee.name} · {when}", c.id)
        self.score_button.setEnabled(bool(self.closed) and self.score_rubric_combo.count() > 0)
        rows = [
            [
                f"#{s.conversation_id}",
                s.agent_name,
                s.rubric_name,
                f"{s.percent:.0f}",
                s.reviewer_name,
                s.comment,
            ]
            for s in self.scores
        ]
        _fill(self.scores_table, rows, [s.id for s in self.scores])
        if editing is not None:
            for i, r in enumerate(self.rubrics):
                if r.id == editing:
                    self.rubric_list.setCurrentRow(i)

    # -- rubric editor -----------------------------------------------------------------------

    def add_criterion(self, name: str, weight: float, max_score: int) -> None:
        row = self.criteria.rowCount()
        self.criteria.insertRow(row)
        self.criteria.setItem(row, 0, QTableWidgetItem(name))
        w = QDoubleSpinBox(self.criteria)
        w.setRange(0.1, 100)
        w.setValue(weight)
        self.criteria.setCellWidget(row, 1, w)
        m = QSpinBox(self.criteria)
        m.setRange(1, 100)
        m.setValue(max_score)
        self.criteria.setCellWidget(row, 2, m)

    def new_rubric(self) -> None:
        self._editing = None
        self.rubric_list.clearSelection()
        self.rubric_name.clear()
        self.rubric_description.clear()
        self.rubric_active.setChecked(True)
        self.criteria.setRowCount(0)
        self.add_criterion(self.tr("Greeting"), 1.0, 5)
        self.add_criterion(self.tr("Solution"), 2.0, 5)
        self.add_criterion(self.tr("Tone"), 1.0, 5)
        self.criteria.setEnabled(True)
        self.used_label.setText("")

    def _show_rubric(self, row: int) -> None:
        if not 0 <= row < len(self.rubrics):
            return
        r = self.rubrics[row]
        self._editing = r.id
        self.rubric_name.setText(r.name)
        self.rubric_description.setText(r.description)
        self.rubric_active.setChecked(r.active)
        self.criteria.setRowCount(0)
        for c in r.criteria:
            self.add_criterion(c.name, c.weight, c.max_score)
        # Criteria are fixed once something was scored with the rubric.
        self.criteria.setEnabled(r.scored == 0)
        self.add_criterion_button.setEnabled(r.scored == 0)
        self.remove_criterion_button.setEnabled(r.scored == 0)
        self.used_label.setText(
            self.tr("Used for %1 scores: its criteria stay as they are.").replace(
                "%1", str(r.scored)
            )
            if r.scored
            else ""
        )

    def rubric_body(self) -> Any:
        from protocol.reports import Criterion, RubricIn

        criteria = []
        for row in range(self.criteria.rowCount()):
            item = self.criteria.item(row, 0)
            name = item.text().strip() if item is not None else ""
            if not name:
                continue
            w = self.criteria.cellWidget(row, 1)
            m = self.criteria.cellWidget(row, 2)
            assert isinstance(w, QDoubleSpinBox) and isinstance(m, QSpinBox)
            criteria.append(Criterion(name=name, weight=w.value(), max_score=m.value()))
        return RubricIn(
            name=self.rubric_name.text().strip(),
            description=self.rubric_description.text().strip(),
            criteria=criteria,
            active=self.rubric_active.isChecked(),
        )

    def save_rubric(self) -> None:
        try:
            body = self.rubric_body()
        except ValueError:
            self.show_state(
                "error", self.tr("A rubric needs a name and criteria with different names.")
            )
            return
        rubric_id = self._editing

        def done(saved: Rubric) -> None:
            self._editing = saved.id
            self.rubrics = [r for r in self.rubrics if r.id != saved.id] + [saved]
            self.rubrics.sort(key=lambda r: (r.name.casefold(), r.id))
            self.redraw()
            self.show_state("ok", self.tr("Saved."))

        self.run(lambda api: api.save_rubric(body, rubric_id), done, busy=self.tr("Saving…"))

    # -- scoring -----------------------------------------------------------------------------

    def _ask_scores(self, rubric: Rubric, conversation: str) -> tuple[dict[str, int], str] | None:
        dialog = ScoreDialog(rubric, conversation, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.scores(), dialog.comment.toPlainText().strip()

    def score_selected(self) -> None:
        cid = self.conversation_combo.currentData()
        rid = self.score_rubric_combo.currentData()
        rubric = next((r for r in self.rubrics if r.id == rid), None)
        if cid is None or rubric is None:
            return
        answer = self.ask_scores(rubric, f"#{cid}")
        if answer is None:
            return
        scores, comment = answer
        from protocol.reports import CriterionScore, ScoreIn

        body = ScoreIn(
            rubric_id=rubric.id,
            scores=[CriterionScore(criterion=k, score=v) for k, v in scores.items()],
            comment=comment,
        )

        def done(score: QualityScore) -> None:
            self.scores = [score, *[s for s in self.scores if s.id != score.id]]
            self.redraw()
            self.show_state(
                "ok",
                self.tr("Chat #%1 scored %2.")
                .replace("%1", str(score.conversation_id))
                .replace("%2", f"{score.percent:.0f}"),
            )

        self.run(lambda api: api.score_conversation(int(cid), body), done, busy=self.tr("Saving…"))


# --- the tab ------------------------------------------------------------------------------------


class AdminPage(QTabWidget):
    """The "Administration" tab: the parts the signed-in agent may use."""

    def __init__(self, console: Console, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AdminPage")
        self.console = console
        self.agents = AgentsPanel(console, self)
        self.groups = GroupsPanel(console, self)
        self.audit = AuditPanel(console, self)
        self.quality = QualityPanel(console, self)
        self.parts: list[tuple[QWidget, str, str]] = [
            (self.agents, self.tr("Agents"), "agents.manage"),
            (self.groups, self.tr("Groups"), "groups.manage"),
            (self.audit, self.tr("Audit log"), "audit.read"),
            (self.quality, self.tr("Quality review"), "conversations.score"),
        ]
        self.held: set[str] = set()
        self.agents.changed.connect(self.groups.reload)

    def set_access(self, held: set[str], *, is_admin: bool, me: int, groups: set[int]) -> bool:
        """Show the parts ``held`` allows; False when there is none."""
        self.held = set(held)
        self.agents.held = self.held
        self.agents.is_admin = is_admin
        self.agents.my_id = me
        self.agents.my_groups = set(groups)
        self.audit.set_permissions(self.held)
        self.clear()
        for widget, title, needs in self.parts:
            if needs in self.held or is_admin:
                self.addTab(widget, title)
            else:
                widget.hide()
        return self.count() > 0

    def start(self) -> None:
        for i in range(self.count()):
            widget = self.widget(i)
            reload = getattr(widget, "reload", None)
            if callable(reload):
                reload()

    def reload(self) -> None:
        widget = self.currentWidget()
        reload = getattr(widget, "reload", None)
        if callable(reload):
            reload()
