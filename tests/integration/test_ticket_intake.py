"""Ticket intake under load: the writer thread, group commit, idempotency and
the report rollups, on SQLite and (when a test cluster is given) PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from server import models, reports, tickets
from server.group_commit import GroupCommitWriter
from tests.databases import BACKENDS, database_url
from tests.servers import LiveServer, start_live_server


@pytest.fixture(params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[LiveServer]:
    data_dir = tmp_path / "svc"
    with database_url(request.param, data_dir) as url:
        live = start_live_server(data_dir, seed_kb=False, database_url=url)
        try:
            yield live
        finally:
            live.stop()
            live.db.dispose()


class Customer:
    def __init__(self, server: LiveServer, sub: str, **claims: Any) -> None:
        self.base = f"{server.url}/api/v1"
        r = requests.post(
            f"{self.base}/auth/identity",
            json={"token": server.sign(sub, name=sub, **claims)},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        self.id: int = r.json()["customer"]["id"]
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"

    def create(self, **body: Any) -> requests.Response:
        body.setdefault("client_key", uuid.uuid4().hex)
        body.setdefault("subject", "Printing fails")
        return self.http.post(f"{self.base}/tickets", json=body, timeout=30)

    def upload(self, data: bytes = b"log line\n") -> int:
        r = self.http.put(
            f"{self.base}/attachments/{uuid.uuid4().hex}",
            params={"filename": "log.txt"},
            data=data,
            timeout=30,
        )
        assert r.status_code == 200, r.text
        attachment_id: int = r.json()["id"]
        return attachment_id


def writer_of(server: LiveServer) -> GroupCommitWriter:
    app: Any = server._server.config.app
    writer: GroupCommitWriter = app.state.ticket_writer
    return writer


class Held:
    """Keeps the writer thread busy in a job of its own until released, so
    the tickets sent meanwhile queue up and go in one batch."""

    def __init__(self, writer: GroupCommitWriter) -> None:
        self.writer = writer
        self.entered = threading.Event()
        self.release = threading.Event()

        def block(_db: DbSession) -> None:
            self.entered.set()
            assert self.release.wait(60)

        self.thread = threading.Thread(target=lambda: asyncio.run(writer.run(block)))
        self.thread.start()
        assert self.entered.wait(30)

    def wait_queued(self, n: int) -> None:
        deadline = datetime.now(UTC) + timedelta(seconds=60)
        while self.writer._queue.qsize() < n:
            assert datetime.now(UTC) < deadline, "requests did not reach the writer"
            threading.Event().wait(0.01)

    def done(self) -> None:
        self.release.set()
        self.thread.join(30)


def rows(server: LiveServer, stmt: Any) -> list[Any]:
    with server.db.session() as s:
        return list(s.execute(stmt).all())


def test_concurrent_retries_of_one_key_store_one_ticket(server: LiveServer) -> None:
    c = Customer(server, "retry-" + uuid.uuid4().hex[:6])
    key = uuid.uuid4().hex
    start = threading.Barrier(16)

    def send(_: int) -> requests.Response:
        start.wait()
        return c.create(client_key=key, subject="Same ticket", body="once")

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(send, range(16)))
    assert sorted(r.status_code for r in answers) == [200] * 15 + [201]
    assert len({r.json()["id"] for r in answers}) == 1
    assert all(r.json()["events"][0]["kind"] == "created" for r in answers)
    T, E = models.Ticket, models.TicketEvent
    stored = rows(server, select(T.id).where(T.requester_id == c.id, T.client_key == key))
    assert len(stored) == 1
    events = rows(server, select(E.kind).where(E.ticket_id == stored[0].id))
    assert [e.kind for e in events] == ["created"]


def test_a_batch_answers_each_ticket_on_its_own(server: LiveServer) -> None:
    """Queued tickets share a transaction; a refused one (another customer's
    file) fails alone, a retry inside the batch finds the first, and the
    answers are the same as one at a time."""
    ann = Customer(server, "ann-" + uuid.uuid4().hex[:6], company="Acme")
    bob = Customer(server, "bob-" + uuid.uuid4().hex[:6])
    bobs_file = bob.upload()
    anns_file = ann.upload(b"x" * 1000)
    writer_key = uuid.uuid4().hex
    assert _writer_started(server, ann)
    held = Held(writer_of(server))
    before = (held.writer.batches, held.writer.jobs)
    sends: list[Callable[[], requests.Response]] = [
        lambda: ann.create(subject="Good one", urgency="high", impact="high"),
        lambda: ann.create(subject="Not mine", attachment_ids=[bobs_file]),
        lambda: ann.create(client_key=writer_key, subject="With file", attachment_ids=[anns_file]),
        lambda: ann.create(client_key=writer_key, subject="With file", attachment_ids=[anns_file]),
        lambda: bob.create(subject="Bob's", category="billing"),
    ]
    with ThreadPoolExecutor(len(sends)) as pool:
        futures = [pool.submit(f) for f in sends]
        held.wait_queued(len(sends))
        held.done()
        answers = [f.result() for f in futures]
    # The blocker, then all five together.
    assert held.writer.batches - before[0] == 2
    assert held.writer.jobs - before[1] == 1 + len(sends)
    good, refused, first, again, bobs = answers
    assert good.status_code == 201 and good.json()["priority"] == "P1"
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["message"] == f"attachment {bobs_file} is not yours"
    assert sorted([first.status_code, again.status_code]) == [200, 201]
    assert first.json()["id"] == again.json()["id"]
    assert [a["id"] for a in first.json()["attachments"]] == [anns_file]
    assert first.json()["events"][0]["attachments"][0]["size"] == 1000
    assert bobs.status_code == 201 and bobs.json()["category"] == "billing"
    # What was stored is what a fresh read shows.
    for r in (good, first, bobs):
        who = ann if r is not bobs else bob
        shown = who.http.get(f"{who.base}/tickets/{r.json()['id']}", timeout=10).json()
        assert shown["events"] == r.json()["events"]
        assert shown["attachments"] == r.json()["attachments"]
        assert {k: shown[k] for k in r.json() if k != "updated_at"} == {
            k: v for k, v in r.json().items() if k != "updated_at"
        }
    A = models.Attachment
    assert rows(server, select(A.ticket_id).where(A.id == bobs_file))[0].ticket_id is None
    assert (
        rows(server, select(A.ticket_id).where(A.id == anns_file))[0].ticket_id
        == (first.json()["id"])
    )


def _writer_started(server: LiveServer, c: Customer) -> bool:
    """The writer thread starts with the first ticket."""
    assert c.create(subject="warm-up").status_code == 201
    return writer_of(server).running


def test_a_failed_batch_runs_each_ticket_again_alone(server: LiveServer) -> None:
    c = Customer(server, "fail-" + uuid.uuid4().hex[:6])
    assert _writer_started(server, c)
    writer = writer_of(server)
    held = Held(writer)

    def broken(db: DbSession) -> None:
        db.add(models.Ticket(client_key="x", subject="no requester"))  # NOT NULL fails
        db.flush()

    outcome: list[BaseException | None] = []

    def run_broken() -> None:
        try:
            asyncio.run(writer.run(broken))
            outcome.append(None)
        except Exception as exc:
            outcome.append(exc)

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(c.create, subject=f"Batch {i}") for i in range(3)]
        held.wait_queued(3)
        bad = threading.Thread(target=run_broken)
        bad.start()
        held.wait_queued(4)
        held.done()
        answers = [f.result() for f in futures]
        bad.join(30)
    assert [r.status_code for r in answers] == [201, 201, 201]
    assert len(outcome) == 1 and outcome[0] is not None
    ids = [r.json()["id"] for r in answers]
    T = models.Ticket
    assert len(rows(server, select(T.id).where(T.id.in_(ids)))) == 3


def test_a_burst_keeps_sla_report_columns_and_rollups_exact(server: LiveServer) -> None:
    people = [
        Customer(server, "normal-" + uuid.uuid4().hex[:6], product="Ledger", product_version="7.1"),
        Customer(server, "vip-" + uuid.uuid4().hex[:6], tier="vip"),
        Customer(server, "svip-" + uuid.uuid4().hex[:6], tier="svip", product="Payroll"),
    ]
    levels = ["high", "medium", "low"]
    jobs = []
    for i in range(36):
        body: dict[str, Any] = {
            "subject": f"Burst {i}",
            "urgency": levels[i % 3],
            "impact": levels[(i // 3) % 3],
            "category": ["", "billing", "printing"][i % 3],
        }
        if i % 4 == 0:
            body["context"] = {"product": " Stock ", "module": "Import", "version": "2.0"}
        jobs.append((people[i % 3], body))
    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda job: job[0].create(**job[1]), jobs))
    assert all(r.status_code == 201 for r in answers), [r.text for r in answers]
    T = models.Ticket
    stored = {
        r.id: r
        for r in rows(
            server,
            select(
                T.id,
                T.priority,
                T.created_at,
                T.first_response_due,
                T.resolution_due,
                T.product,
                T.module,
                T.version,
                T.category,
                T.reopened,
                T.updated_at,
            ).where(T.id.in_([r.json()["id"] for r in answers])),
        )
    }
    # The customer's own product and version, unless the host's context says.
    own = {0: ("Ledger", "7.1"), 1: ("", ""), 2: ("Payroll", "")}
    for (who, body), r in zip(jobs, answers, strict=True):
        row = stored[r.json()["id"]]
        n = people.index(who)
        tier = ("normal", "vip", "svip")[n]
        first, resolve = tickets.DEFAULT_SLA[tier][row.priority]
        assert row.first_response_due - row.created_at == timedelta(minutes=first)
        assert row.resolution_due - row.created_at == timedelta(minutes=resolve)
        shown = datetime.fromisoformat(r.json()["first_response_due"].replace("Z", "+00:00"))
        assert shown == row.first_response_due
        assert row.updated_at == row.created_at
        if "context" in body:
            assert (row.product, row.module, row.version) == ("Stock", "Import", "2.0")
        else:
            assert (row.product, row.module, row.version) == (*own[n][:1], "", own[n][1])
        assert row.category == body["category"]
        assert row.reopened is False
    # The rollups kept by deltas equal a recomputation from the tickets.
    R, D = models.ReportDay, models.ReportDayCount
    days = select(R.day, R.assignee_key, *(getattr(R, n) for n in reports.COUNTER_NAMES))
    days = days.order_by(R.day, R.assignee_key)
    counts = select(D.day, D.dimension, D.value, D.created).order_by(D.day, D.dimension, D.value)
    kept_days, kept_counts = rows(server, days), rows(server, counts)
    assert sum(r.created for r in kept_days) == len(answers)
    assert sum(r.created for r in kept_counts if r.dimension == "category") == len(answers)
    with server.db.engine.begin() as conn:
        reports.rebuild(conn)
    assert rows(server, days) == kept_days
    assert rows(server, counts) == kept_counts


def test_webhook_subscribers_get_ticket_created(server: LiveServer) -> None:
    with server.db.session() as s:
        s.add(
            models.WebhookSubscription(
                url="https://hooks.example.com/in", events=["ticket.created"], secret="s3cret"
            )
        )
    c = Customer(server, "hook-" + uuid.uuid4().hex[:6], email="li@example.com")
    r = c.create(subject="Hooked", body="see payload")
    assert r.status_code == 201, r.text
    W = models.WebhookDelivery
    found = rows(server, select(W.event, W.payload).where(W.event == "ticket.created"))
    assert len(found) == 1
    data = json.loads(found[0].payload)["data"]["ticket"]
    assert data["id"] == r.json()["id"]
    assert data["number"] == r.json()["number"]
    assert data["subject"] == "Hooked"
    assert data["requester"]["email"] == "li@example.com"
    assert data["status"] == "new"
    assert rows(server, select(func.count()).select_from(W))[0][0] == 1
