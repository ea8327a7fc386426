"""Tickets, replies, attachments and satisfaction against a real service."""

from __future__ import annotations

import hashlib
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from server import models
from tests.servers import LiveServer

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


def key() -> str:
    return uuid.uuid4().hex


class Client:
    """A signed-in customer or agent speaking plain HTTP."""

    def __init__(self, server: LiveServer, token: str) -> None:
        self.base = f"{server.url}/api/v1"
        self.h = {"Authorization": f"Bearer {token}"}

    def req(self, method: str, path: str, **kw: Any) -> requests.Response:
        return requests.request(method, self.base + path, headers=self.h, timeout=10, **kw)

    def upload(
        self, data: bytes, filename: str = "shot.png", k: str | None = None
    ) -> requests.Response:
        return self.req(
            "PUT", f"/attachments/{k or key()}", params={"filename": filename}, data=data
        )

    def create(self, **body: Any) -> requests.Response:
        body.setdefault("client_key", key())
        body.setdefault("subject", "Printing fails")
        return self.req("POST", "/tickets", json=body)


def customer(server: LiveServer, sub: str, **claims: Any) -> Client:
    r = requests.post(
        f"{server.url}/api/v1/auth/identity", json={"token": server.sign(sub, **claims)}, timeout=10
    )
    r.raise_for_status()
    return Client(server, r.json()["access_token"])


def agent(server: LiveServer, email: str, role: Any = None) -> Client:
    from protocol.models import Role

    server.create_agent(email, role=role or Role.agent)
    return Client(server, server.agent_token(email))


def test_ticket_journey(fresh_server: LiveServer) -> None:
    cust = customer(fresh_server, "c1", name="Li Wei", tier="vip")
    shot = cust.upload(PNG, "screen.png")
    assert shot.status_code == 200, shot.text
    assert shot.json()["content_type"] == "image/png"
    r = cust.create(
        subject="Voucher printing cuts off",
        body="The last line is missing.",
        category="Printing",
        urgency="high",
        impact="medium",
        context={
            "product": "LedgerPro",
            "version": "6.2.1",
            "module": "Vouchers",
            "error_code": "LP-4012",
        },
        attachment_ids=[shot.json()["id"]],
    )
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["priority"] == "P2" and t["status"] == "new" and t["number"] > 10000
    assert t["context"]["error_code"] == "LP-4012"
    # VIP P2: first response within 120 minutes.
    created = datetime.fromisoformat(t["created_at"])
    assert datetime.fromisoformat(t["first_response_due"]) - created == timedelta(minutes=120)
    assert [e["kind"] for e in t["events"]] == ["created"]
    assert t["attachments"][0]["filename"] == "screen.png"

    ag = agent(fresh_server, "agent@example.com")
    queue = ag.req("GET", "/agent/tickets", params={"status": "new"}).json()
    assert [x["id"] for x in queue["tickets"]] == [t["id"]]
    ag.req(
        "POST",
        f"/agent/tickets/{t['id']}/comments",
        json={"client_key": key(), "body": "Internal: check driver", "internal": True},
    )
    r = ag.req(
        "POST",
        f"/agent/tickets/{t['id']}/comments",
        json={"client_key": key(), "body": "Please update the driver."},
    )
    assert r.status_code == 201
    assert r.json()["status"] == "open" and r.json()["first_responded_at"]
    ag.req("POST", f"/agent/tickets/{t['id']}/status", json={"status": "pending_customer"})

    mine = cust.req("GET", "/tickets").json()
    assert mine["tickets"][0]["unread"] is True
    view = cust.req("GET", f"/tickets/{t['id']}").json()
    bodies = [e["body"] for e in view["events"]]
    assert "Please update the driver." in bodies
    assert not any("Internal" in b for b in bodies), "customers never see internal notes"
    assert cust.req("GET", "/tickets").json()["tickets"][0]["unread"] is False

    # The customer's reply moves it back to open; then they resolve and rate.
    r = cust.req(
        "POST",
        f"/tickets/{t['id']}/comments",
        json={"client_key": key(), "body": "Done, works now."},
    )
    assert r.json()["status"] == "open"
    assert cust.req("POST", f"/tickets/{t['id']}/csat", json={"rating": 5}).status_code == 409
    assert cust.req("POST", f"/tickets/{t['id']}/resolve").json()["status"] == "resolved"
    r = cust.req("POST", f"/tickets/{t['id']}/csat", json={"rating": 4, "comment": "快"})
    assert r.json()["csat"]["rating"] == 4
    for bad in (0, 6, "x"):
        assert cust.req("POST", f"/tickets/{t['id']}/csat", json={"rating": bad}).status_code == 422
    assert cust.req("POST", f"/tickets/{t['id']}/reopen").json()["status"] == "open"
    ag.req("POST", f"/agent/tickets/{t['id']}/status", json={"status": "closed"})
    r = cust.req(
        "POST", f"/tickets/{t['id']}/comments", json={"client_key": key(), "body": "again"}
    )
    assert r.status_code == 409
    timeline = [
        (e["kind"], e.get("status_to"))
        for e in cust.req("GET", f"/tickets/{t['id']}").json()["events"]
    ]
    assert ("status", "resolved") in timeline and ("status", "closed") in timeline


