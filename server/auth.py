"""Request authentication: bearer sessions for customers and agents.

Every route that needs a caller depends on one of the functions here, so the
checks live in one place.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session as DbSession

from protocol.models import ErrorCode, Role
from server import models
from server.db import Database
from server.errors import ApiProblem
from server.identity import IdentityRejected, lookup_session
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


def optional_principal(request: Request) -> Principal | None:
    """The caller, loaded in a short transaction of its own: the rows come
    back detached, so a request never holds two pooled connections at once."""
    token = _bearer(request)
    if token is None:
        return None
    database: Database = request.app.state.db
    with database.session() as db:
        return _load_principal(db, token)


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


MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]


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
