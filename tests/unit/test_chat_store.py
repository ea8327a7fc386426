"""Chat storage on a real SQLite file: message numbers under concurrent
writers, what customers see of internal notes, idempotent sends."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from protocol import realtime as rt
from protocol.models import Role
from server import agents, models
from server.chat import store
from server.db import Database, sqlite_url


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(sqlite_url(tmp_path))
    database.upgrade()
    return database


def _people(db: Database) -> tuple[store.Who, store.Who]:
    with db.session() as s:
        c = models.Customer(external_id="c-1", name="Ann", tier="vip", product="LedgerPro")
        s.add(c)
        a = agents.create_agent(s, email="bo@example.com", name="Bo", password="long enough pw")
        s.flush()
        return store.Who("customer", c.id, "Ann"), store.Who("agent", a.id, "Bo", Role.agent)


def _send(db: Database, who: store.Who, text: str, cid: int | None, **kw: Any) -> store.Sent:
    kw.setdefault("client_id", store.new_client_id())
    event = rt.Send(conversation_id=cid, text=text, **kw)
    return db.idempotent(lambda s: store.send(s, who, event))


def test_concurrent_writers_get_distinct_consecutive_numbers(db: Database) -> None:
    customer, agent = _people(db)
    cid = _send(db, customer, "hello", None).ack.conversation_id
    db.idempotent(lambda s: store.accept(s, agent, cid))
    acks: list[rt.Ack] = []
    lock = threading.Lock()

    def writer(who: store.Who, internal: bool) -> None:
        for i in range(15):
            sent = _send(db, who, f"{who.kind} {i}", cid, internal=internal)
            with lock:
                acks.append(sent.ack)

    threads = [
        threading.Thread(target=writer, args=(customer, False)),
        threading.Thread(target=writer, args=(agent, False)),
        threading.Thread(target=writer, args=(agent, True)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with db.session() as s:
        rows = s.scalars(
            select(models.ChatMessage)
            .where(models.ChatMessage.conversation_id == cid)
            .order_by(models.ChatMessage.seq)
        ).all()
        conv = s.get(models.Conversation, cid)
        assert conv is not None
        seqs = [r.seq for r in rows]
        assert seqs == list(range(1, len(rows) + 1))
        assert conv.last_seq == seqs[-1]
        assert sorted(a.seq for a in acks) == sorted({a.seq for a in acks})
        # Customers' chain skips exactly the internal notes.
        public = [r for r in rows if not r.internal]
        assert public[0].prev_public_seq == 0
        for before, after in itertools.pairwise(public):
            assert after.prev_public_seq == before.seq
        assert conv.last_public_seq == public[-1].seq

    with db.session() as s:
        outs, errors, upto = store.replay(
            s, customer, [rt.ResumePoint(conversation_id=cid, after_seq=0)]
        )
    assert errors == []
    got = [rt.parse_server_frame(o.frame) for o in outs]
    log = rt.ConversationLog()
    for m in got:
        assert isinstance(m, rt.MessageEvent)
        assert not m.internal
        assert log.add(m).in_order
    assert log.missing(cid) == []
    assert upto[cid] == public[-1].seq


def test_the_same_client_id_from_two_threads_stores_once(db: Database) -> None:
    customer, _ = _people(db)
    cid = _send(db, customer, "hello", None).ack.conversation_id
    results: list[store.Sent] = []
    barrier = threading.Barrier(4)

    def go() -> None:
        barrier.wait()
        results.append(_send(db, customer, "twice", cid, client_id="same-key-123"))

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.ack for r in results}) == 1
    assert sum(r.created for r in results) == 1
    with db.session() as s:
        n = s.scalar(select(func.count()).where(models.ChatMessage.client_id == "same-key-123"))
    assert n == 1


def test_refusals(db: Database) -> None:
    customer, agent = _people(db)
    cid = _send(db, customer, "hello", None).ack.conversation_id
    with db.session() as s:
        other = models.Customer(external_id="c-2", name="Eve")
        s.add(other)
        s.flush()
        eve = store.Who("customer", other.id, "Eve")
    cases: list[tuple[store.Who, str, int | None, dict[str, Any], str]] = [
        (eve, "mine now", cid, {}, "not_found"),
        (customer, "   ", cid, {}, "invalid_request"),
        (customer, "note", cid, {"internal": True}, "forbidden"),
        (agent, "hi", cid, {}, "forbidden"),  # not assigned to them
        (agent, "hi", None, {}, "invalid_request"),
        (customer, "file", cid, {"attachment_ids": [999]}, "invalid_request"),
    ]
    for who, text, conv, extra, code in cases:
        with pytest.raises(store.Refused) as info:
            _send(db, who, text, conv, **extra)
        assert info.value.code == code, (who, text, extra)
