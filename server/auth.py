"""Request authentication: bearer sessions for customers and agents.

Every route that needs a caller depends on one of the functions here, so the
checks live in one place.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, object_session
from sqlalchemy.orm import Session as DbSession

from protocol.models import ErrorCode, Role
from server import models
from server.db import Database
from server.errors import ApiProblem
from server.identity import IdentityRejected, lookup_session, token_hash
from server.permissions import Access, access_for


def get_db(request: Request) -> Iterator[DbSession]:
    database: Database = request.app.state.db
    with database.session(serialize=False) as session:
        yield session


# scope="function": commit before the response is sent, so a client's next
# request always sees what this one wrote.
Db = Annotated[DbSession, Depends(get_db, scope="function")]


@dataclass(frozen=True)
class Principal:
    session: models.AuthSession
    customer: models.Customer | None = None
    agent: models.Agent | None = None
    access: Access | None = None
    """An agent's permissions and groups (``server.permissions``)."""


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _unauthorized(code: ErrorCode, message: str) -> ApiProblem:
    return ApiProblem(401, code, message, headers={"WWW-Authenticate": "Bearer"})


# --- customers' principals, kept a few seconds ----------------------------------------
#
# Looking a customer's session up costs two queries and a transaction on
# every request. A customer's principal is kept for PRINCIPAL_TTL seconds
# instead, and dropped at once, in this process, whenever a transaction that
# changed an auth session (sign-out, refresh) or a customer (sign-in with new
# attributes, CRM updates) commits or rolls back: see the hooks below. The
# access token's own expiry is checked on every hit. Agents are not kept:
# their accounts and grants also change from the command line, in another
# process, and a disabled agent must be refused at once.

PRINCIPAL_TTL = 5.0
PRINCIPAL_CACHE_MAX = 10_000


@dataclass(frozen=True)
class _Kept:
    until: float
    session_id: int
    customer_id: int
    principal: Principal


class PrincipalCache:
    """Principals by (database URL, access-token hash). A lookup that started
    before an invalidation is not stored (``generation``), so a principal
    read just before a sign-out committed cannot outlive it."""

    def __init__(self, ttl: float = PRINCIPAL_TTL, max_entries: int = PRINCIPAL_CACHE_MAX) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.generation = 0
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], _Kept] = {}

    def get(self, key: tuple[str, str]) -> Principal | None:
        kept = self._entries.get(key)
        if kept is None:
            return None
        if kept.until <= time.monotonic() or kept.principal.session.expires_at <= datetime.now(UTC):
            with self._lock:
                if self._entries.get(key) is kept:
                    del self._entries[key]
            return None
        return kept.principal

    def put(self, key: tuple[str, str], principal: Principal, generation: int) -> None:
        if principal.customer is None:
            return
        kept = _Kept(
            time.monotonic() + self.ttl, principal.session.id, principal.customer.id, principal
        )
        with self._lock:
            if generation != self.generation:
                return  # something changed while it was read
            if len(self._entries) >= self.max_entries:
                now = time.monotonic()
                self._entries = {k: v for k, v in self._entries.items() if v.until > now}
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
            self._entries[key] = kept

    def invalidate(
        self, *, sessions: set[int] | None = None, customers: set[int] | None = None
    ) -> None:
        """Drop the principals of these sessions and customers; everything
        when both are None."""
        with self._lock:
            self.generation += 1
            if sessions is None and customers is None:
                self._entries.clear()
                return
            gone_s, gone_c = sessions or set(), customers or set()
            self._entries = {
                k: v
                for k, v in self._entries.items()
                if v.session_id not in gone_s and v.customer_id not in gone_c
            }

    def __len__(self) -> int:
        return len(self._entries)


principals = PrincipalCache()

_STALE = "principals_stale"
_WATCHED_TABLES = frozenset({"auth_sessions", "customers"})


def _note(session: DbSession | None, kind: str, ident: Any) -> None:
    if session is None:
        principals.invalidate()
        return
    stale: dict[str, set[int] | None] = session.info.setdefault(
        _STALE, {"sessions": set(), "customers": set()}
    )
    bucket = stale.get(kind)
    if bucket is not None:
        if isinstance(ident, int):
            bucket.add(ident)
        else:
            stale["sessions"] = stale["customers"] = None