def test_idempotent_creates_replies_and_uploads(fresh_server: LiveServer) -> None:
    cust = customer(fresh_server, "c1")
    k = key()
    a1 = cust.upload(PNG, k=k).json()
    a2 = cust.upload(PNG, k=k).json()
    assert a1["id"] == a2["id"]
    ck = key()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: cust.create(client_key=ck, subject="same"), range(8)))
    assert all(r.status_code in (200, 201) for r in results), [r.text for r in results]
    assert len({r.json()["id"] for r in results}) == 1
    tid = results[0].json()["id"]
    rk = key()
    for _ in range(3):
        cust.req("POST", f"/tickets/{tid}/comments", json={"client_key": rk, "body": "hello"})
    events = cust.req("GET", f"/tickets/{tid}").json()["events"]
    assert sum(e["body"] == "hello" for e in events) == 1
    with fresh_server.db.session() as s:
        assert s.query(models.Ticket).count() == 1


def test_customers_see_only_their_own(fresh_server: LiveServer) -> None:
    alice = customer(fresh_server, "alice", company="Contoso")
    bob = customer(fresh_server, "bob", company="Contoso")
    t = alice.create(subject="Alice's").json()
    att = alice.upload(b"secret log", "log.txt").json()
    alice.req(
        "POST",
        f"/tickets/{t['id']}/comments",
        json={"client_key": key(), "body": "x", "attachment_ids": [att["id"]]},
    )
    assert bob.req("GET", f"/tickets/{t['id']}").status_code == 404
    assert (
        bob.req(
            "POST", f"/tickets/{t['id']}/comments", json={"client_key": key(), "body": "hi"}
        ).status_code
        == 404
    )
    assert bob.req("POST", f"/tickets/{t['id']}/csat", json={"rating": 1}).status_code == 404
    assert bob.req("GET", f"/attachments/{att['id']}").status_code == 404
    assert bob.req("GET", "/tickets").json()["total"] == 0
    # Bob cannot attach Alice's file to his own ticket.
    r = bob.create(attachment_ids=[att["id"]])
    assert r.status_code == 422
    dl = alice.req("GET", f"/attachments/{att['id']}")
    assert dl.content == b"secret log"
    assert dl.headers["content-type"].startswith("application/octet-stream")
    assert "attachment" in dl.headers["content-disposition"]


def test_company_scope_when_enabled(tmp_path: Any) -> None:
    from tests.servers import start_live_server

    server = start_live_server(tmp_path / "svc", seed_kb=False, company_tickets_visible=True)
    try:
        alice = customer(server, "alice", company="Contoso")
        bob = customer(server, "bob", company="Contoso")
        eve = customer(server, "eve", company="Fabrikam")
        t = alice.create(subject="shared").json()
        assert bob.req("GET", f"/tickets/{t['id']}").status_code == 200
        assert eve.req("GET", f"/tickets/{t['id']}").status_code == 404
    finally:
        server.stop()


