"""The customer's chat history on this computer: messages, conversations, drafts.

One SQLite file per service and customer (:func:`chat_path`). It serves three
purposes:

* **fast start** — the conversation is drawn from disk before the network
  answers;
* **no lost words** — a message the customer sends is written here as
  ``sending`` BEFORE it is transmitted, and stays until the service
  acknowledges it (then ``sent``; ``read`` once support read it). After a
  crash or restart the realtime client sends every ``sending`` message
  again under its own ``client_id``, which the service deduplicates; a
  message refused for good becomes ``failed`` and stays, visible, until the
  customer retries it;
* **resume points** — the highest sequence number received without a gap in
  each conversation, which the realtime client hands to the service after a
  reconnect so that it replays exactly what was missed.

Messages are unique by ``(conversation_id, seq)`` and by ``client_id``;
saving one twice (a replay, a duplicate frame, a page of history that
overlaps what is held) changes nothing.

The half-typed text of the chat box is kept here too (:meth:`ChatStore.draft`),
so closing the portal never loses it.

A damaged file is moved aside (``<name>.corrupt-<time>``, kept for support)
and a new one created, with a line in the log: history comes back from the
service; only unsent messages in the damaged file are lost to the portal
(the log says how many could not be read). A file that cannot be written at
all degrades to memory for the session.

Thread-safe: one connection guarded by a lock; every method is short. It is
used from the realtime client's event-loop thread and from worker threads,
never from the GUI thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

__all__ = [
    "DRAFT_MAX_CHARS",
    "ChatStore",
    "MessageState",
    "StoredConversation",
    "StoredMessage",
    "chat_path",
]

log = logging.getLogger(__name__)

MessageState = Literal["sending", "sent", "read", "failed", "received"]
"""``sending``/``sent``/``read``/``failed``: the customer's own messages;
``received``: everything from support, the bot and the system."""

OWN_STATES: frozenset[str] = frozenset({"sending", "sent", "read", "failed"})

DRAFT_MAX_CHARS = 100_000
"""A draft longer than this is cut (the service takes 10,000 per message)."""

_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id          INTEGER PRIMARY KEY,
    summary     TEXT NOT NULL DEFAULT '{}',
    after_seq   INTEGER NOT NULL DEFAULT 0,
    read_seq    INTEGER NOT NULL DEFAULT 0,
    complete    INTEGER NOT NULL DEFAULT 0,
    updated     REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id  INTEGER,
    seq              INTEGER,
    prev_seq         INTEGER,
    client_id        TEXT UNIQUE,
    sender_kind      TEXT NOT NULL,
    sender_id        INTEGER,
    sender_name      TEXT NOT NULL DEFAULT '',
    text             TEXT NOT NULL DEFAULT '',
    attachments      TEXT NOT NULL DEFAULT '[]',
    articles         TEXT NOT NULL DEFAULT '[]',
    state            TEXT NOT NULL
                     CHECK (state IN ('sending', 'sent', 'read', 'failed', 'received')),
    error            TEXT,
    created_at       REAL NOT NULL,
    UNIQUE (conversation_id, seq)
);
CREATE INDEX IF NOT EXISTS messages_state ON messages(state);
CREATE TABLE IF NOT EXISTS drafts (
    key      TEXT PRIMARY KEY,
    text     TEXT NOT NULL,
    updated  REAL NOT NULL
);
"""

T = TypeVar("T")

_UNREAD = (
    "SELECT COUNT(*) FROM messages m LEFT JOIN conversations c ON c.id = m.conversation_id "
    "WHERE m.state = 'received' AND m.sender_kind != 'system' "
    "AND m.seq > COALESCE(c.read_seq, 0)"
)


