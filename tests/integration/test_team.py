"""The team against a real service: creating agents, disabling them (sessions
end at once, tickets go back to the queue, hooks run), forced sign-out,
password resets, chat caps, groups for the chat router, the CLI."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import requests

from protocol.models import Role
from server import cli, models, team
from tests.integration.test_tickets_api import customer
from tests.servers import LiveServer

PASSWORD = "correct horse battery"


class Api:
    def __init__(self, live: LiveServer, token: str) -> None:
        self.base = f"{live.url}/api/v1"
        self.h = {"Authorization": f"Bearer {token}"}

    def __call__(self, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(method, self.base + path, json=body, headers=self.h, timeout=10)


def _signed_in(live: LiveServer, email: str, role: Role = Role.agent) -> tuple[Api, int]:
    live.create_agent(email, role=role)
    with live.db.session() as s:
        agent_id = s.query(models.Agent).filter_by(email=email).one().id
    return Api(live, live.agent_token(email)), agent_id


def _audit(live: LiveServer, action: str) -> list[models.AuditEntry]:
    with live.db.session() as s:
        return (
            s.query(models.AuditEntry).filter_by(action=action).order_by(models.AuditEntry.id).all()
        )


def test_disabling_an_agent_ends_sessions_releases_tickets_and_runs_hooks(
    fresh_server: LiveServer,
) -> None:
    live = fresh_server
    admin, _ = _signed_in(live, "root@example.com", Role.admin)
    ann, ann_id = _signed_in(live, "ann@example.com")
    ann_laptop = Api(live, live.agent_token("ann@example.com"))  # a second session
    cust = customer(live, "c-dis")
    open_ids = [cust.create(subject=f"open {i}").json()["id"] for i in range(2)]
    done_id = cust.create(subject="done").json()["id"]
    for t in [*open_ids, done_id]:
        assert admin("POST", f"/agent/tickets/{t}/assign", {"agent_id": ann_id}).status_code == 200
    assert ann("POST", f"/agent/tickets/{done_id}/status", {"status": "resolved"}).ok

    seen: list[tuple[int, str, bool]] = []

    def hook(event: team.AgentEvent) -> None:
        # The change has committed: a fresh transaction sees the agent disabled.
        agent = event.db.get(models.Agent, event.agent_id)
        assert agent is not None
        seen.append((event.agent_id, event.actor, agent.active))
        assert event.state is not None and hasattr(event.state, "chat")

    def broken(event: team.AgentEvent) -> None:
        raise RuntimeError("a hook that fails")

    team.on_agent_disabled.extend([broken, hook])
    try:
        r = admin("POST", f"/team/agents/{ann_id}/disable")
    finally:
        team.on_agent_disabled.remove(broken)
        team.on_agent_disabled.remove(hook)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["sessions"] == 2 and body["tickets_released"] == 2
    assert body["agent"]["active"] is False and body["agent"]["chat_capacity"] == 0
    assert seen == [(ann_id, "root@example.com", False)]  # after the failing one too

    # Both sessions are refused at once; signing in again too.
    for api in (ann, ann_laptop):
        r = api("GET", "/agent/tickets")
        assert r.status_code == 401 and r.json()["error"]["code"] == "session_revoked"
    r = requests.post(
        f"{live.url}/api/v1/agent/login",
        json={"email": "ann@example.com", "password": PASSWORD},
        timeout=5,
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "account_disabled"
    # Open tickets are back in the queue, with the change on their timeline;
    # the resolved one keeps its history.
    for t in open_ids:
        ticket = admin("GET", f"/agent/tickets/{t}").json()
        assert ticket["assignee"] is None
        assert ticket["events"][-1]["kind"] == "assigned"
    assert admin("GET", f"/agent/tickets/{done_id}").json()["assignee"]["id"] == ann_id
    entry = _audit(live, "agent.disable")[-1]
    assert entry.target == "ann@example.com" and entry.actor_name == "root@example.com"
    assert entry.detail == {"sessions": "2", "tickets_released": "2"}

    # Enabled again, they sign in as before.
    assert admin("POST", f"/team/agents/{ann_id}/enable").json()["active"] is True
    assert live.agent_token("ann@example.com")
    # The last administrator cannot be disabled, nor can one disable oneself.
    with live.db.session() as s:
        root_id = s.query(models.Agent).filter_by(email="root@example.com").one().id
    r = admin("POST", f"/team/agents/{root_id}/disable")
    assert r.status_code == 409


def test_sign_out_password_reset_and_own_password(fresh_server: LiveServer) -> None:
    live = fresh_server
    admin, _ = _signed_in(live, "root@example.com", Role.admin)
    bob, bob_id = _signed_in(live, "bob@example.com")

    assert admin("POST", f"/team/agents/{bob_id}/sign-out").json() == {"sessions": 1}
    assert bob("GET", "/team/me").status_code == 401
    bob = Api(live, live.agent_token("bob@example.com"))  # the password still works
    assert bob("GET", "/team/me").json()["agent"]["email"] == "bob@example.com"

    r = admin("POST", f"/team/agents/{bob_id}/password-reset")
    assert r.status_code == 200
    temporary = r.json()["password"]
    assert len(temporary) >= 16
    assert bob("GET", "/team/me").status_code == 401
    with pytest.raises(requests.HTTPError):
        live.agent_token("bob@example.com", PASSWORD)
    bob = Api(live, live.agent_token("bob@example.com", temporary))
    # Bob picks his own; the wrong current password is refused.
    r = bob("POST", "/team/me/password", {"current_password": "nope", "new_password": "x" * 12})
    assert r.status_code == 403
    r = bob(
        "POST", "/team/me/password", {"current_password": temporary, "new_password": "b0b's own pw"}
    )
    assert r.status_code == 204
    assert live.agent_token("bob@example.com", "b0b's own pw")

    actions = [e.action for e in _audit(live, "agent.sign_out")]
    actions += [e.action for e in _audit(live, "agent.password_reset")]
    actions += [e.action for e in _audit(live, "agent.password_change")]
    assert actions == ["agent.sign_out", "agent.password_reset", "agent.password_change"]
    with live.db.session() as s:
        details = " ".join(str(e.detail) for e in s.query(models.AuditEntry).all())
    assert temporary not in details and "b0b's own pw" not in details


def test_supervisors_manage_their_groups_agents_and_chat_caps(fresh_server: LiveServer) -> None:
    live = fresh_server
    admin, admin_id = _signed_in(live, "root@example.com", Role.admin)
    sup, sup_id = _signed_in(live, "sue@example.com", Role.supervisor)
    _, other_sup_id = _signed_in(live, "sam@example.com", Role.supervisor)
    group = admin(
        "POST", "/team/groups", {"name": "EMEA", "kind": "region", "products": ["PhotoTool"]}
    ).json()
    assert admin("PUT", f"/team/groups/{group['id']}/members/{sup_id}").ok
    assert admin("PUT", f"/team/groups/{group['id']}/members/{other_sup_id}").ok
    # Supervisors create plain agents into their own groups, with a one-time password.
    r = sup(
        "POST",
        "/team/agents",
        {"email": "Nia@Example.com", "name": "Nia", "group_ids": [group["id"]]},
    )
    assert r.status_code == 201, r.text
    nia = r.json()
    assert (
        nia["agent"]["email"] == "nia@example.com" and nia["agent"]["groups"][0]["name"] == "EMEA"
    )
    assert live.agent_token("nia@example.com", nia["password"])
    nia_id = nia["agent"]["id"]
    assert sup("POST", "/team/agents", {"email": "x@example.com", "name": "X"}).status_code == 403
    r = sup(
        "POST",
        "/team/agents",
        {"email": "y@example.com", "name": "Y", "role": "supervisor", "group_ids": [group["id"]]},
    )
    assert r.status_code == 403
    r = admin("POST", "/team/agents", {"email": "nia@example.com", "name": "Again"})
    assert r.status_code == 409

    # Chat caps: the router's functions follow what the supervisor sets.
    r = sup("PATCH", f"/team/agents/{nia_id}", {"max_chats": 2})
    assert r.status_code == 200 and r.json()["max_chats"] == 2
    with live.db.session() as s:
        assert team.chat_capacity(s, nia_id) == 2
        assert team.agent_groups(s, nia_id) == [group["id"]]
        assert team.groups_for_product(s, "PhotoTool") == [group["id"]]
        assert team.groups_for_product(s, "LedgerPro") == []
    assert sup("PATCH", f"/team/agents/{nia_id}", {"max_chats": 51}).status_code == 422
    # Tickets only: without chats.take the router gives her nothing.
    r = sup(
        "PUT",
        f"/team/agents/{nia_id}/permissions",
        {"changes": [{"permission": "chats.take", "allowed": False}]},
    )
    assert r.status_code == 200 and "chats.take" not in r.json()["permissions"]
    assert r.json()["chat_capacity"] == 0
    assert sup("PATCH", f"/team/agents/{nia_id}", {"max_chats": None}).json()["max_chats"] is None
    with live.db.session() as s:
        assert team.chat_capacity(s, nia_id) == 0
        assert team.max_chats(s, nia_id) is None

    # Not over supervisors, administrators, nor role changes.
    assert sup("POST", f"/team/agents/{other_sup_id}/sign-out").status_code == 403
    assert sup("POST", f"/team/agents/{admin_id}/disable").status_code == 403
    assert sup("PATCH", f"/team/agents/{nia_id}", {"role": "supervisor"}).status_code == 403
    assert sup("GET", f"/team/agents/{admin_id}").status_code == 403
    # Groups are the administrators'.
    assert sup("POST", "/team/groups", {"name": "Mine"}).status_code == 403
    assert sup("PUT", f"/team/groups/{group['id']}/members/{sup_id}").status_code == 403
    # Role changes are audited; an agent sees their own effective access.
    r = admin("PATCH", f"/team/agents/{nia_id}", {"role": "supervisor"})
    assert r.json()["role"] == "supervisor" and "agents.manage" in r.json()["permissions"]
    entry = _audit(live, "agent.role")[-1]
    assert entry.detail == {"role_from": "agent", "role_to": "supervisor"}
    names = {e.action for e in _audit(live, "agent.max_chats")}
    assert names == {"agent.max_chats"}
    assert [e.target for e in _audit(live, "group.member.add")][-1] == "nia@example.com"


def test_cli_manages_agents_groups_and_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ["--data-dir", str(tmp_path)]

    def run(*args: str, stdin: str = "") -> str:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = cli.main([*args, *data])
        out, err = capsys.readouterr()
        assert code == 0, err
        return out

    run(
        "create-agent",
        "--email",
        "op@example.com",
        "--name",
        "Op",
        "--password-stdin",
        stdin="long enough secret\n",
    )
    run("group", "add", "--name", "Photo", "--product", "PhotoTool")
    run("group", "add-member", "--name", "Photo", "--email", "op@example.com")
    assert "op@example.com" in run("group", "list")
    run("agent", "revoke", "--email", "op@example.com", "--permission", "chats.take")
    run("agent", "max-chats", "--email", "op@example.com", "--max-chats", "3")
    out = run("agent", "reset-password", "--email", "op@example.com")
    temporary = out.strip().splitlines()[-1]
    run(
        "agent",
        "reset-password",
        "--email",
        "op@example.com",
        "--password-stdin",
        stdin="temp pass 123\n",
    )
    out = run("agent", "disable", "--email", "op@example.com")
    assert "disabled op@example.com" in out
    listing = run("agent", "list")
    assert "disabled" in listing and "chats 0" in listing and "chats.take" not in listing
    token = run("api-token", "create", "--name", "CRM", "--scope", "customers.write").split()[-1]
    assert token.startswith("hbt_")
    assert "active" in run("api-token", "list")
    run("api-token", "revoke", "--id", "1")
    assert "revoked" in run("api-token", "list")
    # Mistakes are told, not tracebacks.
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert cli.main(["agent", "disable", "--email", "nobody@example.com", *data]) == 2
    assert "no agent nobody@example.com" in capsys.readouterr().err
    assert (
        cli.main(["agent", "grant", "--email", "op@example.com", "--permission", "fly", *data]) == 2
    )
    assert "unknown permission fly" in capsys.readouterr().err

    from server.db import Database, sqlite_url

    db = Database(sqlite_url(tmp_path))
    try:
        with db.session() as s:
            rows = s.query(models.AuditEntry).order_by(models.AuditEntry.id).all()
            actions = [e.action for e in rows]
            assert {e.actor_type for e in rows} == {"cli"}
            text = " ".join(str(e.detail) for e in rows)
            agent = s.query(models.Agent).filter_by(email="op@example.com").one()
            assert not agent.active
    finally:
        db.dispose()
    assert actions == [
        "agent.create",
        "group.create",
        "group.member.add",
        "permission.revoke",
        "agent.max_chats",
        "agent.password_reset",
        "agent.password_reset",
        "agent.disable",
        "settings.api_token.create",
        "settings.api_token.revoke",
    ]
    assert temporary not in text and "temp pass 123" not in text and token not in text
