"""Database engine, sessions and schema upgrades.

SQLite (WAL mode, in the data directory) by default; PostgreSQL through a
``postgresql+psycopg://`` URL. The schema is always brought to the newest
Alembic revision at start-up; the service never creates tables any other way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'helpbridge.sqlite3').resolve()}"


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=8,
            max_overflow=8,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it is there)."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class Database:
    """The engine and a session factory; one per service process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time and waits for the lock by sleeping
        # (busy_timeout backs off in steps of up to 100 ms), which wrecks
        # throughput under concurrent writes. Transactions through session()
        # take turns on this lock instead; they are short. Read-only paths
        # such as search use their own connections and run alongside (WAL).
        # A plain Lock, not an RLock: FastAPI may enter and leave a yield
        # dependency on different threads. ``_holder`` lets a thread that
        # already has its turn open a nested session without deadlock.
        self._turn: threading.Lock | None = threading.Lock() if self.is_sqlite else None
        self._holder: int | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def upgrade(self) -> None:
        upgrade(self.engine)

    @contextmanager
    def session(self, *, serialize: bool = True) -> Iterator[Session]:
        """A transaction, committed on success and rolled back on error.

        ``serialize=False`` skips the SQLite turn lock: for sessions held
        across an ``await`` (FastAPI's yield dependencies), where a lock held
        while the event loop moves on could starve the thread pool.
        """
        if not serialize or self._turn is None or self._holder == threading.get_ident():
            yield from self._session()
            return
        with self._turn:
            self._holder = threading.get_ident()
            try:
                yield from self._session()
            finally:
                self._holder = None

    def _session(self) -> Iterator[Session]:
        with self.sessions() as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def idempotent(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in a transaction; if a concurrent request with the same
        client key committed first (a unique constraint fails), run it once
        more, when it finds and returns what the other stored."""
        try:
            with self.session() as s:
                return work(s)
        except IntegrityError:
            log.info("retrying after a concurrent duplicate")
            with self.session() as s:
                return work(s)

    def dispose(self) -> None:
        self.engine.dispose()