def chat_path(data_dir: Path, server_url: str, customer_external_id: str) -> Path:
    """The history file of one customer of one service (conversation ids of
    two services, or two customers sharing a computer, never mix)."""
    key = f"{server_url.rstrip('/')}\n{customer_external_id}".encode()
    return Path(data_dir) / "chat" / f"{hashlib.sha256(key).hexdigest()[:16]}.sqlite3"


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One message as the portal shows it."""

    local_id: int
    conversation_id: int | None
    """None for the customer's first message before the service started the conversation."""
    seq: int | None
    """The service's number within the conversation; None until stored there."""
    prev_seq: int | None
    """The message before this one that the customer can see (0: the first);
    None for the customer's own messages until the service echoes them."""
    client_id: str | None
    sender_kind: str
    """``customer``, ``agent``, ``bot`` or ``system``."""
    sender_id: int | None
    sender_name: str
    text: str
    attachments: tuple[dict[str, Any], ...]
    """``AttachmentInfo`` JSON objects."""
    articles: tuple[dict[str, Any], ...]
    """Suggested articles of a bot answer: ``{id, title, snippet}``."""
    state: MessageState
    error: str | None
    created_at: datetime

    @property
    def own(self) -> bool:
        """Written by the customer on this side."""
        return self.state in OWN_STATES


@dataclass(frozen=True, slots=True)
class StoredConversation:
    id: int
    summary: dict[str, Any]
    """The service's last ConversationSummary, as JSON."""
    after_seq: int
    """Everything up to here was received without a gap (the resume point)."""
    read_seq: int
    """The customer has seen messages up to here."""
    complete: bool
    """The oldest message is held: nothing older to page in."""
    updated: float = field(default=0.0)

    @property
    def status(self) -> str:
        return str(self.summary.get("status", ""))


_COLUMNS = (
    "id, conversation_id, seq, prev_seq, client_id, sender_kind, sender_id, sender_name, "
    "text, attachments, articles, state, error, created_at"
)


def _json_list(raw: str | None) -> tuple[dict[str, Any], ...]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return ()
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, dict))


def _message(row: Sequence[Any]) -> StoredMessage:
    return StoredMessage(
        local_id=int(row[0]),
        conversation_id=None if row[1] is None else int(row[1]),
        seq=None if row[2] is None else int(row[2]),
        prev_seq=None if row[3] is None else int(row[3]),
        client_id=row[4],
        sender_kind=str(row[5]),
        sender_id=None if row[6] is None else int(row[6]),
        sender_name=str(row[7] or ""),
        text=str(row[8] or ""),
        attachments=_json_list(row[9]),
        articles=_json_list(row[10]),
        state=cast(MessageState, row[11]),
        error=row[12],
        created_at=datetime.fromtimestamp(float(row[13]), UTC),
    )


def _conversation(row: Sequence[Any]) -> StoredConversation:
    try:
        summary = json.loads(row[1])
    except ValueError:
        summary = {}
    return StoredConversation(
        id=int(row[0]),
        summary=summary if isinstance(summary, dict) else {},
        after_seq=int(row[2]),
        read_seq=int(row[3]),
        complete=bool(row[4]),
        updated=float(row[5]),
    )


