"""The outbox: new tickets and replies are kept on disk until the service has them.

Nothing the customer writes is lost. Every new ticket or reply is written to
a small SQLite database FIRST, with an idempotency key made once, and its
files are COPIED next to it at that moment (the original may be moved or
deleted later; a screenshot may exist only in memory). A background thread
then delivers items in order:

1. each file is uploaded under its own stored key, and the attachment id the
   service gives back is recorded (uploading again would be harmless: the
   service returns the stored attachment for a known key);
2. the ticket (or reply) is created with the item's stored key, so a retry
   after any failure returns the first result instead of a duplicate.

State is committed (``synchronous=FULL``: this is the customer's only copy)
after every step, so killing the process at any moment loses nothing: at the
next start, items caught ``sending`` go back to ``pending`` and resume where
they were.

Failures:

* temporary (offline, timeouts, HTTP 5xx, 408, 429, a broken answer): retried
  with exponential backoff and jitter, 1 s doubling up to 5 min; :meth:`Outbox.kick`
  retries at once (the service came back, a new item was queued);
* the session is gone (HTTP 401 after the client's own refresh): the item
  waits and ``on_auth_needed`` asks the UI to sign in again; ``kick()`` after
  signing in resumes;
* permanent (any other 4xx: the ticket was closed, validation...): the item
  is marked ``failed`` with the service's message and stays, visible, until
  the customer retries or discards it. Nothing is ever dropped silently.

Delivered items stay ``sent`` (with the ticket id) for a week for the UI,
then are pruned; their file copies are deleted as soon as they are delivered,
since the service then holds them.

A corrupt database is moved aside (``outbox.sqlite3.corrupt-<time>``, kept
for support) and a new one created, with an error in the log; the copied
files of the lost items are then left in place, never deleted.

Callbacks (``on_change``, ``on_progress``, ``on_auth_needed``) run on the
worker thread or on the thread that called the method; a Qt UI must bridge
them to queued signals. ``enqueue_*`` copies files and should not run on the
UI thread for large files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import random
import re
import secrets
import shutil
import sqlite3
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import ValidationError

from client.core.api import ApiClient, ApiError, OfflineError
from protocol.models import ErrorCode
from protocol.tickets import (
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_TICKET_BYTES,
    CommentCreate,
    Level,
    TicketCreate,
)

__all__ = [
    "BACKOFF_MAX",
    "BACKOFF_START",
    "KEEP_SENT",
    "MAX_FILES",
    "FileSource",
    "ItemKind",
    "ItemState",
    "Outbox",
    "OutboxError",
    "OutboxFile",
    "OutboxItem",
    "outbox_path",
]

log = logging.getLogger(__name__)

ItemKind = Literal["ticket", "reply"]
ItemState = Literal["pending", "sending", "sent", "failed"]
FileSource = Path | str | tuple[str, bytes]
"""A file on disk, or ``(display name, content)`` for one that exists only in memory."""

BACKOFF_START = 1.0
BACKOFF_MAX = 300.0
KEEP_SENT = timedelta(days=7)
MAX_FILES = 50
"""The service takes at most 50 attachments per ticket or reply."""

AUTH_RETRY = 300.0
"""Waiting for a new sign-in, the item is still tried again this often."""

_SUMMARY_CHARS = 80
_COPY_CHUNK = 1024 * 1024
_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT NOT NULL CHECK (kind IN ('ticket', 'reply')),
    state            TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    client_key       TEXT NOT NULL UNIQUE,
    ticket_id        INTEGER,
    payload          TEXT NOT NULL,
    summary          TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL,
    error            TEXT,
    error_code       TEXT,
    created_at       REAL NOT NULL,
    sent_at          REAL,
    result_ticket_id INTEGER
);
CREATE TABLE IF NOT EXISTS files (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id       INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    name          TEXT NOT NULL,
    stored        TEXT NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    client_key    TEXT NOT NULL,
    attachment_id INTEGER,
    UNIQUE (item_id, position)
);
CREATE INDEX IF NOT EXISTS items_state ON items(state, id);
"""

