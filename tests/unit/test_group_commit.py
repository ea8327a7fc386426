"""The group-commit writer (chat and tickets): one thread, group commit,
refusals kept apart, started on demand."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol.models import ErrorCode
from server import models
from server.chat.store import Refused
from server.db import Database, sqlite_url
from server.group_commit import GroupCommitWriter


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(sqlite_url(tmp_path))
    database.upgrade()
    return database


def _add(name: str) -> Callable[[Session], str]:
    def work(s: Session) -> str:
        s.add(models.Customer(external_id=name))
        s.flush()
        return name

    return work


def _names(db: Database) -> set[str]:
    with db.session() as s:
        return set(s.scalars(select(models.Customer.external_id)))


def test_queued_writes_share_a_transaction_and_refusals_stay_apart(db: Database) -> None:
    writer = GroupCommitWriter(db, name="chat-writer", refusals=(Refused,))
    gate = threading.Event()

    def blocker(s: Session) -> str:
        gate.wait(5)  # holds the thread while the others queue up
        return "first"

    def refuse(s: Session) -> str:
        raise Refused(ErrorCode.forbidden, "no")

    async def body() -> list[object]:
        first = asyncio.ensure_future(writer.run(blocker))
        await asyncio.sleep(0.05)
        rest: list[asyncio.Future[str]] = [
            asyncio.ensure_future(writer.run(_add(f"c{i}"), batch=True)) for i in range(5)
        ]
        rest.insert(2, asyncio.ensure_future(writer.run(refuse, batch=True)))
        await asyncio.sleep(0.05)
        gate.set()
        return list(await asyncio.gather(first, *rest, return_exceptions=True))

    writer.start()
    try:
        results = asyncio.run(body())
    finally:
        writer.stop()
    assert results[0] == "first"
    assert isinstance(results[3], Refused)
    assert [r for i, r in enumerate(results[1:]) if i != 2] == [f"c{i}" for i in range(5)]
    assert _names(db) == {f"c{i}" for i in range(5)}
    assert writer.batches == 2  # the blocker, then the six together
    assert writer.jobs == 7


def test_a_batch_that_fails_runs_again_one_by_one(db: Database) -> None:
    writer = GroupCommitWriter(db, name="chat-writer", refusals=(Refused,))
    gate = threading.Event()

    def blocker(s: Session) -> None:
        gate.wait(5)

    def broken(s: Session) -> None:
        s.add(models.Customer(external_id="half-written"))
        s.flush()
        raise ValueError("a bug")

    async def body() -> list[object]:
        first = asyncio.ensure_future(writer.run(blocker))
        await asyncio.sleep(0.05)
        jobs = [
            asyncio.ensure_future(writer.run(_add("a"), batch=True)),
            asyncio.ensure_future(writer.run(broken, batch=True)),
            asyncio.ensure_future(writer.run(_add("b"), batch=True)),
        ]
        await asyncio.sleep(0.05)
        gate.set()
        await first
        return list(await asyncio.gather(*jobs, return_exceptions=True))

    writer.start()
    try:
        results = asyncio.run(body())
    finally:
        writer.stop()
    assert results[0] == "a" and results[2] == "b"
    assert isinstance(results[1], ValueError)
    assert _names(db) == {"a", "b"}  # nothing of the broken one


def test_the_thread_starts_with_the_first_job_and_ends_when_idle(db: Database) -> None:
    writer = GroupCommitWriter(db, name="ticket-writer", refusals=(Refused,), idle_seconds=0.2)
    assert not writer.running

    async def body(name: str) -> None:
        await writer.run(_add(name))

    asyncio.run(body("x"))
    assert writer.running
    deadline = time.monotonic() + 10
    while writer.running:
        assert time.monotonic() < deadline, "the idle writer did not end"
        time.sleep(0.02)
    asyncio.run(body("y"))  # a new job starts it again
    writer.stop()
    assert _names(db) == {"x", "y"}