def _stamp(value: datetime | float | None, clock: Callable[[], float]) -> float:
    if value is None:
        return clock()
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    return float(value)


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message as the service sent it, flattened for storing."""

    conversation_id: int
    seq: int
    prev_seq: int
    client_id: str | None
    sender_kind: str
    sender_id: int | None
    sender_name: str
    text: str
    attachments: Sequence[dict[str, Any]] = ()
    articles: Sequence[dict[str, Any]] = ()
    created_at: datetime | float | None = None


class ChatStore:
    """SQLite-backed chat history of one customer (see the module docstring)."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.clock = clock
        self.persistent = True
        self.replaced: Path | None = None
        """Where a damaged file was moved, if one was found at start."""
        self._lock = threading.RLock()
        self._conn = self._open()

    def __repr__(self) -> str:
        return f"ChatStore({str(self.path)!r}, persistent={self.persistent})"

    def close(self) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._conn.close()

    # --- the customer's messages ------------------------------------------------

    def add_outgoing(
        self,
        client_id: str,
        conversation_id: int | None,
        text: str,
        *,
        sender_name: str = "",
        attachments: Sequence[dict[str, Any]] = (),
    ) -> StoredMessage:
        """Record a message the customer is sending (state ``sending``). The
        same ``client_id`` again returns the stored message unchanged."""
        now = self.clock()
        with self._lock:
            with self._conn:
                self._conn.execute(
                    "INSERT OR IGNORE INTO messages (conversation_id, client_id, sender_kind, "
                    "sender_name, text, attachments, state, created_at) "
                    "VALUES (?, ?, 'customer', ?, ?, ?, 'sending', ?)",
                    (
                        conversation_id,
                        client_id,
                        sender_name,
                        text,
                        json.dumps(list(attachments), ensure_ascii=False),
                        now,
                    ),
                )
            found = self.by_client_id(client_id)
            assert found is not None
            return found

    def by_client_id(self, client_id: str) -> StoredMessage | None:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE client_id = ?",  # noqa: S608
                (client_id,),
            ).fetchone()
        return None if row is None else _message(row)

    def message(self, conversation_id: int, seq: int) -> StoredMessage | None:
        found = self._select("WHERE conversation_id = ? AND seq = ?", (conversation_id, seq))
        return found[0] if found else None

    def pending(self) -> list[StoredMessage]:
        """Messages still to be delivered (``sending``), oldest first."""
        return self._select("WHERE state = 'sending' ORDER BY id", ())

    def failed(self) -> list[StoredMessage]:
        return self._select("WHERE state = 'failed' ORDER BY id", ())

    def ack(
        self, client_id: str, conversation_id: int, seq: int, *, prev_seq: int | None = None
    ) -> StoredMessage | None:
        """The service stored the message as ``seq``: ``sending`` → ``sent``.

        ``prev_seq``, when the caller knows it, is the message before. If the
        service's own copy already arrived (a replay can overtake the ack),
        that copy is merged into this one. Returns the message, or None for
        an unknown ``client_id``.
        """
        with self._lock:
            mine = self.by_client_id(client_id)
            if mine is None:
                return None
            with self._conn:
                other = self._conn.execute(
                    "SELECT prev_seq FROM messages WHERE conversation_id = ? AND seq = ? "
                    "AND id != ?",
                    (conversation_id, seq, mine.local_id),
                ).fetchone()
                if other is not None:
                    if prev_seq is None and other[0] is not None:
                        prev_seq = int(other[0])
                    self._conn.execute(
                        "DELETE FROM messages WHERE conversation_id = ? AND seq = ? AND id != ?",
                        (conversation_id, seq, mine.local_id),
                    )
                self._conn.execute(
                    "UPDATE messages SET conversation_id = ?, seq = ?, error = NULL, "
                    "prev_seq = COALESCE(?, prev_seq), "
                    "state = CASE WHEN state = 'read' THEN 'read' ELSE 'sent' END "
                    "WHERE id = ?",
                    (conversation_id, seq, prev_seq, mine.local_id),
                )
                self._touch(conversation_id)
            return self.by_client_id(client_id)

    def assign_conversation(self, conversation_id: int) -> list[StoredMessage]:
        """Unsent messages written before the conversation existed belong to
        ``conversation_id`` now (the first one started it)."""
        with self._lock:
            with self._conn:
                self._conn.execute(
                    "UPDATE messages SET conversation_id = ? "
                    "WHERE conversation_id IS NULL AND state IN ('sending', 'failed')",
                    (conversation_id,),
                )
            return self._select(
                "WHERE conversation_id = ? AND seq IS NULL ORDER BY id", (conversation_id,)
            )

    def mark_failed(self, client_id: str, error: str) -> StoredMessage | None:
        """Refused for good: stays, marked, until retried."""
        with self._lock:
            with self._conn:
                self._conn.execute(
                    "UPDATE messages SET state = 'failed', error = ? "
                    "WHERE client_id = ? AND state = 'sending'",
                    (error[:500], client_id),
                )
            return self.by_client_id(client_id)

    def mark_sending(
        self, client_id: str, *, new_conversation: bool = False
    ) -> StoredMessage | None:
        """Send a message again: a failed one (a retry), or, with
        ``new_conversation``, one refused because its conversation closed
        meanwhile, which then starts a new conversation."""
        with self._lock:
            with self._conn:
                self._conn.execute(
                    "UPDATE messages SET state = 'sending', error = NULL, "
                    "conversation_id = CASE WHEN ? THEN NULL ELSE conversation_id END "
                    "WHERE client_id = ? AND state IN ('failed', 'sending') AND seq IS NULL",
                    (int(new_conversation), client_id),
                )
            return self.by_client_id(client_id)

    def discard(self, client_id: str) -> bool:
        """Forget an unsent message (the customer gave up on it)."""
        with self._lock, self._conn:
            cur = self._conn.execute(
                "DELETE FROM messages WHERE client_id = ? AND state IN ('failed', 'sending') "
                "AND seq IS NULL",
                (client_id,),
            )
            return cur.rowcount > 0

    def mark_read_by_support(self, conversation_id: int, seq: int) -> list[StoredMessage]:
        """Support read up to ``seq``: the customer's sent messages there are
        ``read``. Returns the messages that changed."""
        with self._lock:
            changed = self._select(
                "WHERE conversation_id = ? AND seq <= ? AND state = 'sent' ORDER BY seq",
                (conversation_id, seq),
            )
            if changed:
                with self._conn:
                    self._conn.execute(
                        "UPDATE messages SET state = 'read' "
                        "WHERE conversation_id = ? AND seq <= ? AND state = 'sent'",
                        (conversation_id, seq),
                    )
        return [replace(m, state="read") for m in changed]

    # --- messages from the service ----------------------------------------------------

    def save_incoming(self, messages: Iterable[Incoming]) -> list[StoredMessage]:
        """Store messages from the service (live, replayed or paged in). Known
        ones are skipped; the customer's own messages echoed back (same
        ``client_id``) complete the local copy. Returns the messages that are
        new or changed, in the order given."""
        out: list[StoredMessage] = []
        with self._lock:
            with self._conn:
                for m in messages:
                    changed = self._save_one(m)
                    if changed is not None:
                        out.append(changed)
            return [self._refetch(m) for m in out]

    def _save_one(self, m: Incoming) -> StoredMessage | None:
        conn = self._conn
        row = conn.execute(
            "SELECT id FROM messages WHERE conversation_id = ? AND seq = ?",
            (m.conversation_id, m.seq),
        ).fetchone()
        if row is not None:
            return None
        created = _stamp(m.created_at, self.clock)
        attachments = json.dumps(list(m.attachments), ensure_ascii=False)
        articles = json.dumps(list(m.articles), ensure_ascii=False)
        if m.client_id:
            own = conn.execute(
                f"SELECT {_COLUMNS} FROM messages WHERE client_id = ?",  # noqa: S608
                (m.client_id,),
            ).fetchone()
            if own is not None:
                mine = _message(own)
                if mine.seq is not None:
                    return None
                state = "sent" if mine.state in ("sending", "failed") else mine.state
                conn.execute(
                    "UPDATE messages SET conversation_id = ?, seq = ?, prev_seq = ?, state = ?, "
                    "error = NULL, attachments = ?, created_at = ? WHERE id = ?",
                    (
                        m.conversation_id,
                        m.seq,
                        m.prev_seq,
                        state,
                        attachments,
                        created,
                        mine.local_id,
                    ),
                )
                return mine
        state = "sent" if m.sender_kind == "customer" else "received"
        cur = conn.execute(
            "INSERT INTO messages (conversation_id, seq, prev_seq, client_id, sender_kind, "
            "sender_id, sender_name, text, attachments, articles, state, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                m.conversation_id,
                m.seq,
                m.prev_seq,
                m.client_id or None,
                m.sender_kind,
                m.sender_id,
                m.sender_name,
                m.text,
                attachments,
                articles,
                state,
                created,
            ),
        )
        self._touch(m.conversation_id)
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM messages WHERE id = ?",  # noqa: S608
            (cur.lastrowid,),
        ).fetchone()
        return _message(row)

    def _refetch(self, m: StoredMessage) -> StoredMessage:
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM messages WHERE id = ?",  # noqa: S608
            (m.local_id,),
        ).fetchone()
        return m if row is None else _message(row)

    # --- reading ----------------------------------------------------------------------

    def messages(
        self, conversation_id: int, *, before_seq: int | None = None, limit: int = 50
    ) -> list[StoredMessage]:
        """Up to ``limit`` messages of a conversation before ``before_seq``
        (the newest ones when None), oldest first. Unsent messages (no seq
        yet) come last when reading the newest."""
        with self._lock:
            if before_seq is None:
                rows = self._select(
                    "WHERE conversation_id = ? AND seq IS NOT NULL ORDER BY seq DESC LIMIT ?",
                    (conversation_id, limit),
                )
                unsent = self._select(
                    "WHERE conversation_id = ? AND seq IS NULL ORDER BY id", (conversation_id,)
                )
                return [*reversed(rows), *unsent]
            rows = self._select(
                "WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
                (conversation_id, before_seq, limit),
            )
            return list(reversed(rows))

    def unassigned(self) -> list[StoredMessage]:
        """The customer's messages written before any conversation existed."""
        return self._select("WHERE conversation_id IS NULL ORDER BY id", ())

    def count(self, conversation_id: int | None = None) -> int:
        with self._lock:
            if conversation_id is None:
                row = self._conn.execute("SELECT COUNT(*) FROM messages").fetchone()
            else:
                row = self._conn.execute(
                    "SELECT COUNT(*) FROM messages WHERE conversation_id = ?", (conversation_id,)
                ).fetchone()
        return int(row[0])

    def oldest_seq(self, conversation_id: int) -> int | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT MIN(seq) FROM messages WHERE conversation_id = ?", (conversation_id,)
            ).fetchone()
        return None if row[0] is None else int(row[0])

    def seqs(self, conversation_id: int) -> list[int]:
        """Every stored sequence number of a conversation, ascending."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq FROM messages WHERE conversation_id = ? AND seq IS NOT NULL "
                "ORDER BY seq",
                (conversation_id,),
            ).fetchall()
        return [int(r[0]) for r in rows]

    def _select(self, where: str, args: tuple[Any, ...]) -> list[StoredMessage]:
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM messages {where}",  # noqa: S608
                args,
            ).fetchall()
        return [_message(r) for r in rows]

    # --- conversations --------------------------------------------------------------

    def save_conversation(self, conversation_id: int, summary: dict[str, Any]) -> None:
        """Keep the service's latest summary (status, assignee, ...)."""
        text = json.dumps(summary, ensure_ascii=False, default=str)
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT INTO conversations (id, summary, updated) VALUES (?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET summary = excluded.summary, "
                "updated = excluded.updated",
                (conversation_id, text, self.clock()),
            )

    def conversation(self, conversation_id: int) -> StoredConversation | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT id, summary, after_seq, read_seq, complete, updated "
                "FROM conversations WHERE id = ?",
                (conversation_id,),
            ).fetchone()
        return None if row is None else _conversation(row)

    def conversations(self) -> list[StoredConversation]:
        """Every known conversation, newest (highest id) first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, summary, after_seq, read_seq, complete, updated "
                "FROM conversations ORDER BY id DESC"
            ).fetchall()
        return [_conversation(r) for r in rows]

    def set_after_seq(self, conversation_id: int, after_seq: int) -> None:
        """Move the resume point forward (never back)."""
        self._ensure(conversation_id)
        with self._lock, self._conn:
            self._conn.execute(
                "UPDATE conversations SET after_seq = MAX(after_seq, ?) WHERE id = ?",
                (after_seq, conversation_id),
            )

    def resume_points(self) -> dict[int, int]:
        """``{conversation_id: after_seq}`` for every known conversation."""
        with self._lock:
            rows = self._conn.execute("SELECT id, after_seq FROM conversations").fetchall()
        return {int(r[0]): int(r[1]) for r in rows}

    def set_complete(self, conversation_id: int, complete: bool = True) -> None:
        """Nothing older than what is held exists (history paging is done)."""
        self._ensure(conversation_id)
        with self._lock, self._conn:
            self._conn.execute(
                "UPDATE conversations SET complete = ? WHERE id = ?",
                (int(complete), conversation_id),
            )

    def set_read(self, conversation_id: int, seq: int) -> bool:
        """The customer has seen up to ``seq``. True if that moved the marker."""
        self._ensure(conversation_id)
        with self._lock, self._conn:
            cur = self._conn.execute(
                "UPDATE conversations SET read_seq = ? WHERE id = ? AND read_seq < ?",
                (seq, conversation_id, seq),
            )
            return cur.rowcount > 0

    def unread(self, conversation_id: int | None = None) -> int:
        """Messages from support (or the bot) the customer has not seen yet."""
        where = "" if conversation_id is None else "AND m.conversation_id = ?"
        args: tuple[Any, ...] = () if conversation_id is None else (conversation_id,)
        with self._lock:
            row = self._conn.execute(
                f"{_UNREAD} {where}",
                args,
            ).fetchone()
        return int(row[0])

    def _ensure(self, conversation_id: int) -> None:
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT OR IGNORE INTO conversations (id, updated) VALUES (?, ?)",
                (conversation_id, self.clock()),
            )

    def _touch(self, conversation_id: int) -> None:
        self._conn.execute(
            "INSERT INTO conversations (id, updated) VALUES (?, ?) "
            "ON CONFLICT(id) DO UPDATE SET updated = excluded.updated",
            (conversation_id, self.clock()),
        )

    # --- drafts -----------------------------------------------------------------------

    def draft(self, key: str = "") -> str:
        with self._lock:
            row = self._conn.execute("SELECT text FROM drafts WHERE key = ?", (key,)).fetchone()
        return "" if row is None else str(row[0])

    def save_draft(self, text: str, key: str = "") -> None:
        """Keep what is typed (empty text removes the draft)."""
        with self._lock, self._conn:
            if text:
                self._conn.execute(
                    "INSERT INTO drafts (key, text, updated) VALUES (?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET text = excluded.text, "
                    "updated = excluded.updated",
                    (key, text[:DRAFT_MAX_CHARS], self.clock()),
                )
            else:
                self._conn.execute("DELETE FROM drafts WHERE key = ?", (key,))

    # --- opening ------------------------------------------------------------------------

    def _connect(self, target: str) -> sqlite3.Connection:
        conn = sqlite3.connect(target, check_same_thread=False)
        try:
            if target != ":memory:":
                conn.execute("PRAGMA journal_mode=WAL")
                # A message being sent may exist only here: a commit must
                # survive a power cut, not only a crash.
                conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=5000")
            # Reading the schema is what finds a file that is not a database.
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > _SCHEMA_VERSION:
                raise sqlite3.DatabaseError(f"written by a newer HelpBridge (schema {version})")
            ok = conn.execute("PRAGMA quick_check").fetchone()
            if ok is None or ok[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {ok[0] if ok else '?'}")
            with conn:
                conn.executescript(_SCHEMA)
                conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            return self._connect(str(self.path))
        except sqlite3.DatabaseError as exc:
            if _is_damage(exc):
                return self._replace_damaged(exc)
            reason = str(exc)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
        return self._in_memory(reason)

    def _replace_damaged(self, exc: Exception) -> sqlite3.Connection:
        lost = _count_unsent(self.path)
        aside = self._move_aside()
        self.replaced = aside
        log.error(
            "chat history %s is damaged (%s); it was moved to %s and a new one started. "
            "History will be loaded from the service again%s",
            self.path,
            exc,
            aside,
            f"; {lost} unsent message(s) in it could not be recovered" if lost else "",
        )
        try:
            return self._connect(str(self.path))
        except (sqlite3.Error, OSError) as exc2:
            return self._in_memory(str(exc2))

    def _in_memory(self, reason: str) -> sqlite3.Connection:
        log.error("chat history %s cannot be opened (%s); keeping it in memory", self.path, reason)
        self.persistent = False
        return self._connect(":memory:")

    def _move_aside(self) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        for suffix in ("", "-wal", "-shm", "-journal"):
            src = Path(str(self.path) + suffix)
            if src.exists():
                try:
                    src.replace(Path(str(aside) + suffix))
                except OSError:
                    src.unlink(missing_ok=True)
        return aside


def _is_damage(exc: sqlite3.DatabaseError) -> bool:
    """A damaged or foreign file, as opposed to one that is busy or not reachable."""
    if not isinstance(exc, sqlite3.OperationalError):
        return True
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text or "corrupt" in text


def _count_unsent(path: Path) -> int:
    """How many unsent messages a damaged file still shows, for the log line."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute(
                "SELECT COUNT(*) FROM messages WHERE state IN ('sending', 'failed')"
            ).fetchone()
            return int(row[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0