def _session_row_changed(_mapper: Any, _conn: Any, target: models.AuthSession) -> None:
    _note(object_session(target), "sessions", target.id)


def _customer_row_changed(_mapper: Any, _conn: Any, target: models.Customer) -> None:
    _note(object_session(target), "customers", target.id)


for _name in ("after_update", "after_delete"):
    event.listen(models.AuthSession, _name, _session_row_changed)
    event.listen(models.Customer, _name, _customer_row_changed)


@event.listens_for(DbSession, "do_orm_execute")
def _bulk_change(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if table is None or getattr(table, "name", None) in _WATCHED_TABLES:
        _note(state.session, "sessions", None)


def _transaction_over(session: DbSession) -> None:
    stale = session.info.pop(_STALE, None)
    if stale is not None:
        principals.invalidate(sessions=stale["sessions"], customers=stale["customers"])


# Rolled back or committed: either way the marks of this transaction are done
# with (dropping on a rollback too costs a lookup at most).
event.listen(DbSession, "after_commit", _transaction_over)
event.listen(DbSession, "after_soft_rollback", lambda s, _prev: _transaction_over(s))


def _cache_key(request: Request, token: str) -> tuple[str, str]:
    database: Database = request.app.state.db
    return database.url, token_hash(token)


def optional_principal(request: Request) -> Principal | None:
    """The caller, loaded in a short transaction of its own: the rows come
    back detached, so a request never holds two pooled connections at once."""
    token = _bearer(request)
    if token is None:
        return None
    key = _cache_key(request, token)
    kept = principals.get(key)
    if kept is not None:
        return kept
    generation = principals.generation
    database: Database = request.app.state.db
    with database.session() as db:
        principal = _load_principal(db, token)
    principals.put(key, principal, generation)
    return principal


async def current_principal(request: Request) -> Principal | None:
    """:func:`optional_principal` without a trip through the thread pool
    when the caller's principal is kept."""
    token = _bearer(request)
    if token is None:
        return None
    kept = principals.get(_cache_key(request, token))
    if kept is not None:
        return kept
    return await run_in_threadpool(optional_principal, request)


def _load_principal(db: DbSession, token: str) -> Principal:
    try:
        row = lookup_session(db, token)
    except IdentityRejected as exc:
        raise _unauthorized(exc.code, exc.message) from exc
    if row.subject_type == "customer":
        customer = db.get(models.Customer, row.subject_id)
        if customer is None:
            raise _unauthorized(ErrorCode.session_invalid, "customer no longer exists")
        return Principal(row, customer=customer)
    agent = db.get(models.Agent, row.subject_id)
    if agent is None or not agent.active:
        raise _unauthorized(ErrorCode.account_disabled, "agent account is disabled")
    return Principal(row, agent=agent, access=access_for(db, agent))


MaybePrincipal = Annotated[Principal | None, Depends(current_principal)]


# The checks below do no I/O: ``async def`` keeps FastAPI from sending each
# one through the thread pool (a thread hop per dependency per request).
async def require_principal(principal: MaybePrincipal) -> Principal:
    if principal is None:
        raise _unauthorized(ErrorCode.session_missing, "sign in first (Authorization: Bearer ...)")
    return principal


AnyPrincipal = Annotated[Principal, Depends(require_principal)]


async def require_customer(principal: AnyPrincipal) -> models.Customer:
    if principal.customer is None:
        raise ApiProblem(403, ErrorCode.forbidden, "this endpoint is for customers")
    return principal.customer


async def require_agent(principal: AnyPrincipal) -> models.Agent:
    if principal.agent is None:
        raise ApiProblem(403, ErrorCode.forbidden, "this endpoint is for agents")
    return principal.agent


CurrentCustomer = Annotated[models.Customer, Depends(require_customer)]
CurrentAgent = Annotated[models.Agent, Depends(require_agent)]


def role_at_least(agent: models.Agent, role: Role) -> bool:
    """Role order only; what an agent may do is ``server.permissions``'s."""
    order = [Role.agent, Role.supervisor, Role.admin]
    return order.index(Role(agent.role)) >= order.index(role)
