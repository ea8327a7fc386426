"""The console's Administration tab against a real service: creating an
agent (the one-time password shown once), disabling and enabling, forced
sign-out, password reset, grants limited to what the caller may grant, chat
caps, groups (create, rename, products, members), the audit log (filters,
pages, CSV) and quality review (a rubric, scoring a closed chat)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from protocol.models import Role
from server import models
from tests.integration.test_agent_console import (
    PASSWORD,
    ConsoleHarness,
    harness,  # noqa: F401  (fixture)
    memory_keyring,  # noqa: F401  (fixture)
    open_console,
)
from tests.integration.test_chat_realtime import customer, online_agent, product, start_chat
from tests.integration.test_chat_support import Peer, hub_of, run
from tests.servers import LiveServer

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot


def _console(
    made: list[ConsoleHarness], qtbot: QtBot, live: LiveServer, tmp_path: Path, email: str
) -> ConsoleHarness:
    h = open_console(made, qtbot, live, tmp_path)
    h.sign_in(email)
    w = h.window
    qtbot.waitUntil(lambda: w.permissions != set(), timeout=10000)
    return h


def _agent(live: LiveServer, email: str) -> models.Agent:
    with live.db.session() as s:
        a = s.query(models.Agent).filter_by(email=email).one()
        s.expunge(a)
        return a


def test_administrator_manages_agents_groups_and_reads_the_audit_log(
    qtbot: QtBot,
    tmp_path: Path,
    harness: list[ConsoleHarness],  # noqa: F811
    fresh_server: LiveServer,
) -> None:
    live = fresh_server
    live.create_agent("root@example.com", PASSWORD, Role.admin)
    live.create_agent("amy@example.com", PASSWORD, Role.agent)
    h = _console(harness, qtbot, live, tmp_path, "root@example.com")
    w = h.window
    assert w.tabs.isTabVisible(w.admin_index)
    page = w.admin_page
    titles = [page.tabText(i) for i in range(page.count())]
    assert titles == ["Agents", "Groups", "Audit log", "Quality review"]
    agents = page.agents
    qtbot.waitUntil(lambda: agents.table.rowCount() == 2, timeout=10000)
    shown: list[tuple[str, str]] = []
    agents.show_password = lambda who, pw: shown.append((who, pw))
    agents.ask_confirm = lambda text: True

    # Create: the one-time password works for signing in.
    agents.submit_new("new@example.com", "Nia New", "agent", [])
    qtbot.waitUntil(lambda: bool(shown), timeout=10000)
    who, password = shown.pop()
    assert who == "new@example.com" and len(password) >= 12
    r = requests.post(
        f"{live.url}/api/v1/agent/login",
        json={"email": "new@example.com", "password": password},
        timeout=10,
    )
    assert r.status_code == 200
    nia = _agent(live, "new@example.com")
    assert "Nia New" in [row[0] for row in _rows(agents)]

    # Chat cap and grants.
    target = next(a for a in agents.agents if a.id == nia.id)
    agents.submit_edit(target, "Nia N.", "agent", 2)
    qtbot.waitUntil(
        lambda: any(a.name == "Nia N." and a.max_chats == 2 for a in agents.agents),
        timeout=10000,
    )
    target = next(a for a in agents.agents if a.id == nia.id)
    agents.submit_permissions(target, {"chats.take": False, "export": True})
    qtbot.waitUntil(
        lambda: any(
            a.id == nia.id and "export" in a.permissions and "chats.take" not in a.permissions
            for a in agents.agents
        ),
        timeout=10000,
    )
    assert next(a for a in agents.agents if a.id == nia.id).chat_capacity == 0

    # Disable (sessions end), enable, force sign-out, reset password.
    agents.select(nia.id)
    assert agents.toggle_button.text() == "Disable"
    agents.toggle_active()
    qtbot.waitUntil(lambda: not _agent(live, "new@example.com").active, timeout=10000)
    qtbot.waitUntil(lambda: agents.toggle_button.text() == "Enable", timeout=10000)
    assert "disabled" in agents.state_label.text()
    agents.toggle_active()
    qtbot.waitUntil(lambda: _agent(live, "new@example.com").active, timeout=10000)
    nia_token = live.agent_token("new@example.com", password)
    agents.select(nia.id)
    agents.force_sign_out()
    qtbot.waitUntil(lambda: "ended" in agents.state_label.text(), timeout=10000)
    r = requests.get(
        f"{live.url}/api/v1/agent/tickets",
        headers={"Authorization": f"Bearer {nia_token}"},
        timeout=10,
    )
    assert r.status_code == 401
    agents.select(nia.id)
    agents.reset_password()
    qtbot.waitUntil(lambda: bool(shown), timeout=10000)
    _, fresh = shown.pop()
    assert fresh != password
    live.agent_token("new@example.com", fresh)  # raises unless it works

    # Groups: create, rename, products, members.
    groups = page.groups
    groups.reload()
    groups.ask_text = lambda title, label, value: "Photo"
    groups.new_group()
    qtbot.waitUntil(lambda: [g.name for g in groups.groups] == ["Photo"], timeout=10000)
    groups.table.selectRow(0)
    groups.ask_text = lambda title, label, value: "PhotoTool"
    groups.rename_group()
    qtbot.waitUntil(lambda: groups.groups[0].name == "PhotoTool", timeout=10000)
    groups.table.selectRow(0)
    groups.ask_text = lambda title, label, value: "PhotoTool, PhotoTool Pro"
    groups.edit_products()
    qtbot.waitUntil(
        lambda: groups.groups[0].products == ["PhotoTool", "PhotoTool Pro"], timeout=10000
    )
    amy = _agent(live, "amy@example.com")
    groups.set_members(groups.groups[0], {nia.id, amy.id})
    qtbot.waitUntil(lambda: set(groups.groups[0].member_ids) == {nia.id, amy.id}, timeout=10000)
    assert "Nia N." in table_text(groups)

    # Audit log: what was just done, filtered, paged, exported.
    audit = page.audit
    audit.action_edit.setText("agent.")
    with qtbot.waitSignal(audit.loaded, timeout=10000):
        audit.reload(1)
    actions = {row[2] for row in _rows(audit)}
    assert {"agent.create", "agent.disable", "agent.enable", "agent.sign_out"} <= actions
    assert {"agent.password_reset", "agent.max_chats"} <= actions
    assert all(a.startswith("agent.") for a in actions)
    assert audit.export_button.isVisibleTo(audit)
    dest = tmp_path / "audit.csv"
    with qtbot.waitSignal(audit.exported, timeout=10000):
        audit.export(dest)
    with dest.open(encoding="utf-8-sig", newline="") as f:
        exported = {row["action"] for row in csv.DictReader(f)}
    assert exported == actions  # the same filter, every page
    # Paging: 100 to a page.
    with live.db.session() as s:
        from server import audit as audit_log

        for i in range(120):
            audit_log.record(s, "settings.test", actor_type="cli", actor_name=f"op{i}")
    audit.action_edit.setText("settings.test")
    with qtbot.waitSignal(audit.loaded, timeout=10000):
        audit.reload(1)
    assert audit.table.rowCount() == 100 and audit.total == 120
    assert audit.next_button.isEnabled() and not audit.prev_button.isEnabled()
    with qtbot.waitSignal(audit.loaded, timeout=10000):
        audit.next_button.click()
    assert audit.page == 2 and audit.table.rowCount() == 20
    assert "2" in audit.page_label.text()


def _rows(panel: object) -> list[list[str]]:
    from client.agent.admin import table_rows

    return table_rows(panel.table)  # type: ignore[attr-defined]


def table_text(panel: object) -> str:
    return " ".join(" ".join(row) for row in _rows(panel))


def test_supervisor_grants_only_what_they_may(
    qtbot: QtBot,
    tmp_path: Path,
    harness: list[ConsoleHarness],  # noqa: F811
    fresh_server: LiveServer,
) -> None:
    from client.agent.admin import PermissionsDialog

    live = fresh_server
    live.create_agent("root@example.com", PASSWORD, Role.admin)
    live.create_agent("sue@example.com", PASSWORD, Role.supervisor)
    live.create_agent("amy@example.com", PASSWORD, Role.agent)
    root_h = {"Authorization": f"Bearer {live.agent_token('root@example.com')}"}
    g = requests.post(
        f"{live.url}/api/v1/team/groups", json={"name": "Team A"}, headers=root_h, timeout=10
    ).json()
    for email in ("sue@example.com", "amy@example.com"):
        r = requests.put(
            f"{live.url}/api/v1/team/groups/{g['id']}/members/{_agent(live, email).id}",
            headers=root_h,
            timeout=10,
        )
        assert r.status_code == 200
    h = _console(harness, qtbot, live, tmp_path, "sue@example.com")
    page = h.window.admin_page
    # Supervisors: agents and quality review; no groups, no audit log.
    assert [page.tabText(i) for i in range(page.count())] == ["Agents", "Quality review"]
    agents = page.agents
    qtbot.waitUntil(lambda: agents.table.rowCount() == 1 and bool(agents.catalogue), timeout=10000)
    amy = agents.agents[0]
    dialog = PermissionsDialog(amy, agents.catalogue, agents.grantable, page)
    qtbot.addWidget(dialog)
    assert dialog.boxes["chats.take"].isEnabled()
    assert not dialog.boxes["export"].isEnabled()
    assert not dialog.boxes["audit.read"].isEnabled()
    dialog.boxes["chats.take"].setChecked(False)
    assert dialog.changes() == {"chats.take": False}
    dialog.boxes["chats.take"].setChecked(True)
    assert dialog.changes() == {}
    # The service refuses what the dialog would not offer; the panel says so.
    agents.submit_permissions(amy, {"export": True})
    qtbot.waitUntil(lambda: agents.state_label.property("state") == "error", timeout=10000)
    assert "export" not in _agent_permissions(live, root_h, amy.id)


def _agent_permissions(live: LiveServer, h: dict[str, str], agent_id: int) -> list[str]:
    r = requests.get(f"{live.url}/api/v1/team/agents/{agent_id}", headers=h, timeout=10)
    assert r.status_code == 200
    perms: list[str] = r.json()["permissions"]
    return perms


def test_rubric_and_scoring_a_closed_chat(
    qtbot: QtBot,
    tmp_path: Path,
    harness: list[ConsoleHarness],  # noqa: F811
    fresh_server: LiveServer,
) -> None:
    live = fresh_server
    hub_of(live).offline_grace = 0.0
    live.create_agent("lead@example.com", PASSWORD, Role.supervisor)
    prod = product()

    async def closed_chat() -> int:
        agent = await online_agent(live, prod, "zed")
        c = await Peer.connect(live.url, customer(live, prod))
        cid = await start_chat(c, "My licence key is refused")
        await c.send(type="handoff", conversation_id=cid)
        await agent.expect("conversation", conversation=lambda s: s["status"] == "assigned")
        await agent.send(type="close", conversation_id=cid)
        await c.expect("conversation", conversation=lambda s: s["status"] == "closed")
        await agent.close()
        await c.close()
        return cid

    cid = run(closed_chat())
    h = _console(harness, qtbot, live, tmp_path, "lead@example.com")
    quality = h.window.admin_page.quality
    qtbot.waitUntil(lambda: quality.conversation_combo.count() == 1, timeout=10000)
    assert quality.conversation_combo.currentData() == cid
    assert not quality.score_button.isEnabled()  # no rubric yet
    quality.rubric_name.setText("Chat basics")
    quality.save_rubric()
    qtbot.waitUntil(lambda: [r.name for r in quality.rubrics] == ["Chat basics"], timeout=10000)
    rubric = quality.rubrics[0]
    assert [(c.name, c.weight, c.max_score) for c in rubric.criteria] == [
        ("Greeting", 1.0, 5),
        ("Solution", 2.0, 5),
        ("Tone", 1.0, 5),
    ]
    assert quality.score_button.isEnabled()
    quality.ask_scores = lambda r, label: ({"Greeting": 5, "Solution": 4, "Tone": 3}, "Polite")
    quality.score_selected()
    qtbot.waitUntil(lambda: quality.scores_table.rowCount() == 1, timeout=10000)
    row = _rows(type("P", (), {"table": quality.scores_table})())[0]
    # (5/5*1 + 4/5*2 + 3/5*1) / 4 = 80 %
    assert row[0] == f"#{cid}" and row[3] == "80" and row[5] == "Polite"
    # Used rubrics keep their criteria: the editor says so and locks them.
    quality.reload()
    qtbot.waitUntil(lambda: bool(quality.rubrics) and quality.rubrics[0].scored == 1, timeout=10000)
    quality.rubric_list.setCurrentRow(0)
    assert not quality.criteria.isEnabled() and "1" in quality.used_label.text()
    # The score shows in the agent's report.
    r = requests.get(
        f"{live.url}/api/v1/reports/dashboard",
        headers={"Authorization": f"Bearer {live.agent_token('lead@example.com')}"},
        timeout=10,
    )
    zed = [a for a in r.json()["agents"] if a["quality_count"]]
    assert zed and zed[0]["quality_average"] == 80.0
