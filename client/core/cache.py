"""Offline cache of knowledge-base answers, so help still works without a network.

A small SQLite file in the user's data directory holds the JSON of the
protocol models the portal last received: search result pages, articles and
category lists. Each table keeps the most recently used entries only (an LRU
bound), so the file stays small however long the portal runs.

The cache is disposable: a corrupt or foreign file is moved aside and a new
one created, an entry that no longer parses (e.g. after an upgrade) is
dropped, and a cache that cannot be written at all degrades to memory. None
of this ever reaches the user as an error.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from protocol.models import Article, CategoryList, SearchResults

__all__ = ["MAX_ARTICLES", "MAX_CATEGORY_LISTS", "MAX_SEARCHES", "OfflineCache", "search_key"]

log = logging.getLogger(__name__)

MAX_SEARCHES = 500
MAX_ARTICLES = 1000
MAX_CATEGORY_LISTS = 20

# Bumped when the table layout changes; an older file is simply rebuilt.
_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS searches (
    key  TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    used INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS articles (
    key  INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    used INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS categories (
    key  TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    used INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS searches_used ON searches(used);
CREATE INDEX IF NOT EXISTS articles_used ON articles(used);
CREATE INDEX IF NOT EXISTS categories_used ON categories(used);
"""
_TABLES = ("searches", "articles", "categories")

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def search_key(
    query: str,
    *,
    locale: str | None = None,
    product: str | None = None,
    category: str | None = None,
    page: int = 1,
    per_page: int = 10,
) -> str:
    """A cache key for one search request (same arguments as ``ApiClient.search``)."""
    return json.dumps(
        [query.strip(), locale, product, category, page, per_page], ensure_ascii=False
    )


