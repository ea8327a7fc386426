"""Remote assist's REST routes against a real service: the session's state
machine and every refusal, one-time codes, notes, audit records, and the
``assist`` events both parties get over the realtime websocket."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from alembic import command
from sqlalchemy import select

from protocol import assist as wire
from protocol.models import Role
from server import models
from server.assist.service import AssistService
from server.config import Settings
from server.db import Database, alembic_config
from tests.databases import BACKENDS, database_url
from tests.integration.test_chat_support import Peer, new_id, run
from tests.integration.test_tickets_api import Client, agent, customer
from tests.servers import LiveServer, start_live_server

A = "/assist"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_live_server(
        tmp_path_factory.mktemp("assist-api"), seed_kb=False, vendor_name="Northwind Soft"
    )
    yield server
    server.stop()


def service_of(live: LiveServer) -> AssistService:
    app: Any = live._server.config.app
    svc: AssistService = app.state.assist
    return svc


def cust(live: LiveServer, **claims: Any) -> Client:
    claims.setdefault("name", "Li Wei")
    return customer(live, f"cust-{new_id()[:10]}", **claims)


def agt(live: LiveServer, role: Role = Role.agent) -> Client:
    return agent(live, f"agent-{new_id()[:8]}@example.com", role)


def agent_id(live: LiveServer, a: Client) -> int:
    me = a.req("GET", "/team/me")
    assert me.status_code == 200, me.text
    return int(me.json()["agent"]["id"])


def ticket_of(c: Client) -> int:
    r = c.create(subject="The report prints blank")
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def ask(a: Client, **body: Any) -> requests.Response:
    return a.req("POST", f"{A}/requests", json=body)


def audit_rows(live: LiveServer, action: str) -> list[models.AuditEntry]:
    with live.db.session() as s:
        return list(
            s.scalars(
                select(models.AuditEntry)
                .where(models.AuditEntry.action == action)
                .order_by(models.AuditEntry.id)
            ).all()
        )


def wait_for(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


# --- the state machine ----------------------------------------------------------------------


def test_request_consent_control_pause_end_with_events_to_both_parties(live: LiveServer) -> None:
    c = cust(live, company="Contoso Ltd")
    a = agt(live)
    aid = agent_id(live, a)

    async def body() -> int:
        cp = await Peer.connect(live.url, c.h["Authorization"].split()[1])
        ap = await Peer.connect(live.url, a.h["Authorization"].split()[1])
        cid = cp.welcome["you"]["id"]
        # A conversation of the customer's own (the bot takes it first).
        await cp.say("The printer driver crashes")
        conv = (await cp.expect("conversation"))["conversation"]

        r = await asyncio.to_thread(ask, a, conversation_id=conv["id"], mode="control")
        assert r.status_code == 201, r.text
        s = r.json()
        sid = s["id"]
        assert s["status"] == "requested" and s["requested_mode"] == "control"
        assert s["mode"] == "view" and not s["control_requested"]
        assert s["agent"] == {"id": aid, "name": s["agent"]["name"], "company": "Northwind Soft"}
        assert s["customer"] == {"id": cid, "name": "Li Wei", "company": "Contoso Ltd"}
        assert s["conversation_id"] == conv["id"] and s["ticket_id"] is None
        for p in (cp, ap):
            ev = await p.expect("assist", session=lambda x: x["id"] == sid)
            assert ev["session"]["status"] == "requested"

        def post(who: Client, path: str, **json: Any) -> requests.Response:
            return who.req("POST", f"{A}/{sid}{path}", json=json)

        async def step(who: Client, path: str, **json: Any) -> dict[str, Any]:
            r = await asyncio.to_thread(post, who, path, **json)
            assert r.status_code == 200, (path, r.text)
            got: dict[str, Any] = r.json()
            for p in (cp, ap):
                ev = await p.expect("assist", session=lambda x: x == got)
                assert ev["session"]["id"] == sid
            return got

        s = await step(c, "/consent", allow=True)
        # Allow grants view only; the first request's control is now asked.
        assert (s["status"], s["mode"], s["control_requested"]) == ("active", "view", True)
        assert s["started_at"] is not None
        s = await step(c, "/control-consent", allow=False)
        assert (s["mode"], s["control_requested"]) == ("view", False)
        s = await step(a, "/control")
        assert s["control_requested"] is True
        s = await step(c, "/control-consent", allow=True)
        assert (s["mode"], s["control_requested"]) == ("control", False)
        s = await step(c, "/clipboard", allow=True)
        assert s["clipboard"] is True
        s = await step(c, "/pause", paused=True)
        assert s["status"] == "paused"
        s = await step(c, "/pause", paused=False)
        assert s["status"] == "active"
        s = await step(c, "/control-consent", allow=False)  # "Stop control"
        assert s["mode"] == "view"
        listed = (await asyncio.to_thread(a.req, "GET", f"{A}/sessions")).json()["sessions"]
        assert [x["id"] for x in listed] == [sid]
        s = await step(c, "/end")
        assert (s["status"], s["end_reason"]) == ("ended", "customer")
        assert s["ended_at"] is not None and s["mode"] == "view"
        # Ending again changes nothing.
        again = await asyncio.to_thread(post, a, "/end")
        assert again.status_code == 200 and again.json() == s
        for who in (a, c):
            r = await asyncio.to_thread(who.req, "GET", f"{A}/sessions")
            assert r.json() == {"sessions": []}
            assert (await asyncio.to_thread(who.req, "GET", f"{A}/{sid}")).json() == s
        await cp.close()
        await ap.close()
        return int(sid)

    sid = run(body())
    record = [e for e in audit_rows(live, "assist.session") if e.target == f"assist session {sid}"]
    assert len(record) == 1
    d = record[0].detail
    assert d["mode"] == "control" and d["end_reason"] == "customer"
    assert d["agent"].startswith(f"{aid} agent-")
    assert d["customer"].startswith(f"{record[0].actor_id} cust-")
    assert d["started"] and d["ended"] and d["bytes_to_agent"] == "0"
    assert record[0].actor_type == "customer"
    requested = [e for e in audit_rows(live, "assist.requested") if e.actor_id == aid]
    assert requested and requested[-1].detail["mode"] == "control"
    control = [
        e.detail["control"]
        for e in audit_rows(live, "assist.control")
        if e.target == f"assist session {sid}"
    ]
    assert control == ["refused", "granted", "taken back"]


def test_refusals(live: LiveServer) -> None:
    c, other_c = cust(live), cust(live)
    a, other_a = agt(live), agt(live)
    t = ticket_of(c)
    stranger = requests.post(f"{live.url}/api/v1{A}/requests", json={"ticket_id": t}, timeout=5)
    assert stranger.status_code == 401
    assert c.req("POST", f"{A}/requests", json={"ticket_id": t}).status_code == 403
    assert ask(a).status_code == 422  # neither
    assert ask(a, ticket_id=t, conversation_id=1).status_code == 422  # both
    assert ask(a, ticket_id=t, mode="admin").status_code == 422
    assert ask(a, ticket_id=10**6).status_code == 404
    assert ask(a, conversation_id=10**6).status_code == 404
    # Without assist.start: refused, and the refusal is audited.
    lacking = agt(live)
    lacking_id = agent_id(live, lacking)
    with live.db.session() as s:
        s.add(models.AgentGrant(agent_id=lacking_id, permission="assist.start", allowed=False))
    r = ask(lacking, ticket_id=t)
    assert r.status_code == 403 and "assist.start" in r.json()["error"]["message"]
    assert lacking.req("POST", f"{A}/redeem", json={"code": "12345678"}).status_code == 403
    # Outside the agent's ticket scope (no history.read.others, someone else's ticket).
    scoped = agt(live)
    scoped_id, other_id = agent_id(live, scoped), agent_id(live, other_a)
    with live.db.session() as s:
        s.add(
            models.AgentGrant(agent_id=scoped_id, permission="history.read.others", allowed=False)
        )
        ticket = s.get(models.Ticket, t)
        assert ticket is not None
        ticket.assignee_id = other_id
    assert ask(scoped, ticket_id=t).status_code == 403

    r = ask(a, ticket_id=t)
    assert r.status_code == 201
    sid = r.json()["id"]
    # One open session per customer.
    second = ask(other_a, ticket_id=t)
    assert second.status_code == 409 and second.json()["error"]["code"] == "conflict"

    def call(who: Client | None, path: str, method: str = "POST", **json: Any) -> int:
        if who is None:
            url = f"{live.url}/api/v1{A}/{sid}{path}"
            return requests.request(method, url, json=json, timeout=5).status_code
        return who.req(method, f"{A}/{sid}{path}", json=json).status_code

    # Strangers to the session: 404 whatever they ask, never 403.
    assert call(other_c, "", "GET") == 404 and call(other_a, "", "GET") == 404
    assert call(other_c, "/end") == 404 and call(other_a, "/end") == 404
    assert call(other_c, "/consent", allow=True) == 404
    assert call(other_a, "/control") == 404 and call(other_a, "/note", text="x") == 404
    assert c.req("GET", f"{A}/{10**6}").status_code == 404
    assert call(None, "", "GET") == 401
    # The wrong side of the session.
    assert call(a, "/consent", allow=True) == 403
    assert call(c, "/control") == 403 and call(c, "/note", text="x") == 403
    assert call(a, "/pause", paused=True) == 403 and call(a, "/clipboard", allow=True) == 403
    # Not yet live.
    assert call(a, "/control") == 409
    assert call(c, "/pause", paused=True) == 409
    assert call(c, "/clipboard", allow=True) == 409
    assert call(c, "/control-consent", allow=True) == 409
    assert call(c, "/consent", allow="maybe") == 422
    assert call(c, "/consent", allow=True, extra=1) == 422
    assert call(a, "/note", text="") == 422
    assert call(a, "/note", text="x" * (wire.MAX_NOTE_CHARS + 1)) == 422
    assert call(c, "/consent", allow=True) == 200
    assert call(c, "/consent", allow=True) == 409  # answered already
    assert call(c, "/control-consent", allow=True) == 409  # control was not asked
    assert call(a, "/end") == 200
    after_end: tuple[tuple[str, dict[str, Any]], ...] = (
        ("/control", {}),
        ("/pause", {"paused": True}),
        ("/clipboard", {"allow": True}),
        ("/consent", {"allow": True}),
        ("/control-consent", {"allow": False}),
    )
    for path, body in after_end:
        who = a if path == "/control" else c
        assert call(who, path, **body) == 409, path
    # A new request once the last one ended.
    assert ask(other_a, ticket_id=t).status_code == 201


def test_deny_timed_out_and_cancel(live: LiveServer) -> None:
    c, a = cust(live), agt(live)
    t = ticket_of(c)
    sid = ask(a, ticket_id=t).json()["id"]
    r = c.req("POST", f"{A}/{sid}/consent", json={"allow": False})
    assert r.json()["status"] == "denied" and r.json()["ended_at"] is not None
    sid2 = ask(a, ticket_id=t).json()["id"]
    r = c.req("POST", f"{A}/{sid2}/consent", json={"allow": False, "timed_out": True})
    assert r.json()["status"] == "denied"
    targets = (f"assist session {sid}", f"assist session {sid2}")
    reasons = [e.detail["reason"] for e in audit_rows(live, "assist.denied") if e.target in targets]
    assert reasons == ["customer", "timed_out"]
    # Ending a final session is a no-op; the agent may withdraw a request.
    assert a.req("POST", f"{A}/{sid}/end").json()["status"] == "denied"
    sid3 = ask(a, ticket_id=t).json()["id"]
    r = a.req("POST", f"{A}/{sid3}/end")
    assert (r.json()["status"], r.json()["end_reason"]) == ("ended", "agent")
    assert c.req("POST", f"{A}/{sid3}/consent", json={"allow": True}).status_code == 409


def test_unanswered_requests_expire(tmp_path: Path) -> None:
    live = start_live_server(tmp_path / "svc", seed_kb=False, assist_expire_after_s=0.5)
    try:
        c, a = cust(live), agt(live)
        r = ask(a, ticket_id=ticket_of(c))
        sid = r.json()["id"]
        assert _ts(r.json()["consent_deadline"]) <= _ts(r.json()["created_at"]) + 0.5
        wait_for(lambda: c.req("GET", f"{A}/{sid}").json()["status"] == "expired")
        assert c.req("POST", f"{A}/{sid}/consent", json={"allow": True}).status_code == 409
        assert c.req("GET", f"{A}/sessions").json() == {"sessions": []}
        (row,) = [
            e for e in audit_rows(live, "assist.denied") if e.target == f"assist session {sid}"
        ]
        assert row.detail["reason"] == "expired" and row.actor_type == "system"
        assert ask(a, ticket_id=ticket_of(c)).status_code == 201  # the customer is free again
    finally:
        live.stop()


# --- one-time codes ----------------------------------------------------------------------------


def test_codes_single_use_replaced_expiring_and_rate_limited(live: LiveServer) -> None:
    c, a = cust(live), agt(live)
    assert a.req("POST", f"{A}/codes").status_code == 403  # customers make codes
    first = c.req("POST", f"{A}/codes")
    assert first.status_code == 201
    code = first.json()["code"]
    assert len(code) == wire.CODE_DIGITS and code.isdigit()
    r = c.req("POST", f"{A}/codes")
    new = r.json()["code"]
    # Stored as a keyed hash only: neither the code nor its plain SHA-256.
    with live.db.session() as s:
        stored = s.scalars(select(models.AssistCode.code_hash)).all()
    assert new not in stored and hashlib.sha256(new.encode()).hexdigest() not in stored
    assert (live.data_dir / "assist-code.key").stat().st_mode & 0o777 == 0o600
    if new != code:  # the new code replaced the old one
        assert a.req("POST", f"{A}/redeem", json={"code": code}).status_code == 404
    r = a.req("POST", f"{A}/redeem", json={"code": new, "mode": "control"})
    assert r.status_code == 201, r.text
    s = r.json()
    assert (s["status"], s["requested_mode"]) == ("requested", "control")
    assert s["conversation_id"] is None and s["ticket_id"] is None
    assert s["customer"]["name"] == "Li Wei"
    # Single use.
    assert agt(live).req("POST", f"{A}/redeem", json={"code": new}).status_code == 404
    assert a.req("POST", f"{A}/redeem", json={"code": "1234"}).status_code == 422
    # A note needs a conversation or a ticket.
    c.req("POST", f"{A}/{s['id']}/consent", json={"allow": True})
    assert a.req("POST", f"{A}/{s['id']}/note", json={"text": "x"}).status_code == 409
    a.req("POST", f"{A}/{s['id']}/end")

    # Expiry (a short lifetime for the test).
    svc = service_of(live)
    svc.code_ttl = 0.3
    try:
        short = c.req("POST", f"{A}/codes").json()
    finally:
        svc.code_ttl = wire.CODE_TTL_S
    wait_for(lambda: time.time() > _ts(short["expires_at"]) + 0.05)
    guesser = agt(live)
    assert guesser.req("POST", f"{A}/redeem", json={"code": short["code"]}).status_code == 404

    # Rate limit: REDEEM_ATTEMPTS wrong codes per agent, then 429 even for a good code.
    for _ in range(wire.REDEEM_ATTEMPTS - 1):
        bad = guesser.req("POST", f"{A}/redeem", json={"code": "00000000"})
        assert bad.status_code == 404
    good = c.req("POST", f"{A}/codes").json()["code"]
    limited = guesser.req("POST", f"{A}/redeem", json={"code": good})
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= wire.REDEEM_WINDOW_S
    # Another agent is not limited; the code still works.
    assert a.req("POST", f"{A}/redeem", json={"code": good}).status_code == 201
    gid = agent_id(live, guesser)
    failed = [e for e in audit_rows(live, "assist.redeem") if e.actor_id == gid]
    assert [e.outcome for e in failed] == ["failed"] * wire.REDEEM_ATTEMPTS + ["denied"]
    assert all("code" not in e.detail for e in failed)


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


# --- notes ----------------------------------------------------------------------------------------


def test_notes_go_to_the_conversation_live_or_to_the_ticket(live: LiveServer) -> None:
    c, a = cust(live), agt(live)

    async def body() -> None:
        cp = await Peer.connect(live.url, c.h["Authorization"].split()[1])
        ap = await Peer.connect(live.url, a.h["Authorization"].split()[1])
        # Online, so the chat comes to this agent rather than becoming a ticket.
        await ap.send(type="presence", status="online", capacity=3, products=[])
        me = ap.welcome["you"]["id"]
        await ap.expect("presence", agent_id=me, status="online")
        await cp.say("Can you look at my screen?")
        conv = (await cp.expect("conversation"))["conversation"]
        await ap.expect(
            "conversation",
            timeout=15,
            conversation=lambda x: x["id"] == conv["id"] and x["status"] == "assigned",
        )
        sid = (await asyncio.to_thread(ask, a, conversation_id=conv["id"])).json()["id"]
        r = await asyncio.to_thread(
            a.req, "POST", f"{A}/{sid}/note", json={"text": "Driver 6.2 reinstalled"}
        )
        assert r.status_code == 204, r.text
        msg = await ap.expect("message", conversation_id=conv["id"], text="Driver 6.2 reinstalled")
        assert msg["internal"] is True and msg["text"] == "Driver 6.2 reinstalled"
        assert msg["sender"]["kind"] == "agent"
        seen = await cp.collect(0.5)
        assert not [e for e in seen if e.get("text") == "Driver 6.2 reinstalled"]
        await asyncio.to_thread(a.req, "POST", f"{A}/{sid}/end")
        await cp.close()
        await ap.close()

    run(body())
    t = ticket_of(c)
    sid = ask(a, ticket_id=t).json()["id"]
    assert a.req("POST", f"{A}/{sid}/note", json={"text": "Checked the spooler"}).status_code == 204
    events = a.req("GET", f"/agent/tickets/{t}").json()["events"]
    notes = [e for e in events if e["body"] == "Checked the spooler"]
    assert len(notes) == 1 and notes[0]["kind"] == "note"
    mine = c.req("GET", f"/tickets/{t}").json()
    assert "Checked the spooler" not in str(mine)


# --- the migration --------------------------------------------------------------------------------

@pytest.fixture(params=BACKENDS)
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with database_url(request.param, tmp_path) as url:
        database = Database(url)
        try:
            yield database
        finally:
            database.dispose()


def test_migration_from_0007_keeps_data_and_adds_the_assist_tables(empty_db: Database) -> None:
    db = empty_db
    cfg = alembic_config(db.engine.url.render_as_string(hide_password=False))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007")
    assert not sa.inspect(db.engine).has_table("assist_sessions")
    at = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
    with db.session() as s:
        s.add(models.Customer(id=1, external_id="c-1", name="Li Wei", created_at=at, updated_at=at))
        s.add(models.Agent(id=1, email="a@example.com", name="Bo", password_hash="x"))
        s.flush()
        s.add(models.Conversation(id=1, customer_id=1, status="assigned", assignee_id=1))
    db.upgrade()
    with db.session() as s:
        customer = s.get(models.Customer, 1)
        assert customer is not None and customer.name == "Li Wei" and customer.created_at == at
        conv = s.get(models.Conversation, 1)
        assert conv is not None and conv.assignee_id == 1
        s.add(
            models.AssistSession(
                agent_id=1,
                customer_id=1,
                open_customer_id=1,
                conversation_id=1,
                consent_deadline=at,
                expires_at=at,
                bytes_to_agent=5 * 2**32,  # counts past 32 bits
            )
        )
        s.add(models.AssistCode(customer_id=1, code_hash="0" * 64, expires_at=at))
    with db.session() as s:
        row = s.scalars(select(models.AssistSession)).one()
        assert (row.status, row.mode, row.bytes_to_agent) == ("requested", "view", 5 * 2**32)
    # A customer has one open session at most.
    with pytest.raises(sa.exc.IntegrityError), db.session() as s:
        s.add(
            models.AssistSession(
                agent_id=1, customer_id=1, open_customer_id=1, consent_deadline=at, expires_at=at
            )
        )


def test_the_agents_company_is_the_vendors_name() -> None:
    assert Settings(demo=True).company == "Northwind Soft"  # the demo's vendor
    assert Settings().company == "HelpBridge"
    assert Settings(demo=True, vendor_name="Contoso Support").company == "Contoso Support"
