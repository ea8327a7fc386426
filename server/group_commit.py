"""Writes on one thread, several to a transaction when they queue up.

Chat messages and new tickets arrive in bursts. Each is a short
transaction; run on request threads, twenty at a time would queue on
SQLite's single writer and fight the event loop for the GIL. A
:class:`GroupCommitWriter` runs them one after another on a thread of its
own, and the ones that queued up meanwhile share one transaction (group
commit): the session, ``BEGIN``, ``COMMIT``, a ``finish`` step (the report
rollups of a batch of tickets) and the hand-off to the event loop are paid
once a batch, so the cost per write falls as load rises.

Only work marked ``batch`` joins a batch, and it must refuse (raise one of
the writer's ``refusals``) before it writes anything: a refusal then
answers its own caller and the rest of the batch commits. If anything else
goes wrong in a batch, nothing of it was committed and every job runs again
in a transaction of its own (:meth:`Database.idempotent`: a duplicate
client key finds the stored row), so one bad write costs the others at
most a slower answer. Results reach the waiting coroutines after the commit.

The thread starts with the first job (or :meth:`start`) and, with
``idle_seconds``, ends after that long without one.
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


class GroupCommitWriter:
    def __init__(
        self,
        db: Database,
        *,
        name: str,
        refusals: tuple[type[Exception], ...],
        finish: Callable[[DbSession], None] | None = None,
        max_batch: int = MAX_BATCH,
        idle_seconds: float | None = None,
    ) -> None:
        """``refusals``: what batched work raises to refuse before writing.
        ``finish`` runs in every transaction after its jobs, before the
        commit. ``idle_seconds``: end the thread after that long without a
        job (None: run until :meth:`stop`)."""
        self.db = db
        self.name = name
        self.refusals = refusals
        self.finish = finish
        self.max_batch = max_batch
        self.idle_seconds = idle_seconds
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.batches = 0
        self.jobs = 0

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        with self._lock:
            self._spawn()

    def stop(self) -> None:
        """Finish what is queued, then end the thread."""
        with self._lock:
            thread = self._thread
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            thread.join(timeout=30)

    async def run(self, work: Callable[[DbSession], T], *, batch: bool = True) -> T:
        """``work`` in a transaction on the writer thread; its result once committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:
            self._queue.put(_Job(work, batch, loop, future))
            self._spawn()
        return await future

    def _spawn(self) -> None:
        """Start the thread if none runs (the caller holds the lock)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    # --- the writer thread ------------------------------------------------------------------

    def _next(self) -> _Job | None:
        """The next job; None to end the thread (stopped, or idle for long)."""
        while True:
            try:
                return self._queue.get(timeout=self.idle_seconds)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        return None

    def _run(self) -> None:
        held: _Job | None = None
        try:
            stop = False
            while not stop:
                job = held or self._next()
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
        finally:
            with self._lock:
                if self._thread is threading.current_thread():
                    self._thread = None
                leftover = []
                while True:  # queued after a stop or an idle end: the next thread runs it
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is not None:
                        leftover.append(item)
                for item in leftover:
                    self._queue.put(item)
                if leftover:
                    self._spawn()

    def _work(self, job: _Job, s: DbSession) -> Any:
        value = job.work(s)
        if self.finish is not None:
            self.finish(s)
        return value

    def _alone(self, job: _Job) -> _Done:
        try:
            return _Done(job, True, self.db.idempotent(lambda s: self._work(job, s)))
        except BaseException as exc:  # handed to the waiting coroutine
            return _Done(job, False, exc)

    def _batch(self, jobs: list[_Job]) -> list[_Done]:
        done: list[_Done] = []
        try:
            with self.db.session() as s:
                for job in jobs:
                    try:
                        done.append(_Done(job, True, job.work(s)))
                    except self.refusals as exc:  # refused before writing: the rest stand
                        done.append(_Done(job, False, exc))
                if self.finish is not None:
                    self.finish(s)
        except Exception:
            log.warning("%s: a batch failed; running its jobs one by one", self.name, exc_info=True)
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
