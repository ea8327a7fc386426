"""The append-only audit log: who did what, when, from where.

Call :func:`record` in the same transaction as the change it describes, so a
change and its audit line commit together. Failed sign-ins are recorded in a
transaction of their own (the request itself is refused).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session as DbSession
from starlette.requests import HTTPConnection

from server import models
from server.db import Database


def source_of(conn: HTTPConnection | None) -> str:
    if conn is None or conn.client is None:
        return ""
    agent = conn.headers.get("user-agent", "")[:120]
    return f"{conn.client.host} {agent}".strip()


def record(
    db: DbSession,
    action: str,
    *,
    actor_type: str,
    actor_id: int | None = None,
    actor_name: str = "",
    target: str = "",
    outcome: str = "ok",
    source: str = "",
    **detail: Any,
) -> None:
    db.add(
        models.AuditEntry(
            action=action,
            actor_type=actor_type,
            actor_id=actor_id,
            actor_name=actor_name[:320],
            target=target[:200],
            outcome=outcome,
            source=source[:200],
            detail={k: str(v)[:500] for k, v in detail.items()},
        )
    )


def record_now(database: Database, action: str, **kw: Any) -> None:
    """Record in a transaction of its own (for refusals)."""
    with database.session() as s:
        record(s, action, **kw)