_TRANSIENT_STATUS = frozenset({408, 429})
_SESSION_CODES = frozenset(
    {
        ErrorCode.session_missing.value,
        ErrorCode.session_invalid.value,
        ErrorCode.session_expired.value,
        ErrorCode.session_revoked.value,
    }
)
_SAFE_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class OutboxError(Exception):
    """Refused at enqueue (too large, empty, unreadable, invalid), or an
    operation that cannot be done; ``message`` is for the customer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class OutboxFile:
    name: str
    """As the customer gave it (the service sanitises it)."""
    size: int
    sha256: str
    attachment_id: int | None
    """Set once uploaded."""


@dataclass(frozen=True)
class OutboxItem:
    id: int
    kind: ItemKind
    state: ItemState
    attempts: int
    next_attempt_at: datetime | None
    """When a ``pending`` item is tried next (None otherwise)."""
    error: str | None
    """Why the last attempt did not deliver (also set while retrying)."""
    created_at: datetime
    result_ticket_id: int | None
    """The ticket created (or replied to), once ``sent``."""
    summary: str
    """The subject, or a reply's first line."""
    error_code: str | None = None
    ticket_id: int | None = None
    """A reply's ticket."""
    sent_at: datetime | None = None
    waiting_for_sign_in: bool = False
    files: tuple[OutboxFile, ...] = ()

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def outbox_path(data_dir: Path, customer_external_id: str) -> Path:
    """A customer's own outbox file, so items are only ever sent under the
    session of the customer who wrote them."""
    digest = hashlib.sha256(customer_external_id.encode()).hexdigest()[:16]
    return Path(data_dir) / "outbox" / f"{digest}.sqlite3"


class _Stopped(Exception):
    """The outbox is stopping: abandon the current transfer, it resumes later."""


class _Permanent(Exception):
    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n} bytes"


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _new_key() -> str:
    return secrets.token_hex(16)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= _SUMMARY_CHARS else line[: _SUMMARY_CHARS - 1] + "…"
    return ""


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "input"
    return f"{where}: {first.get('msg', 'invalid')}"


