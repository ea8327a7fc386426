"""Permissions on every agent route, role defaults and grants, and the data
scope of supervisors limited to their groups, against a real service."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastapi.routing
import pytest
import requests
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from protocol.models import Role
from server import models, permissions
from server.app import create_app
from server.auth import Principal
from server.errors import ApiProblem
from server.permissions import Access, PermissionCheck, require
from tests.integration.test_tickets_api import Client, customer, key
from tests.servers import LiveServer, start_live_server

GUARDED = ("/api/v1/agent", "/api/v1/admin", "/api/v1/team", "/api/v1/reports")
PUBLIC = {("POST", "/api/v1/agent/login")}  # signing in needs no session
TOKEN_ROUTES = "/api/v1/integration"  # API tokens, not sessions: test_api_tokens.py
# Routes that would check roles themselves (none left); they would be held
# to 401/403 for strangers and customers here, and to the full table as soon
# as they declare a Permission.
PENDING: set[tuple[str, str]] = set()
PENDING_PREFIXES: tuple[str, ...] = ()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_live_server(tmp_path_factory.mktemp("perms"), seed_kb=False)
    yield server
    server.stop()


def _checks(dependant: Dependant) -> list[PermissionCheck]:
    found = [dependant.call] if isinstance(dependant.call, PermissionCheck) else []
    for sub in dependant.dependencies:
        found += _checks(sub)
    return found


def _routes(live: LiveServer) -> list[tuple[str, str, list[PermissionCheck]]]:
    app = create_app(live.settings, database=live.db)
    # FastAPI keeps included routers as such; this walks into them, with
    # each route's full path.
    out = []
    for route in fastapi.routing.iter_route_contexts(app.routes):
        if not isinstance(route.route, APIRoute):
            continue
        assert route.path is not None and route.methods is not None
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            out.append((method, route.path, _checks(route.dependant)))
    assert len(out) > 40
    return out


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def _agent_with(live: LiveServer, email: str, role: Role, changes: dict[str, bool]) -> str:
    live.create_agent(email, role=role)
    with live.db.session() as s:
        a = s.query(models.Agent).filter_by(email=email).one()
        for name, allowed in changes.items():
            s.add(models.AgentGrant(agent_id=a.id, permission=name, allowed=allowed))
    return live.agent_token(email)


def test_every_agent_route_refuses_strangers_customers_and_agents_lacking_its_permission(
    live: LiveServer,
) -> None:
    customer_h = customer(live, "perm-cust").h
    lacking: dict[str, dict[str, str]] = {}

    def without(permission: str) -> dict[str, str]:
        # A supervisor granted everything but ``permission``.
        if permission not in lacking:
            changes = {p: True for p in permissions.PERMISSIONS}
            changes[permission] = False
            email = f"no-{permission.replace('.', '-')}@example.com"
            token = _agent_with(live, email, Role.supervisor, changes)
            lacking[permission] = {"Authorization": f"Bearer {token}"}
        return lacking[permission]

    checked = 0
    unguarded = []
    for method, path, checks in _routes(live):
        if not path.startswith((*GUARDED, TOKEN_ROUTES)) or (method, path) in PUBLIC:
            continue
        url = live.url + _concrete(path)

        def call(headers: dict[str, str] | None, m: str = method, u: str = url) -> Any:
            return requests.request(m, u, headers=headers or {}, timeout=10)

        r = call(None)
        assert r.status_code == 401, (method, path, r.status_code, r.text)
        r = call(customer_h)
        assert r.status_code == 403, (method, path, r.status_code, r.text)
        assert r.json()["error"]["code"] == "forbidden"
        if path.startswith(TOKEN_ROUTES):
            continue
        if not checks:
            if (method, path) in PENDING or path.startswith(PENDING_PREFIXES):
                continue
            unguarded.append(f"{method} {path}")
            continue
        for check in checks:
            for name in check.permissions:
                r = call(without(name))
                assert r.status_code == 403, (method, path, name, r.status_code, r.text)
                assert name in r.json()["error"]["message"]
                checked += 1
    assert not unguarded, f"routes without a Permission check: {unguarded}"
    assert checked >= 20  # the table did walk the routes

    # Refusals of agents are in the audit log.
    with live.db.session() as s:
        denied = (
            s.query(models.AuditEntry)
            .filter(models.AuditEntry.outcome == "denied")
            .filter(models.AuditEntry.actor_name == "no-audit-read@example.com")
            .all()
        )
    assert denied and all(e.detail["needs"].startswith("audit.read") for e in denied)


def test_require_refuses_nobody_customers_and_missing_permissions() -> None:
    agent_access = Access(1, Role.agent, permissions.ROLE_DEFAULTS[Role.agent], frozenset({7}))
    with pytest.raises(ApiProblem) as exc:
        require(None, "tickets.handle")
    assert exc.value.status == 401
    fake_session = models.AuthSession(subject_type="customer", subject_id=1)
    with pytest.raises(ApiProblem) as exc:
        require(Principal(fake_session, customer=models.Customer(id=1)), "tickets.handle")
    assert exc.value.status == 403
    assert require(agent_access, "tickets.handle") is agent_access
    with pytest.raises(ApiProblem) as exc:
        require(agent_access, "export")
    assert exc.value.status == 403 and "export" in exc.value.message
    with pytest.raises(ValueError, match="unknown permission"):
        require(agent_access, "tickets.delete")
    # Group scope: a .group permission in one's own group only; .all anywhere.
    sup = Access(2, Role.supervisor, frozenset({"tickets.read.group"}), frozenset({7}))
    require(sup, "tickets.read.group", scope_group_id=7)
    with pytest.raises(ApiProblem):
        require(sup, "tickets.read.group", scope_group_id=8)
    wide = Access(3, Role.supervisor, frozenset({"tickets.read.all"}), frozenset())
    require(wide, "tickets.read.group", scope_group_id=8)
    admin = Access(4, Role.admin, frozenset(), frozenset())
    require(admin, "agents.manage", scope_group_id=99)


def test_role_defaults_and_grants_are_applied_and_audited(live: LiveServer) -> None:
    url = f"{live.url}/api/v1"
    root = _agent_with(live, "grant-root@example.com", Role.admin, {})
    sup = _agent_with(live, "grant-sup@example.com", Role.supervisor, {})
    admin_h = {"Authorization": f"Bearer {root}"}
    sup_h = {"Authorization": f"Bearer {sup}"}
    rule = {
        "rules": [
            {"tier": "vip", "priority": "P2", "first_response_minutes": 7, "resolution_minutes": 70}
        ]
    }
    me = requests.get(f"{url}/team/me", headers=sup_h, timeout=5).json()
    assert "settings.change" not in me["permissions"] and "agents.manage" in me["permissions"]
    assert requests.put(f"{url}/agent/sla", json=rule, headers=sup_h, timeout=5).status_code == 403

    with live.db.session() as s:
        sup_id = s.query(models.Agent).filter_by(email="grant-sup@example.com").one().id
    r = requests.put(
        f"{url}/team/agents/{sup_id}/permissions",
        json={"changes": [{"permission": "settings.change", "allowed": True}]},
        headers=admin_h,
        timeout=5,
    )
    assert r.status_code == 200, r.text
    assert "settings.change" in r.json()["permissions"]
    assert r.json()["grants"] == [{"permission": "settings.change", "allowed": True}]
    # The grant holds from the supervisor's next request on.
    assert requests.put(f"{url}/agent/sla", json=rule, headers=sup_h, timeout=5).status_code == 200

    # A supervisor cannot widen their own powers, nor grant beyond the agent set.
    r = requests.put(
        f"{url}/team/agents/{sup_id}/permissions",
        json={"changes": [{"permission": "export", "allowed": True}]},
        headers=sup_h,
        timeout=5,
    )
    assert r.status_code == 403
    # Unknown permissions are refused by name.
    r = requests.put(
        f"{url}/team/agents/{sup_id}/permissions",
        json={"changes": [{"permission": "everything", "allowed": True}]},
        headers=admin_h,
        timeout=5,
    )
    assert r.status_code == 422 and "everything" in r.json()["error"]["message"]
    # Back to the role default.
    r = requests.put(
        f"{url}/team/agents/{sup_id}/permissions",
        json={"changes": [{"permission": "settings.change", "allowed": None}]},
        headers=admin_h,
        timeout=5,
    )
    assert "settings.change" not in r.json()["permissions"] and r.json()["grants"] == []
    assert requests.put(f"{url}/agent/sla", json=rule, headers=sup_h, timeout=5).status_code == 403

    log = requests.get(
        f"{url}/admin/audit", params={"action": "permission."}, headers=admin_h, timeout=5
    ).json()["entries"]
    log = [e for e in log if e["action"] != "permission.denied"]
    seen = [(e["action"], e["target"], e["detail"]["permission"]) for e in log]
    assert ("permission.grant", "grant-sup@example.com", "settings.change") in seen
    assert ("permission.reset", "grant-sup@example.com", "settings.change") in seen
    assert all(e["actor_name"] == "grant-root@example.com" for e in log)
    # The catalogue lists every permission with its default roles.
    cat = requests.get(f"{url}/team/permissions", headers=sup_h, timeout=5).json()
    by_name = {p["name"]: p for p in cat["permissions"]}
    assert set(by_name) == set(permissions.PERMISSIONS)
    assert by_name["chats.take"]["roles"] == ["agent", "supervisor", "admin"]
    assert by_name["export"]["roles"] == ["admin"]


def _ticket(c: Client, subject: str) -> int:
    r = c.create(subject=subject)
    assert r.status_code == 201, r.text
    ticket_id: int = r.json()["id"]
    return ticket_id


def test_supervisor_limited_to_groups_reads_only_their_groups_data(
    tmp_path: Path,
) -> None:
    live = start_live_server(tmp_path / "svc", seed_kb=False)
    try:
        _group_scope(live)
    finally:
        live.stop()


def _group_scope(live: LiveServer) -> None:
    url = f"{live.url}/api/v1"
    admin_h = {"Authorization": f"Bearer {_agent_with(live, 'g-root@example.com', Role.admin, {})}"}
    sup_h = {
        "Authorization": "Bearer "
        + _agent_with(
            live,
            "g-sup@example.com",
            Role.supervisor,
            {"tickets.read.all": False, "tickets.read.group": True},
        )
    }
    ann_h = {"Authorization": f"Bearer {_agent_with(live, 'g-ann@example.com', Role.agent, {})}"}
    bob_h = {"Authorization": f"Bearer {_agent_with(live, 'g-bob@example.com', Role.agent, {})}"}
    ids = {}
    with live.db.session() as s:
        for a in s.query(models.Agent).all():
            ids[a.email.split("@")[0]] = a.id

    def post(path: str, body: Any = None, method: str = "POST") -> Any:
        r = requests.request(method, url + path, json=body, headers=admin_h, timeout=5)
        assert r.status_code in (200, 201), r.text
        return r.json()

    photo = post("/team/groups", {"name": "Photo", "products": ["PhotoTool"]})
    ledger = post("/team/groups", {"name": "Ledger", "kind": "product", "products": ["LedgerPro"]})
    post(f"/team/groups/{photo['id']}/members/{ids['g-sup']}", method="PUT")
    post(f"/team/groups/{photo['id']}/members/{ids['g-ann']}", method="PUT")
    g = post(f"/team/groups/{ledger['id']}/members/{ids['g-bob']}", method="PUT")
    assert g["products"] == ["LedgerPro"] and g["member_ids"] == [ids["g-bob"]]

    photo_cust = customer(live, "cust-photo", product="PhotoTool")
    ledger_cust = customer(live, "cust-ledger", product="LedgerPro")
    t_photo_queue = _ticket(photo_cust, "Photo, unassigned")
    t_ledger_queue = _ticket(ledger_cust, "Ledger, unassigned")
    t_ledger_ann = _ticket(ledger_cust, "Ledger, with Ann")
    t_photo_bob = _ticket(photo_cust, "Photo, with Bob")
    t_ledger_bob = _ticket(ledger_cust, "Ledger secret, with Bob")
    for t, who in ((t_ledger_ann, "g-ann"), (t_photo_bob, "g-bob"), (t_ledger_bob, "g-bob")):
        post(f"/agent/tickets/{t}/assign", {"agent_id": ids[who]})

    def visible(h: dict[str, str]) -> set[int]:
        r = requests.get(f"{url}/agent/tickets", headers=h, timeout=5)
        assert r.status_code == 200, r.text
        return {t["id"] for t in r.json()["tickets"]}

    # The group: its members' tickets and its products' customers' tickets.
    assert visible(sup_h) == {t_photo_queue, t_ledger_ann, t_photo_bob}
    assert visible(admin_h) == {
        t_photo_queue,
        t_ledger_queue,
        t_ledger_ann,
        t_photo_bob,
        t_ledger_bob,
    }
    for t in (t_ledger_queue, t_ledger_bob):
        r = requests.get(f"{url}/agent/tickets/{t}", headers=sup_h, timeout=5)
        assert r.status_code == 403
        assert "Ledger" not in r.text and "secret" not in r.text
        r = requests.post(
            f"{url}/agent/tickets/{t}/comments",
            json={"client_key": key(), "body": "peek"},
            headers=sup_h,
            timeout=5,
        )
        assert r.status_code == 403
        r = requests.post(
            f"{url}/agent/tickets/{t}/status", json={"status": "closed"}, headers=sup_h, timeout=5
        )
        assert r.status_code == 403
    # Filters cannot widen the scope.
    r = requests.get(
        f"{url}/agent/tickets", params={"assignee": ids["g-bob"]}, headers=sup_h, timeout=5
    )
    assert {t["id"] for t in r.json()["tickets"]} == {t_photo_bob}
    # Nothing about the refused ticket changed.
    detail = requests.get(f"{url}/agent/tickets/{t_ledger_bob}", headers=admin_h, timeout=5).json()
    assert detail["status"] != "closed" and all(e["body"] != "peek" for e in detail["events"])

    # An agent whose supervisor took away others' history: own and queue only.
    r = requests.put(
        f"{url}/team/agents/{ids['g-ann']}/permissions",
        json={"changes": [{"permission": "history.read.others", "allowed": False}]},
        headers=sup_h,
        timeout=5,
    )
    assert r.status_code == 200, r.text
    assert visible(ann_h) == {t_photo_queue, t_ledger_queue, t_ledger_ann}
    assert (
        requests.get(f"{url}/agent/tickets/{t_photo_bob}", headers=ann_h, timeout=5).status_code
        == 403
    )
    # Bob is not in the supervisor's groups: they cannot manage him.
    r = requests.put(
        f"{url}/team/agents/{ids['g-bob']}/permissions",
        json={"changes": [{"permission": "chats.take", "allowed": False}]},
        headers=sup_h,
        timeout=5,
    )
    assert r.status_code == 403
    team = requests.get(f"{url}/team/agents", headers=sup_h, timeout=5).json()["agents"]
    assert [a["email"] for a in team] == ["g-ann@example.com"]
    # Plain agents manage nobody.
    assert requests.get(f"{url}/team/agents", headers=bob_h, timeout=5).status_code == 403


def test_every_agents_chats_need_chats_read_records(live: LiveServer) -> None:
    """``/conversations`` serves customers and agents alike; its ``all``
    filter (every agent's chats) is for holders of ``chats.read.records``."""
    url = f"{live.url}/api/v1/conversations"
    plain = {"Authorization": f"Bearer {_agent_with(live, 'rec-ann@example.com', Role.agent, {})}"}
    granted = {
        "Authorization": "Bearer "
        + _agent_with(live, "rec-bob@example.com", Role.agent, {"chats.read.records": True})
    }
    sup = {
        "Authorization": f"Bearer {_agent_with(live, 'rec-sup@example.com', Role.supervisor, {})}"
    }
    r = requests.get(url, params={"filter": "all"}, headers=plain, timeout=5)
    assert r.status_code == 403 and "chats.read.records" in r.json()["error"]["message"]
    for h in (granted, sup):
        r = requests.get(url, params={"filter": "all"}, headers=h, timeout=5)
        assert r.status_code == 200, r.text
    # Their own and the queue stay open to every agent.
    for f in ("mine", "waiting"):
        assert requests.get(url, params={"filter": f}, headers=plain, timeout=5).status_code == 200
    with live.db.session() as s:
        denied = (
            s.query(models.AuditEntry)
            .filter_by(actor_name="rec-ann@example.com", outcome="denied")
            .all()
        )
    assert [e.detail["needs"] for e in denied] == ["chats.read.records"]


def test_presence_and_customer_panel_need_their_permissions(live: LiveServer) -> None:
    url = f"{live.url}/api/v1"
    tickets_only = {
        "Authorization": "Bearer "
        + _agent_with(live, "to-ann@example.com", Role.agent, {"chats.take": False})
    }
    no_crm = {
        "Authorization": "Bearer "
        + _agent_with(live, "crm-ann@example.com", Role.agent, {"customers.read": False})
    }
    ok = {"Authorization": f"Bearer {_agent_with(live, 'pp-ann@example.com', Role.agent, {})}"}
    cust = customer(live, "panel-cust")
    with live.db.session() as s:
        cid = s.query(models.Customer).filter_by(external_id="panel-cust").one().id
    r = requests.get(f"{url}/agent/presence", headers=tickets_only, timeout=5)
    assert r.status_code == 403 and "chats.take" in r.json()["error"]["message"]
    assert requests.get(f"{url}/agent/presence", headers=no_crm, timeout=5).status_code == 200
    r = requests.get(f"{url}/agent/customers/{cid}", headers=no_crm, timeout=5)
    assert r.status_code == 403 and "customers.read" in r.json()["error"]["message"]
    r = requests.get(f"{url}/agent/customers/{cid}", headers=ok, timeout=5)
    assert r.status_code == 200 and r.json()["customer"]["id"] == cid
    assert cust.h  # the customer exists through the portal


def test_automatic_assignment_skips_agents_without_tickets_handle(tmp_path: Path) -> None:
    live = start_live_server(tmp_path / "svc", seed_kb=False)
    try:
        root = _agent_with(live, "aa-root@example.com", Role.admin, {})
        admin_h = {"Authorization": f"Bearer {root}"}
        # Give the administrator open tickets, so the least loaded is somebody else.
        cust = customer(live, "aa-cust")
        busy = [_ticket(cust, f"busy {i}") for i in range(3)]
        with live.db.session() as s:
            root_id = s.query(models.Agent).filter_by(email="aa-root@example.com").one().id
            for t in busy:
                ticket = s.get(models.Ticket, t)
                assert ticket is not None
                ticket.assignee_id = root_id
        _agent_with(live, "aa-chats-only@example.com", Role.agent, {"tickets.handle": False})
        fresh = _ticket(cust, "who gets this")
        r = requests.post(
            f"{live.url}/api/v1/agent/tickets/{fresh}/assign",
            json={"auto": True},
            headers=admin_h,
            timeout=5,
        )
        assert r.status_code == 200, r.text
        # The chats-only agent has no ticket at all, yet is passed over.
        assert r.json()["assignee"]["id"] == root_id
        _agent_with(live, "aa-worker@example.com", Role.agent, {})
        other = _ticket(cust, "and this one")
        r = requests.post(
            f"{live.url}/api/v1/agent/tickets/{other}/assign",
            json={"auto": True},
            headers=admin_h,
            timeout=5,
        )
        assert r.json()["assignee"]["name"] == "aa-worker"
    finally:
        live.stop()


def test_agents_without_history_read_others_see_only_their_own_and_unassigned_chats(
    live: LiveServer,
) -> None:
    """``history.read.others`` (or ``chats.read.records``) decides whether an
    agent may open a conversation another agent has: without it, such a
    conversation is "not found", also in the customer panel."""
    url = f"{live.url}/api/v1"
    own = {"Authorization": f"Bearer {_agent_with(live, 'hro-ann@example.com', Role.agent, {})}"}
    narrow_token = _agent_with(
        live, "hro-bob@example.com", Role.agent, {"history.read.others": False}
    )
    narrow = {"Authorization": f"Bearer {narrow_token}"}
    customer(live, "hro-cust")
    with live.db.session() as s:
        cust = s.query(models.Customer).filter_by(external_id="hro-cust").one()
        ann = s.query(models.Agent).filter_by(email="hro-ann@example.com").one()
        bob = s.query(models.Agent).filter_by(email="hro-bob@example.com").one()
        convs = {}
        for name, assignee, status in (
            ("ann", ann.id, "assigned"),
            ("bob", bob.id, "assigned"),
            ("queue", None, "queued"),
        ):
            conv = models.Conversation(
                customer_id=cust.id,
                status=status,
                assignee_id=assignee,
                tier=cust.tier,
                product="",
                locale="en",
            )
            s.add(conv)
            s.flush()
            convs[name] = conv.id
    for name in ("bob", "queue"):
        cid = convs[name]
        assert requests.get(f"{url}/conversations/{cid}", headers=narrow, timeout=5).ok
        r = requests.get(f"{url}/conversations/{cid}/messages", headers=narrow, timeout=5)
        assert r.status_code == 200, r.text
    for path in (f"/conversations/{convs['ann']}", f"/conversations/{convs['ann']}/messages"):
        r = requests.get(f"{url}{path}", headers=narrow, timeout=5)
        assert r.status_code == 404, (path, r.text)
        assert requests.get(f"{url}{path}", headers=own, timeout=5).status_code == 200
    panel = requests.get(f"{url}/agent/customers/{cust.id}", headers=narrow, timeout=5).json()
    assert {c["id"] for c in panel["conversations"]} == {convs["bob"], convs["queue"]}
    panel = requests.get(f"{url}/agent/customers/{cust.id}", headers=own, timeout=5).json()
    assert {c["id"] for c in panel["conversations"]} == set(convs.values())
