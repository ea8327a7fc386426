"""Chat writes on one thread, several to a transaction when they queue up.

Every chat write (a message, a status change) is a short transaction. Run
one at a time on a thread of its own, they never wait on each other's locks
(SQLite has one writer anyway) and never fight the event loop for the GIL
in numbers. When messages arrive faster than single transactions commit,
the ones waiting go together in one transaction (group commit): the
session, ``BEGIN`` and ``COMMIT`` and the wake-up of the event loop are
paid once per batch, so the cost per message falls as load rises.

Only work marked ``batch`` joins a batch: it must refuse (raise) before it
writes anything, since a refusal cannot undo the others' writes in the
shared transaction. If anything else goes wrong in a batch, nothing of it
was committed and each job runs again on its own (the client sees at most
a slower answer). Results reach the waiting coroutines after the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session as DbSession

from server.chat.store import Refused
from server.db import Database

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_BATCH = 64


@dataclass(frozen=True)
class _Job:
    work: Callable[[DbSession], Any]
    batch: bool
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


@dataclass(frozen=True)
class _Done:
    job: _Job
    ok: bool
    value: Any


class BatchWriter:
    def __init__(self, db: Database, *, max_batch: int = MAX_BATCH) -> None:
        self.db = db
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.batches = 0
        self.jobs = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="chat-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Finish what is queued, then end the thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    async def run(self, work: Callable[[DbSession], T], *, batch: bool = False) -> T:
        """``work`` in a transaction on the writer thread; its result once committed."""
        if self._thread is None:
            raise RuntimeError("the chat writer is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(work, batch, loop, future))
        return await future

    # --- the writer thread ------------------------------------------------------------------

    def _run(self) -> None:
        held: _Job | None = None
        stop = False
        while not stop:
            job = held or self._queue.get()
            held = None
            if job is None:
                return
            jobs = [job]
            while job.batch and len(jobs) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                if not more.batch:
                    held = more  # runs alone, next
                    break
                jobs.append(more)
            self._deliver(self._batch(jobs) if len(jobs) > 1 else [self._alone(job)])
            self.batches += 1
            self.jobs += len(jobs)
        if held is not None:
            self._deliver([self._alone(held)])

    def _alone(self, job: _Job) -> _Done:
        try:
            return _Done(job, True, self.db.idempotent(job.work))
        except BaseException as exc:  # handed to the waiting coroutine
            return _Done(job, False, exc)

    def _batch(self, jobs: list[_Job]) -> list[_Done]:
        done: list[_Done] = []
        try:
            with self.db.session() as s:
                for job in jobs:
                    try:
                        done.append(_Done(job, True, job.work(s)))
                    except Refused as exc:  # refused before writing: the rest stand
                        done.append(_Done(job, False, exc))
        except Exception:
            log.warning("a batch of chat writes failed; running them one by one", exc_info=True)
            return [self._alone(job) for job in jobs]
        return done

    @staticmethod
    def _deliver(done: list[_Done]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Done]] = {}
        for d in done:
            by_loop.setdefault(d.job.loop, []).append(d)
        for loop, items in by_loop.items():
            # A closed loop has nobody waiting.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, items)


def _settle(items: list[_Done]) -> None:
    for d in items:
        if d.job.future.done():  # the waiter gave up (cancelled)
            continue
        if d.ok:
            d.job.future.set_result(d.value)
        else:
            d.job.future.set_exception(d.value)