def _fsync_dir(path: Path) -> None:
    # Makes a rename or a new file durable on POSIX; not possible on Windows.
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class Outbox:
    """The persistent queue of tickets and replies, and the thread delivering it."""

    def __init__(
        self,
        path: Path,
        api: ApiClient,
        *,
        on_change: Callable[[OutboxItem], None] | None = None,
        on_progress: Callable[[int, int, int], None] | None = None,
        on_auth_needed: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        keep_sent: timedelta = KEEP_SENT,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        max_ticket_bytes: int = DEFAULT_MAX_TICKET_BYTES,
    ) -> None:
        """``on_progress(item_id, bytes_sent, bytes_total)`` follows uploads;
        ``clock`` (epoch seconds) and ``rng`` are replaceable for tests."""
        self.path = Path(path)
        self.api = api
        self.on_change = on_change
        self.on_progress = on_progress
        self.on_auth_needed = on_auth_needed
        self.files_dir = self.path.with_name(self.path.stem + "-files")
        self.persistent = True
        self.problem: str | None = None
        """Said once to the customer when the outbox cannot keep items on disk."""
        self._clock = clock
        self._rng = rng or random.Random()
        self._keep_sent = keep_sent
        self._max_file = max_file_bytes
        self._max_ticket = max_ticket_bytes
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._kicked = False
        self._thread: threading.Thread | None = None
        self._current: int | None = None
        self._last_prune = 0.0
        self._conn, recreated = self._open()
        self._recover(clean=not recreated)

    def __repr__(self) -> str:
        return f"Outbox({str(self.path)!r}, persistent={self.persistent})"

    # --- queueing -----------------------------------------------------------

    def enqueue_ticket(
        self,
        *,
        subject: str,
        body: str = "",
        category: str = "",
        urgency: Level | str = Level.medium,
        impact: Level | str = Level.medium,
        context: dict[str, str] | None = None,
        files: Sequence[FileSource] = (),
    ) -> OutboxItem:
        """Keep a new ticket (and copies of its files) for delivery; raises
        :class:`OutboxError` with a clear message when it cannot be sent."""
        key = _new_key()
        if not subject.strip():
            raise OutboxError("a ticket needs a subject")
        try:
            model = TicketCreate(
                client_key=key,
                subject=subject,
                body=body,
                category=category,
                urgency=Level(urgency),
                impact=Level(impact),
                context=dict(context or {}),
            )
        except (ValidationError, ValueError) as exc:
            message = _validation_message(exc) if isinstance(exc, ValidationError) else str(exc)
            raise OutboxError(f"the ticket cannot be sent: {message}") from None
        payload = model.model_dump(mode="json", exclude={"client_key", "attachment_ids"})
        return self._enqueue("ticket", key, None, payload, subject.strip(), files)

    def enqueue_reply(
        self, ticket_id: int, body: str, files: Sequence[FileSource] = ()
    ) -> OutboxItem:
        """Keep a reply to ``ticket_id`` for delivery (text, files or both)."""
        key = _new_key()
        if not body.strip() and not files:
            raise OutboxError("a reply needs text or a file")
        try:
            CommentCreate(client_key=key, body=body)
        except ValidationError as exc:
            raise OutboxError(f"the reply cannot be sent: {_validation_message(exc)}") from None
        summary = _first_line(body) or f"{len(files)} file(s)"
        return self._enqueue("reply", key, int(ticket_id), {"body": body}, summary, files)

    def _enqueue(
        self,
        kind: ItemKind,
        key: str,
        ticket_id: int | None,
        payload: dict[str, Any],
        summary: str,
        files: Sequence[FileSource],
    ) -> OutboxItem:
        if len(files) > MAX_FILES:
            raise OutboxError(f"at most {MAX_FILES} files can be attached at once")
        copied = self._copy_files(key, files)
        now = self._clock()
        try:
            with self._lock, self._conn:
                cur = self._conn.execute(
                    "INSERT INTO items(kind, state, client_key, ticket_id, payload, summary, "
                    "attempts, next_attempt_at, created_at) VALUES (?, 'pending', ?, ?, ?, ?, "
                    "0, ?, ?)",
                    (kind, key, ticket_id, json.dumps(payload), summary[:200], now, now),
                )
                item_id = cast(int, cur.lastrowid)
                self._conn.executemany(
                    "INSERT INTO files(item_id, position, name, stored, size, sha256, "
                    "client_key) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(item_id, i, *f) for i, f in enumerate(copied)],
                )
        except sqlite3.Error as exc:
            shutil.rmtree(self.files_dir / key, ignore_errors=True)
            log.error("outbox: cannot save a new %s (%s)", kind, exc)
            raise OutboxError(f"the {kind} could not be saved on this computer: {exc}") from None
        item = self.get(item_id)
        assert item is not None
        log.info("outbox: %s #%d queued with %d file(s)", kind, item_id, len(copied))
        self._notify(item)
        self.kick()
        return item

    def _copy_files(
        self, key: str, files: Sequence[FileSource]
    ) -> list[tuple[str, str, int, str, str]]:
        """Copy every file under ``files_dir/<key>``; rows for the files table.

        Written to a temporary folder renamed into place once complete, so a
        crash mid-copy leaves nothing that looks like a queued item.
        """
        if not files:
            return []
        sources: list[tuple[str, Path | bytes]] = []
        for source in files:
            if isinstance(source, tuple):
                name, data = source
                if not name or not name.strip():
                    raise OutboxError("an attached file has no name")
                sources.append((name, bytes(data)))
            else:
                p = Path(source)
                sources.append((p.name or str(p), p))
        # Cheap checks first, before copying anything.
        total = 0
        for name, src in sources:
            size = len(src) if isinstance(src, bytes) else self._stat_size(name, src)
            self._check_size(name, size)
            total += size
        self._check_total(total)
        tmp = self.files_dir / f"tmp-{key}"
        final = self.files_dir / key
        rows: list[tuple[str, str, int, str, str]] = []
        try:
            tmp.mkdir(parents=True, exist_ok=False, mode=0o700)
            total = 0
            for i, (name, src) in enumerate(sources):
                stored = f"{i:02d}"
                size, digest = self._copy_one(name, src, tmp / stored)
                total += size
                self._check_total(total)
                rows.append((name, f"{key}/{stored}", size, digest, _new_key()))
            _fsync_dir(tmp)
            tmp.rename(final)
            _fsync_dir(self.files_dir)
        except OutboxError:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise OutboxError(
                f"the files could not be kept on this computer: {_reason(exc)}"
            ) from None
        return rows

    def _stat_size(self, name: str, path: Path) -> int:
        try:
            info = path.stat()
        except FileNotFoundError:
            raise OutboxError(f"{name} does not exist (any more)") from None
        except OSError as exc:
            raise OutboxError(f"cannot read {name}: {_reason(exc)}") from None
        if not stat.S_ISREG(info.st_mode):
            raise OutboxError(f"{name} is not a file")
        return info.st_size

    def _check_size(self, name: str, size: int) -> None:
        if size == 0:
            raise OutboxError(f"{name} is empty")
        if size > self._max_file:
            raise OutboxError(f"{name} is {_mb(size)}; a file may be at most {_mb(self._max_file)}")

    def _check_total(self, total: int) -> None:
        if total > self._max_ticket:
            raise OutboxError(
                f"the files total {_mb(total)}; together they may be at most "
                f"{_mb(self._max_ticket)}"
            )

    def _copy_one(self, name: str, src: Path | bytes, dest: Path) -> tuple[int, str]:
        digest = hashlib.sha256()
        size = 0
        with open(dest, "xb") as out:
            if isinstance(src, bytes):
                out.write(src)
                digest.update(src)
                size = len(src)
            else:
                try:
                    source = open(src, "rb")  # noqa: SIM115 - closed below
                except FileNotFoundError:
                    raise OutboxError(f"{name} does not exist (any more)") from None
                except OSError as exc:
                    raise OutboxError(f"cannot read {name}: {_reason(exc)}") from None
                with source:
                    while True:
                        try:
                            chunk = source.read(_COPY_CHUNK)
                        except OSError as exc:
                            raise OutboxError(f"cannot read {name}: {_reason(exc)}") from None
                        if not chunk:
                            break
                        size += len(chunk)
                        # The file may have grown since it was checked.
                        self._check_size(name, size)
                        digest.update(chunk)
                        out.write(chunk)
                self._check_size(name, size)
            out.flush()
            os.fsync(out.fileno())
        return size, digest.hexdigest()

    # --- the customer's actions ---------------------------------------------

    def retry(self, item_id: int) -> OutboxItem:
        """Send a ``failed`` (or waiting) item again now."""
        with self._lock, self._conn:
            row = self._conn.execute("SELECT state FROM items WHERE id = ?", (item_id,)).fetchone()
            if row is None:
                raise OutboxError("this item is no longer in the outbox")
            if row[0] in ("sent", "sending"):
                raise OutboxError(f"this item is already {row[0]}")
            self._conn.execute(
                "UPDATE items SET state = 'pending', attempts = 0, next_attempt_at = ?, "
                "error = NULL, error_code = NULL WHERE id = ?",
                (self._clock(), item_id),
            )
            # The service may have lost an upload since (restored from a
            # backup): upload again; a known key just returns the same id.
            self._conn.execute(
                "UPDATE files SET attachment_id = NULL WHERE item_id = ?", (item_id,)
            )
        item = self.get(item_id)
        assert item is not None
        self._notify(item)
        self.kick()
        return item

    def discard(self, item_id: int) -> None:
        """Remove an item and its copied files (not while it is being sent)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT state, client_key FROM items WHERE id = ?", (item_id,)
            ).fetchone()
            if row is None:
                return
            if row[0] == "sending" or self._current == item_id:
                raise OutboxError("this item is being sent right now; wait a moment")
            with self._conn:
                self._conn.execute("DELETE FROM files WHERE item_id = ?", (item_id,))
                self._conn.execute("DELETE FROM items WHERE id = ?", (item_id,))
            key = row[1]
        self._remove_files(key)
        log.info("outbox: item #%d discarded", item_id)

    def items(self, states: Iterable[ItemState] | None = None) -> list[OutboxItem]:
        """Items in queue order (oldest first), optionally of some states only."""
        with self._lock:
            if states is None:
                rows = self._conn.execute("SELECT * FROM items ORDER BY id").fetchall()
            else:
                wanted = list(states)
                marks = ",".join("?" * len(wanted))
                rows = self._conn.execute(
                    f"SELECT * FROM items WHERE state IN ({marks}) ORDER BY id",  # noqa: S608
                    wanted,
                ).fetchall()
            return [self._item(r) for r in rows]

    def get(self, item_id: int) -> OutboxItem | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
            return None if row is None else self._item(row)

    def pending_count(self) -> int:
        """Items not delivered yet and not failed (pending or sending)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT COUNT(*) FROM items WHERE state IN ('pending', 'sending')"
            ).fetchone()
            return int(row[0])

    def failed_count(self) -> int:
        with self._lock:
            row = self._conn.execute("SELECT COUNT(*) FROM items WHERE state = 'failed'").fetchone()
            return int(row[0])

    # --- the worker ---------------------------------------------------------

    def start(self) -> None:
        """Start the delivery thread (once)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="helpbridge-outbox", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread; a transfer in progress is abandoned and resumes next start."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("outbox: delivery thread still busy after %.0f s", timeout)
            else:
                self._thread = None

    def close(self) -> None:
        self.stop()
        with self._lock:
            self._conn.close()

    def kick(self) -> None:
        """Try the next item now (the service is back, signed in again, new item)."""
        self._kicked = True
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        log.info("outbox: delivery started (%d pending)", self.pending_count())
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                worked = self.run_once()
            except Exception:
                log.exception("outbox: delivery step failed")
                worked = False
                self._stopping.wait(5.0)
            if worked or self._stopping.is_set():
                continue
            delay = self.next_delay()
            # Re-checked at least every minute: clocks jump (suspend, NTP).
            self._wake.wait(60.0 if delay is None else min(max(delay, 0.0), 60.0))
        log.info("outbox: delivery stopped")

    def next_delay(self) -> float | None:
        """Seconds until the next item is due (None: nothing to send)."""
        head = self._head()
        if head is None:
            return None
        if self._kicked:
            return 0.0
        return max(0.0, (head["next_attempt_at"] or 0.0) - self._clock())

    def run_once(self) -> bool:
        """Deliver the next item if it is due; True if an attempt was made.

        The worker thread calls this in a loop; tests call it directly with
        an injected clock.
        """
        now = self._clock()
        if now - self._last_prune > 3600:
            self._last_prune = now
            self._prune(now)
        head = self._head()
        if head is None:
            self._kicked = False
            return False
        due = head["next_attempt_at"] is None or head["next_attempt_at"] <= now
        if not (due or self._kicked):
            return False
        self._kicked = False
        self._deliver(int(head["id"]))
        return True

    def _head(self) -> sqlite3.Row | None:
        # Strictly in order: replies to one ticket must arrive as written.
        with self._lock:
            row: sqlite3.Row | None = self._conn.execute(
                "SELECT * FROM items WHERE state IN ('pending', 'sending') ORDER BY id LIMIT 1"
            ).fetchone()
            return row

    def _deliver(self, item_id: int) -> None:
        with self._lock:
            # Not through _write: if this cannot be recorded, nothing is sent,
            # and the error reaches _run, which waits before trying again.
            with self._conn:
                marked = self._conn.execute(
                    "UPDATE items SET state = 'sending', attempts = attempts + 1 "
                    "WHERE id = ? AND state IN ('pending', 'sending')",
                    (item_id,),
                ).rowcount
            if not marked:
                return  # discarded meanwhile
            row = self._conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
            files = self._conn.execute(
                "SELECT * FROM files WHERE item_id = ? ORDER BY position", (item_id,)
            ).fetchall()
            self._current = item_id
        self._notify_id(item_id)
        try:
            ticket_id = self._send(row, files)
        except _Stopped:
            self._write(
                "UPDATE items SET state = 'pending', attempts = MAX(attempts - 1, 0) WHERE id = ?",
                (item_id,),
            )
            log.info("outbox: item #%d will resume at the next start", item_id)
        except _Permanent as exc:
            self._fail(item_id, exc.message, exc.code)
        except ApiError as exc:
            self._api_failure(item_id, int(row["attempts"]), exc)
        except Exception as exc:
            # A bug, not the customer's fault: keep the item, visibly.
            log.exception("outbox: item #%d could not be delivered", item_id)
            self._fail(item_id, f"unexpected error: {type(exc).__name__}", "internal")
        else:
            self._write(
                "UPDATE items SET state = 'sent', sent_at = ?, result_ticket_id = ?, "
                "next_attempt_at = NULL, error = NULL, error_code = NULL WHERE id = ?",
                (self._clock(), ticket_id, item_id),
            )
            log.info("outbox: item #%d delivered (ticket %d)", item_id, ticket_id)
            # The service holds the files now; the local copies only use space.
            self._remove_files(str(row["client_key"]))
        finally:
            with self._lock:
                self._current = None
        self._notify_id(item_id)

    def _send(self, row: sqlite3.Row, files: list[sqlite3.Row]) -> int:
        """Upload what is missing, then create the ticket or reply; its ticket id."""
        item_id = int(row["id"])
        total = sum(int(f["size"]) for f in files)
        base = 0
        ids: list[int] = []
        for f in files:
            if self._stopping.is_set():
                raise _Stopped
            size = int(f["size"])
            if f["attachment_id"] is not None:
                ids.append(int(f["attachment_id"]))
                base += size
                continue
            path = self.files_dir / str(f["stored"])
            if not path.is_file():
                raise _Permanent(
                    f"the copy of {f['name']} kept for sending is missing", "local_file"
                )
            info = self.api.upload_attachment(
                path,
                str(f["name"]),
                str(f["client_key"]),
                progress=self._progress_cb(item_id, base, total),
                max_bytes=self._max_file,
            )
            if info.sha256 != f["sha256"] or info.size != size:
                raise _Permanent(
                    f"the service stored {f['name']} differently from the copy kept here",
                    "bad_response",
                )
            self._write("UPDATE files SET attachment_id = ? WHERE id = ?", (info.id, f["id"]))
            ids.append(info.id)
            base += size
        if self._stopping.is_set():
            raise _Stopped
        payload = json.loads(row["payload"])
        if row["kind"] == "ticket":
            ticket = self.api.create_ticket(
                TicketCreate(client_key=row["client_key"], attachment_ids=ids, **payload)
            )
            return ticket.id
        reply = self.api.reply(
            int(row["ticket_id"]),
            CommentCreate(client_key=row["client_key"], body=payload["body"], attachment_ids=ids),
        )
        return reply.id

    def _progress_cb(self, item_id: int, base: int, total: int) -> Callable[[int, int], None]:
        last = [0.0]

        def progress(done: int, size: int) -> None:
            if self._stopping.is_set():
                raise _Stopped
            callback = self.on_progress
            if callback is None:
                return
            now = time.monotonic()
            # At most ~10 updates a second: the UI only needs a smooth bar.
            if now - last[0] < 0.1 and done < size:
                return
            last[0] = now
            try:
                callback(item_id, base + done, total)
            except Exception:
                log.exception("outbox: on_progress callback failed")

        return progress

    def _api_failure(self, item_id: int, attempts: int, exc: ApiError) -> None:
        now = self._clock()
        if exc.status == 401 or exc.code in _SESSION_CODES:
            self._write(
                "UPDATE items SET state = 'pending', attempts = MAX(attempts - 1, 0), "
                "next_attempt_at = ?, error = ?, error_code = ? WHERE id = ?",
                (now + AUTH_RETRY, "waiting for sign-in", exc.code, item_id),
            )
            log.info("outbox: item #%d waits for a new sign-in (%s)", item_id, exc.code)
            callback = self.on_auth_needed
            if callback is not None:
                try:
                    callback()
                except Exception:
                    log.exception("outbox: on_auth_needed callback failed")
            return
        if _is_transient(exc):
            delay = self.backoff(attempts)
            self._write(
                "UPDATE items SET state = 'pending', next_attempt_at = ?, error = ?, "
                "error_code = ? WHERE id = ?",
                (now + delay, exc.message, exc.code, item_id),
            )
            log.info(
                "outbox: item #%d not delivered (%s), retry in %.1f s", item_id, exc.code, delay
            )
            return
        self._fail(item_id, exc.message, exc.code)

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed try: 1, 2, 4... up to
        300, each ±20 % so many portals do not retry in step."""
        base = min(BACKOFF_MAX, BACKOFF_START * 2.0 ** min(max(attempts - 1, 0), 30))
        return min(BACKOFF_MAX, base * self._rng.uniform(0.8, 1.2))

    def _fail(self, item_id: int, message: str, code: str | None) -> None:
        self._write(
            "UPDATE items SET state = 'failed', next_attempt_at = NULL, error = ?, "
            "error_code = ? WHERE id = ?",
            (message, code, item_id),
        )
        log.warning("outbox: item #%d failed for good (%s)", item_id, code)

    # --- storage ------------------------------------------------------------

    def _write(self, sql: str, params: Sequence[Any]) -> bool:
        """One committed statement; False (logged) if it could not be written."""
        with self._lock:
            try:
                with self._conn:
                    return self._conn.execute(sql, params).rowcount > 0
            except sqlite3.Error as exc:
                # Disk full or similar: the step is redone from the last
                # committed state (every step is idempotent on the service).
                log.error("outbox: cannot record progress (%s)", exc)
                return False

    def _notify_id(self, item_id: int) -> None:
        item = self.get(item_id)
        if item is not None:
            self._notify(item)

    def _notify(self, item: OutboxItem) -> None:
        callback = self.on_change
        if callback is None:
            return
        try:
            callback(item)
        except Exception:
            log.exception("outbox: on_change callback failed")

    def _item(self, row: sqlite3.Row) -> OutboxItem:
        files = self._conn.execute(
            "SELECT name, size, sha256, attachment_id FROM files WHERE item_id = ? "
            "ORDER BY position",
            (row["id"],),
        ).fetchall()
        state = cast(ItemState, row["state"])
        return OutboxItem(
            id=int(row["id"]),
            kind=cast(ItemKind, row["kind"]),
            state=state,
            attempts=int(row["attempts"]),
            next_attempt_at=_ts(row["next_attempt_at"]) if state == "pending" else None,
            error=row["error"],
            created_at=_ts(row["created_at"]) or datetime.now(UTC),
            result_ticket_id=row["result_ticket_id"],
            summary=str(row["summary"]),
            error_code=row["error_code"],
            ticket_id=row["ticket_id"],
            sent_at=_ts(row["sent_at"]),
            waiting_for_sign_in=state == "pending" and row["error_code"] in _SESSION_CODES,
            files=tuple(OutboxFile(str(f[0]), int(f[1]), str(f[2]), f[3]) for f in files),
        )

    def _remove_files(self, key: str) -> None:
        if not _SAFE_KEY.match(key):
            return
        folder = self.files_dir / key
        try:
            shutil.rmtree(folder)
        except FileNotFoundError:
            pass
        except OSError as exc:
            # Open elsewhere (Windows) or similar: the next start tidies up.
            log.warning("outbox: cannot remove %s yet (%s)", folder.name, _reason(exc))

    def _prune(self, now: float) -> None:
        cutoff = now - self._keep_sent.total_seconds()
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, client_key FROM items WHERE state = 'sent' AND sent_at < ?",
                (cutoff,),
            ).fetchall()
            if not rows:
                return
            try:
                with self._conn:
                    self._conn.executemany(
                        "DELETE FROM files WHERE item_id = ?", [(r[0],) for r in rows]
                    )
                    self._conn.executemany(
                        "DELETE FROM items WHERE id = ?", [(r[0],) for r in rows]
                    )
            except sqlite3.Error as exc:
                log.warning("outbox: cannot prune delivered items (%s)", exc)
                return
        for r in rows:
            self._remove_files(str(r[1]))
        log.info("outbox: pruned %d delivered item(s)", len(rows))

    def _connect(self, target: str) -> sqlite3.Connection:
        # check_same_thread=False: self._lock serialises every use.
        conn = sqlite3.connect(target, timeout=10.0, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            # The customer's only copy: every commit reaches the disk.
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {check}")
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > _SCHEMA_VERSION:
                raise sqlite3.DatabaseError(f"written by a newer HelpBridge (schema {version})")
            with conn:
                conn.executescript(_SCHEMA)
                conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _open(self) -> tuple[sqlite3.Connection, bool]:
        """The connection, and whether a damaged file had to be replaced."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            return self._connect(str(self.path)), False
        except sqlite3.OperationalError as exc:
            reason = str(exc)
        except sqlite3.DatabaseError as exc:
            aside = self._move_aside()
            log.error(
                "outbox %s is damaged (%s); it was moved to %s and a new outbox started. "
                "Items queued in it were not sent; their files are kept in %s",
                self.path,
                exc,
                aside,
                self.files_dir,
            )
            try:
                return self._connect(str(self.path)), True
            except (sqlite3.Error, OSError) as exc2:
                reason = str(exc2)
        except OSError as exc:
            reason = _reason(exc)
        # Cannot keep anything on disk: work from memory and say so once.
        log.error("outbox %s cannot be opened (%s); keeping items in memory", self.path, reason)
        self.persistent = False
        self.problem = (
            "Tickets cannot be saved on this computer, so one written while offline "
            f"would be lost if HelpBridge closes ({reason})."
        )
        self.files_dir = Path(tempfile.mkdtemp(prefix="helpbridge-outbox-"))
        return self._connect(":memory:"), True

    def _move_aside(self) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        # The WAL may hold the last commits: keep it with the damaged file.
        for suffix in ("", "-wal", "-shm", "-journal"):
            src = Path(str(self.path) + suffix)
            if src.exists():
                try:
                    src.replace(Path(str(aside) + suffix))
                except OSError:
                    src.unlink(missing_ok=True)
        return aside

    def _recover(self, *, clean: bool) -> None:
        """At start: resume interrupted sends; tidy files nobody refers to."""
        with self._lock:
            try:
                with self._conn:
                    n = self._conn.execute(
                        "UPDATE items SET state = 'pending' WHERE state = 'sending'"
                    ).rowcount
                keys = {str(r[0]) for r in self._conn.execute("SELECT client_key FROM items")}
            except sqlite3.Error as exc:
                log.error("outbox: cannot resume interrupted items (%s)", exc)
                return
        if n:
            log.info("outbox: %d interrupted item(s) will resume", n)
        if not self.files_dir.is_dir():
            return
        for entry in self.files_dir.iterdir():
            if entry.name.startswith("tmp-"):
                # An enqueue that never finished: it was never queued.
                shutil.rmtree(entry, ignore_errors=True)
            elif clean and entry.is_dir() and entry.name not in keys:
                # Delivered or discarded while the files were still open.
                shutil.rmtree(entry, ignore_errors=True)


def _is_transient(exc: ApiError) -> bool:
    """Worth retrying later: the service or the network, not the request."""
    if isinstance(exc, OfflineError):
        return True
    if exc.status is None:
        # No HTTP answer at all (a connection broken mid-answer).
        return exc.code == "bad_response"
    if exc.status >= 500 or exc.status in _TRANSIENT_STATUS:
        return True
    return exc.code == "bad_response" and 200 <= exc.status < 300
