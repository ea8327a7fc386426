"""Small asyncio helpers the service's realtime parts share (chat hub,
remote-assist service)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Hashable
from typing import TypeVar

from sqlalchemy.orm import Session as DbSession
from starlette.concurrency import run_in_threadpool

from server.db import Database

T = TypeVar("T")


class KeyedLocks:
    """One asyncio lock per key (a conversation, a session), kept only while
    someone holds it or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


async def in_session(db: Database, work: Callable[[DbSession], T], *, write: bool) -> T:
    """``work`` in a transaction on the thread pool. Reads (``write=False``)
    need no turn on SQLite's write lock (WAL)."""

    def run() -> T:
        with db.session(serialize=write) as s:
            return work(s)

    return await run_in_threadpool(run)
