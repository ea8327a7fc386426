"""Outgoing webhooks against a real service and a real receiver on loopback:
signed events from tickets and CSAT, retries with a delivery log when the
target answers 500 or hangs, requests never waiting, private targets
refused unless the operator allows them."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from protocol.models import Role
from server import webhooks
from tests.integration.test_tickets_api import customer, key
from tests.servers import LiveServer, start_live_server


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """An HTTP server that records requests; per path it answers 204, 500
    (``fail``: the first N requests), or hangs (``hang``)."""

    server: ThreadingHTTPServer
    got: list[Received] = field(default_factory=list)
    fail: dict[str, int] = field(default_factory=dict)
    hang: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def on(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.got if r.path == path]

    def wait(self, path: str, n: int, timeout: float = 10) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.on(path)
            if len(got) >= n:
                return got
            time.sleep(0.02)
        raise AssertionError(f"{path}: {len(self.on(path))} requests, wanted {n}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            rec = box[0]
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with rec.lock:
                rec.got.append(Received(self.path, dict(self.headers.items()), body))
                failing = rec.fail.get(self.path, 0)
                if failing:
                    rec.fail[self.path] = failing - 1
            if self.path in rec.hang:
                rec.release.wait(30)
                return
            self.send_response(500 if failing else 204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    rec = Receiver(httpd)
    box.append(rec)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield rec
    rec.release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    monkeypatch.setenv("HELPBRIDGE_WEBHOOK_ALLOW_NETWORKS", "127.0.0.0/8")
    monkeypatch.setenv("HELPBRIDGE_WEBHOOK_RETRY_DELAYS", "200ms,400ms")
    monkeypatch.setenv("HELPBRIDGE_WEBHOOK_TIMEOUT", "1s")
    server = start_live_server(tmp_path / "svc", seed_kb=False)
    yield server
    server.stop()


def _admin(live: LiveServer) -> Callable[..., requests.Response]:
    live.create_agent("root@example.com", role=Role.admin)
    h = {"Authorization": f"Bearer {live.agent_token('root@example.com')}"}

    def call(method: str, path: str, body: Any = None, **kw: Any) -> requests.Response:
        return requests.request(
            method, f"{live.url}/api/v1{path}", json=body, headers=h, timeout=10, **kw
        )

    return call


def _verified(r: Received, secret: str) -> bool:
    return webhooks.verify(
        secret,
        r.headers["X-HelpBridge-Timestamp"],
        r.body,
        r.headers["X-HelpBridge-Signature"],
    )


def _deliveries(admin: Callable[..., requests.Response], hook_id: int) -> list[dict[str, Any]]:
    r = admin("GET", f"/admin/webhooks/{hook_id}/deliveries")
    assert r.status_code == 200, r.text
    out: list[dict[str, Any]] = r.json()["deliveries"]
    return out


def _settled(admin: Callable[..., requests.Response], hook_id: int, n: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        ds = _deliveries(admin, hook_id)
        if len(ds) >= n and all(d["status"] != "pending" for d in ds):
            return ds
        time.sleep(0.05)
    raise AssertionError(f"deliveries not settled: {_deliveries(admin, hook_id)}")


def test_ticket_and_csat_events_arrive_signed(live: LiveServer, receiver: Receiver) -> None:
    admin = _admin(live)
    r = admin(
        "POST",
        "/admin/webhooks",
        {
            "url": f"{receiver.url}/crm",
            "events": ["ticket.created", "ticket.updated", "csat.received"],
            "description": "CRM",
        },
    )
    assert r.status_code == 201, r.text
    hook, secret = r.json()["webhook"], r.json()["secret"]
    assert secret.startswith("whsec_") and secret not in admin("GET", "/admin/webhooks").text

    cust = customer(live, "wh-1", name="Li Wei", product="PhotoTool")
    ticket = cust.create(subject="Export crashes", body="Since 6.2").json()
    created = receiver.wait("/crm", 1)[0]
    assert _verified(created, secret)
    assert created.headers["X-HelpBridge-Event"] == "ticket.created"
    assert created.headers["Content-Type"] == "application/json"
    payload = created.json
    assert payload["event"] == "ticket.created"
    assert created.headers["X-HelpBridge-Delivery"] == payload["id"]
    data = payload["data"]["ticket"]
    assert data["id"] == ticket["id"] and data["subject"] == "Export crashes"
    assert data["requester"]["external_id"] == "wh-1" and data["status"] == "new"

    t = ticket["id"]
    assert admin(
        "POST", f"/agent/tickets/{t}/comments", {"client_key": key(), "body": "Try 6.2.1"}
    ).ok
    assert admin(
        "POST",
        f"/agent/tickets/{t}/comments",
        {"client_key": key(), "body": "private: known bug 4411", "internal": True},
    ).ok
    assert admin("POST", f"/agent/tickets/{t}/status", {"status": "resolved"}).ok
    assert cust.req("POST", f"/tickets/{t}/csat", json={"rating": 5, "comment": "Fast"}).ok

    got = receiver.wait("/crm", 6)
    assert all(_verified(g, secret) for g in got)
    events = [(g.json["event"], g.json["data"].get("change", {}).get("kind")) for g in got]
    assert events[0] == ("ticket.created", None)
    assert ("ticket.updated", "comment") in events and ("ticket.updated", "note") in events
    assert ("ticket.updated", "status") in events and events[-1] == ("csat.received", None)
    note = next(g for g in got if g.json["data"].get("change", {}).get("kind") == "note")
    assert "known bug" not in note.body.decode()  # internal notes stay inside
    reply = next(g for g in got if g.json["data"].get("change", {}).get("kind") == "comment")
    assert reply.json["data"]["change"]["body"] == "Try 6.2.1"
    assert got[-1].json["data"]["csat"]["rating"] == 5
    assert len({g.json["id"] for g in got}) == len(got)

    # The chat service's conversation.closed goes through emit().
    with live.db.session() as s:
        assert webhooks.emit(s, "conversation.closed", {"conversation": {"id": 7}}) == 0
        with pytest.raises(ValueError, match="unknown webhook event"):
            webhooks.emit(s, "ticket.deleted", {})
    assert admin("PATCH", f"/admin/webhooks/{hook['id']}", {"events": ["conversation.closed"]}).ok
    with live.db.session() as s:
        assert webhooks.emit(s, "conversation.closed", {"conversation": {"id": 7}}) == 1
    closed = receiver.wait("/crm", len(got) + 1)[-1]
    assert closed.json["event"] == "conversation.closed" and _verified(closed, secret)

    ds = _settled(admin, hook["id"], len(got) + 1)
    assert all(d["status"] == "delivered" for d in ds)
    assert all([a["status_code"] for a in d["attempts"]] == [204] for d in ds)
    log = admin("GET", "/admin/audit", params={"action": "settings.webhook."}).json()["entries"]
    assert [e["action"] for e in log] == ["settings.webhook.update", "settings.webhook.create"]


def test_failing_and_hanging_targets_are_retried_and_logged(
    live: LiveServer, receiver: Receiver
) -> None:
    admin = _admin(live)

    def subscribe(path: str) -> tuple[int, str]:
        r = admin(
            "POST", "/admin/webhooks", {"url": receiver.url + path, "events": ["ticket.created"]}
        )
        assert r.status_code == 201, r.text
        return r.json()["webhook"]["id"], r.json()["secret"]

    receiver.fail["/flaky"] = 1  # one 500, then fine
    receiver.fail["/broken"] = 100
    receiver.hang.add("/hang")
    flaky, flaky_secret = subscribe("/flaky")
    broken, _ = subscribe("/broken")
    hang, _ = subscribe("/hang")

    cust = customer(live, "wh-2")
    started = time.monotonic()
    r = cust.create(subject="Printer offline")
    took = time.monotonic() - started
    assert r.status_code == 201 and took < 0.5  # nobody waits for the targets

    # Flaky: retried after the first delay, then delivered; the same event id.
    tries = receiver.wait("/flaky", 2)
    assert tries[0].headers["X-HelpBridge-Delivery"] == tries[1].headers["X-HelpBridge-Delivery"]
    assert all(_verified(t, flaky_secret) for t in tries)
    [d] = _settled(admin, flaky, 1)
    assert d["status"] == "delivered"
    assert [(a["number"], a["status_code"], a["error"]) for a in d["attempts"]] == [
        (1, 500, "HTTP 500"),
        (2, 204, ""),
    ]
    # Broken: three tries (the first and two retries), then failed.
    [d] = _settled(admin, broken, 1)
    assert d["status"] == "failed" and d["finished_at"] is not None
    assert [a["status_code"] for a in d["attempts"]] == [500, 500, 500]
    gaps = [
        (b - a)
        for a, b in zip(
            [_ts(x["at"]) for x in d["attempts"]],
            [_ts(x["at"]) for x in d["attempts"]][1:],
            strict=False,
        )
    ]
    assert gaps[0] >= 0.15 and gaps[1] >= 0.35  # the backoff, growing
    # Hanging: each try cut at the timeout, recorded as such.
    [d] = _settled(admin, hang, 1)
    assert d["status"] == "failed" and len(d["attempts"]) == 3
    for a in d["attempts"]:
        assert a["status_code"] is None and a["error"] == "no answer within 1 s"
        assert 900 <= a["duration_ms"] < 3000
    assert len(receiver.on("/hang")) == 3
    # Filters and totals of the log; the service stayed responsive throughout.
    failed = admin("GET", f"/admin/webhooks/{broken}/deliveries", params={"status": "failed"})
    assert failed.json()["total"] == 1
    listed = {
        w["id"]: (w["pending"], w["failed"])
        for w in admin("GET", "/admin/webhooks").json()["webhooks"]
    }
    assert listed == {flaky: (0, 0), broken: (0, 1), hang: (0, 1)}
    # A paused subscription gets nothing; active again, it gets new events.
    assert admin("PATCH", f"/admin/webhooks/{flaky}", {"active": False}).json()["active"] is False
    cust.create(subject="Second")
    time.sleep(0.5)
    assert len(receiver.on("/flaky")) == 2
    assert admin("PATCH", f"/admin/webhooks/{flaky}", {"active": True}).ok
    cust.create(subject="Third")
    third = receiver.wait("/flaky", 3)[-1]
    assert third.json["data"]["ticket"]["subject"] == "Third"
    # Deleting a subscription deletes its log.
    assert admin("DELETE", f"/admin/webhooks/{broken}").status_code == 204
    assert admin("GET", f"/admin/webhooks/{broken}/deliveries").status_code == 404


def _ts(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text).timestamp()


def test_private_targets_are_refused_without_the_operators_setting(
    fresh_server: LiveServer, receiver: Receiver
) -> None:
    admin = _admin(fresh_server)
    for url, why in (
        (f"{receiver.url}/crm", "127.0.0.1"),
        ("http://10.0.0.8/crm", "private"),
        ("ftp://93.184.216.34/crm", "http and https"),
        ("http://[::1]:8080/", "::1"),
    ):
        r = admin("POST", "/admin/webhooks", {"url": url, "events": ["ticket.created"]})
        assert r.status_code == 422, r.text
        assert why in r.json()["error"]["message"]
    r = admin(
        "POST", "/admin/webhooks", {"url": "https://93.184.216.34/", "events": ["ticket.sold"]}
    )
    assert r.status_code == 422
    assert admin("GET", "/admin/webhooks").json()["webhooks"] == []
    assert receiver.got == []