def test_attachment_limits_and_names(tmp_path: Any) -> None:
    from tests.servers import start_live_server

    server = start_live_server(
        tmp_path / "svc", seed_kb=False, max_file_bytes=1000, max_ticket_bytes=1500
    )
    try:
        cust = customer(server, "c1")
        r = cust.upload(b"x" * 1001)
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"

        def chunks() -> Any:
            for _ in range(20):
                yield b"y" * 100  # no Content-Length: the limit still holds

        r = cust.req("PUT", f"/attachments/{key()}", params={"filename": "s.bin"}, data=chunks())
        assert r.status_code == 413
        r = cust.upload(b"")
        assert r.status_code == 422 and "empty" in r.json()["error"]["message"]
        for name, expected in [
            ("../../etc/passwd", "passwd"),
            ("a\\b\\c.txt", "c.txt"),
            ("..", "file"),
            ("\x00\x07evil.txt", "evil.txt"),
            ("报告.pdf", "报告.pdf"),
        ]:
            r = cust.upload(b"data", filename=name)
            assert r.status_code == 200, r.text
            assert r.json()["filename"] == expected
        a = cust.upload(b"a" * 800).json()
        b = cust.upload(b"b" * 800).json()
        r = cust.create(attachment_ids=[a["id"], b["id"]])
        assert r.status_code == 413
        assert cust.req(
            "PUT", "/attachments/bad key!", params={"filename": "x"}, data=b"x"
        ).status_code in (404, 422)
        # Content-addressed: the same bytes are stored once.
        blobs = [
            p
            for p in (server.data_dir / "blobs").rglob("*")
            if p.is_file() and p.parent.name != "tmp"
        ]
        digest = hashlib.sha256(b"data").hexdigest()
        assert sum(p.name == digest for p in blobs) == 1
    finally:
        server.stop()


def test_html_is_stored_as_text(fresh_server: LiveServer) -> None:
    cust = customer(fresh_server, "c1")
    evil = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    t = cust.create(subject=evil, body=evil).json()
    assert t["subject"] == evil  # stored verbatim; every client renders it as text


@pytest.mark.parametrize(
    "body",
    [
        {"subject": ""},
        {"subject": "x" * 201},
        {"client_key": "short"},
        {"urgency": "extreme"},
        {"attachment_ids": [999999]},
    ],
)
def test_bad_ticket_bodies(live_server: LiveServer, body: dict[str, Any]) -> None:
    cust = customer(live_server, "bad-bodies")
    r = cust.create(**body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_request"


def test_agent_queue_filters_assignment_and_sla(fresh_server: LiveServer) -> None:
    from protocol.models import Role

    cust = customer(fresh_server, "c1")
    a1 = agent(fresh_server, "a1@example.com")
    agent(fresh_server, "a2@example.com")
    admin = agent(fresh_server, "boss@example.com", Role.admin)
    t1 = cust.create(urgency="high", impact="high").json()
    t2 = cust.create(urgency="low", impact="low").json()
    assert t1["priority"] == "P1" and t2["priority"] == "P5"
    assert [
        t["id"]
        for t in a1.req("GET", "/agent/tickets", params={"priority": "P1"}).json()["tickets"]
    ] == [t1["id"]]
    # Automatic assignment goes to the least-loaded agent.
    r1 = a1.req("POST", f"/agent/tickets/{t1['id']}/assign", json={"auto": True}).json()
    r2 = a1.req("POST", f"/agent/tickets/{t2['id']}/assign", json={"auto": True}).json()
    assert r1["assignee"]["email"] != r2["assignee"]["email"]
    assert (
        a1.req("POST", f"/agent/tickets/{t1['id']}/assign", json={"agent_id": 999}).status_code
        == 422
    )
    # Breach: push t1's due time into the past.
    with fresh_server.db.session() as s:
        row = s.get(models.Ticket, t1["id"])
        assert row is not None
        row.first_response_due = datetime.now(UTC) - timedelta(minutes=1)
    breached = a1.req("GET", "/agent/tickets", params={"breached": "true"}).json()["tickets"]
    assert [t["id"] for t in breached] == [t1["id"]] and breached[0]["sla_breached"]
    # SLA table: agents read, only administrators change.
    table = a1.req("GET", "/agent/sla").json()
    assert len(table["rules"]) == 15
    new = {
        "rules": [
            {
                "tier": "normal",
                "priority": "P5",
                "first_response_minutes": 10,
                "resolution_minutes": 20,
            }
        ]
    }
    assert a1.req("PUT", "/agent/sla", json=new).status_code == 403
    assert admin.req("PUT", "/agent/sla", json=new).status_code == 200
    t3 = cust.create(urgency="low", impact="low").json()
    due = datetime.fromisoformat(t3["first_response_due"]) - datetime.fromisoformat(
        t3["created_at"]
    )
    assert due == timedelta(minutes=10)
    # Customers cannot reach the agents' endpoints.
    assert cust.req("GET", "/agent/tickets").status_code == 403