class OfflineCache:
    """LRU-bounded SQLite cache of protocol models. Thread-safe (one lock)."""

    def __init__(
        self,
        path: Path,
        *,
        max_searches: int = MAX_SEARCHES,
        max_articles: int = MAX_ARTICLES,
        max_category_lists: int = MAX_CATEGORY_LISTS,
    ) -> None:
        self.path = Path(path)
        self._limits = {
            "searches": max_searches,
            "articles": max_articles,
            "categories": max_category_lists,
        }
        self._lock = threading.Lock()
        self._clock = 0
        self.in_memory = False
        self._conn = self._open()

    def __repr__(self) -> str:
        return f"OfflineCache({str(self.path)!r}, in_memory={self.in_memory})"

    # --- public API ---------------------------------------------------------

    def put_search(self, key: str, results: SearchResults) -> None:
        self._put("searches", key, results)

    def get_search(self, key: str) -> SearchResults | None:
        return self._get("searches", key, SearchResults)

    def put_article(self, article: Article) -> None:
        self._put("articles", article.id, article)

    def get_article(self, article_id: int) -> Article | None:
        return self._get("articles", article_id, Article)

    def put_categories(self, locale: str | None, categories: CategoryList) -> None:
        self._put("categories", locale or "", categories)

    def get_categories(self, locale: str | None) -> CategoryList | None:
        return self._get("categories", locale or "", CategoryList)

    def count(self, table: str) -> int:
        """Number of entries in ``table`` ("searches", "articles" or "categories")."""
        if table not in _TABLES:
            raise ValueError(f"unknown cache table {table!r}")

        def op(conn: sqlite3.Connection) -> int:
            row = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()  # noqa: S608
            return int(row[0])

        return self._run(op, 0)

    def clear(self) -> None:
        """Drop every entry (e.g. when the customer signs out)."""

        def op(conn: sqlite3.Connection) -> None:
            with conn:
                for table in _TABLES:
                    conn.execute(f"DELETE FROM {table}")  # noqa: S608

        self._run(op, None)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- internals ----------------------------------------------------------

    def _connect(self, target: str) -> sqlite3.Connection:
        # check_same_thread=False: the lock below serialises every use.
        conn = sqlite3.connect(target, timeout=5.0, check_same_thread=False)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, _SCHEMA_VERSION):
                with conn:
                    for table in _TABLES:
                        conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute("PRAGMA synchronous = NORMAL")
            with conn:
                conn.executescript(_SCHEMA)
                conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {check}")
            row = conn.execute(
                "SELECT MAX(m) FROM (SELECT MAX(used) AS m FROM searches "
                "UNION ALL SELECT MAX(used) FROM articles "
                "UNION ALL SELECT MAX(used) FROM categories)"
            ).fetchone()
            self._clock = int(row[0] or 0)
        except BaseException:
            conn.close()
            raise
        return conn

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return self._connect(str(self.path))
        except sqlite3.OperationalError as exc:
            # Cannot open (a directory, no permission, locked): leave it alone.
            log.warning("offline cache %s cannot be opened (%s); using memory", self.path, exc)
        except sqlite3.DatabaseError as exc:
            # "file is not a database", "disk image is malformed"...
            log.warning("offline cache %s is unreadable (%s); starting a new one", self.path, exc)
            if self.path.is_file():
                self._move_aside()
            try:
                return self._connect(str(self.path))
            except (sqlite3.Error, OSError) as exc2:
                log.warning("offline cache cannot be recreated (%s); using memory", exc2)
        except OSError as exc:
            log.warning("offline cache %s cannot be opened (%s); using memory", self.path, exc)
        self.in_memory = True
        return self._connect(":memory:")

    def _move_aside(self) -> None:
        """Keep the damaged file next to the new one (for a bug report), once."""
        for suffix in ("-wal", "-shm", "-journal"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)
        try:
            self.path.replace(self.path.with_name(self.path.name + ".corrupt"))
        except OSError:
            self.path.unlink(missing_ok=True)

    def _recover(self) -> None:
        """Called with the lock held after an error on a working connection."""
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()
        if not self.in_memory and self.path.is_file():
            self._move_aside()
        self._conn = self._open()

    def _run(self, op: Callable[[sqlite3.Connection], T], default: T) -> T:
        with self._lock:
            try:
                return op(self._conn)
            except sqlite3.OperationalError as exc:
                # Locked, read-only, disk full: skip this read or write.
                log.warning("offline cache unavailable (%s)", exc)
            except sqlite3.DatabaseError as exc:
                # Disk image malformed, file replaced under us...: start over.
                log.warning("offline cache error (%s); recreating it", exc)
                self._recover()
            except (sqlite3.Error, OSError) as exc:
                log.warning("offline cache unavailable (%s)", exc)
            return default

    def _tick(self) -> int:
        self._clock += 1
        return self._clock

    def _put(self, table: str, key: str | int, model: BaseModel) -> None:
        body = model.model_dump_json()
        limit = self._limits[table]

        def op(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute(
                    f"INSERT INTO {table}(key, body, used) VALUES (?, ?, ?) "  # noqa: S608
                    "ON CONFLICT(key) DO UPDATE SET body = excluded.body, used = excluded.used",
                    (key, body, self._tick()),
                )
                # Keep the `limit` most recently used rows.
                conn.execute(
                    f"DELETE FROM {table} WHERE used <= ("  # noqa: S608
                    f"SELECT used FROM {table} ORDER BY used DESC LIMIT 1 OFFSET ?)",
                    (limit,),
                )

        self._run(op, None)

    def _get(self, table: str, key: str | int, model: type[M]) -> M | None:
        def op(conn: sqlite3.Connection) -> M | None:
            row = conn.execute(
                f"SELECT body FROM {table} WHERE key = ?",  # noqa: S608
                (key,),
            ).fetchone()
            if row is None:
                return None
            try:
                value = model.model_validate_json(row[0])
            except ValidationError:
                # Written by another version of the portal: not worth keeping.
                with conn:
                    conn.execute(f"DELETE FROM {table} WHERE key = ?", (key,))  # noqa: S608
                return None
            with conn:
                conn.execute(
                    f"UPDATE {table} SET used = ? WHERE key = ?",  # noqa: S608
                    (self._tick(), key),
                )
            return value

        return self._run(op, None)
