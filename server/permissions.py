"""Who may do what: roles, permissions and data scope, checked in one place.

Every agent has a role (``agent``, ``supervisor``, ``admin``). A role brings
default permissions (:data:`ROLE_DEFAULTS`); per-agent grants
(``models.AgentGrant``) add permissions or take defaults away. An
administrator holds every permission, always.

Routes declare what they need with the dependency factory
:func:`Permission`::

    @router.get("/agent/tickets")
    def queue(staff: Annotated[Staff, Permission("tickets.handle")], ...)

and code deeper down asks :func:`require` or :func:`allowed`. The routes'
table-driven test (``tests/integration/test_permissions.py``) finds the
:class:`PermissionCheck` of every agent route, so a route without one fails
it.

Data scope of tickets (:func:`ticket_clause`), in this order:

1. ``tickets.read.all``: every ticket.
2. ``tickets.read.group``: exactly the tickets of the holder's groups, and
   their own. A ticket is in a group when its assignee is a member of the
   group, or its requester's product is one of the group's products.
3. otherwise: tickets assigned to the agent and the unassigned queue; with
   ``history.read.others`` also the tickets other agents have.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import Session as DbSession

from protocol.models import ErrorCode, Role
from server import audit, models
from server.errors import ApiProblem

# name -> what it allows (docs/administration.md has the same table).
PERMISSIONS: dict[str, str] = {
    "tickets.read.all": "read every ticket",
    "tickets.read.group": "read the tickets of one's groups (and one's own)",
    "tickets.handle": "use the ticket queue: read (in one's scope), reply, status, assign",
    "history.read.others": "read the tickets and conversations other agents have",
    "chats.take": "take live chats",
    "chats.read.records": "read the records of chats one did not take",
    "conversations.score": "score conversations (quality review)",
    "customers.read": "see a customer's CRM attributes",
    "kb.edit": "write knowledge-base articles",
    "agents.manage": "manage the agents of one's groups: grants, chat caps, lifecycle",
    "reports.read": "read reports and dashboards",
    "export": "export data as files",
    "settings.change": "change service settings such as SLA targets",
    "audit.read": "read the audit log",
    "groups.manage": "create groups, set their products and members",
    "integrations.manage": "API tokens for the ISV's systems, outgoing webhooks",
    "assist.start": "start remote assist: ask a customer, redeem a customer's code",
}

_AGENT_DEFAULTS = frozenset(
    {
        "tickets.handle",
        "history.read.others",
        "chats.take",
        "customers.read",
        "kb.edit",
        "assist.start",
    }
)
ROLE_DEFAULTS: dict[Role, frozenset[str]] = {
    Role.agent: _AGENT_DEFAULTS,
    Role.supervisor: _AGENT_DEFAULTS
    | {
        "tickets.read.all",
        "agents.manage",
        "chats.read.records",
        "conversations.score",
        "reports.read",
    },
    Role.admin: frozenset(PERMISSIONS),
}

SUPERVISOR_GRANTABLE = frozenset(
    {
        "tickets.read.all",
        "tickets.read.group",
        "tickets.handle",
        "history.read.others",
        "chats.take",
        "customers.read",
        "kb.edit",
        "assist.start",
    }
)
"""What a supervisor may grant or take away (from agents of their groups),
among the permissions they hold themselves. Administrators grant anything."""


@dataclass(frozen=True)
class Access:
    """One agent's effective permissions and groups, loaded per request."""

    agent_id: int
    role: Role
    permissions: frozenset[str]
    group_ids: frozenset[int]

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    def has(self, permission: str) -> bool:
        return self.is_admin or permission in self.permissions

    @property
    def reads_others_chats(self) -> bool:
        """May read conversations another agent has (``history.read.others``
        or ``chats.read.records``); otherwise only their own and the
        unassigned ones (the queue, the bot's)."""
        return self.has("history.read.others") or self.has("chats.read.records")

    def has_in_group(self, permission: str, group_id: int | None) -> bool:
        """``permission`` for something of group ``group_id`` (None: outside
        every group). A ``.group`` permission is satisfied by its ``.all``
        form anywhere."""
        if self.is_admin:
            return True
        if permission.endswith(".group") and self.has(permission[: -len(".group")] + ".all"):
            return True
        return self.has(permission) and group_id is not None and group_id in self.group_ids


def unknown_permissions(names: Iterable[str]) -> list[str]:
    return sorted(set(names) - set(PERMISSIONS))


def effective(role: Role, grants: Iterable[tuple[str, bool]]) -> frozenset[str]:
    if role == Role.admin:
        return ROLE_DEFAULTS[Role.admin]
    perms = set(ROLE_DEFAULTS[role])
    for name, allowed in grants:
        if name not in PERMISSIONS:
            continue  # a grant of a permission since retired
        if allowed:
            perms.add(name)
        else:
            perms.discard(name)
    return frozenset(perms)


def access_for(db: DbSession, agent: models.Agent) -> Access:
    grants = db.execute(
        select(models.AgentGrant.permission, models.AgentGrant.allowed).where(
            models.AgentGrant.agent_id == agent.id
        )
    ).all()
    groups = db.scalars(
        select(models.GroupMember.group_id).where(models.GroupMember.agent_id == agent.id)
    ).all()
    role = Role(agent.role)
    return Access(
        agent_id=agent.id,
        role=role,
        permissions=effective(role, [(g, a) for g, a in grants]),
        group_ids=frozenset(groups),
    )


def allowed(db: DbSession, agent_id: int, permission: str) -> bool:
    """Whether an agent (active or not) holds ``permission`` now: for code
    that has only an id, such as the chat router."""
    agent = db.get(models.Agent, agent_id)
    return agent is not None and agent.active and access_for(db, agent).has(permission)


# --- checks -----------------------------------------------------------------------


@dataclass(frozen=True)
class Staff:
    """An authenticated, active agent and what they may do."""

    agent: models.Agent
    access: Access
    session: models.AuthSession


def _forbidden(message: str) -> ApiProblem:
    return ApiProblem(403, ErrorCode.forbidden, message)


def require(
    subject: Any,
    permission: str | None,
    *,
    scope_group_id: int | None = None,
    db: DbSession | None = None,
) -> Access:
    """Refuse (401/403 :class:`ApiProblem`) unless ``subject`` holds
    ``permission`` (in group ``scope_group_id`` when given).

    ``subject`` is a :class:`Staff`, a ``server.auth.Principal``, an
    :class:`Access`, a ``models.Agent`` (with ``db`` to load its grants) or
    None (nobody signed in). ``permission`` None asks only for an active agent.
    """
    access = _access_of(subject, db)
    if permission is None:
        return access
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    ok = (
        access.has(permission)
        if scope_group_id is None
        else access.has_in_group(permission, scope_group_id)
    )
    if not ok:
        where = f" in group {scope_group_id}" if scope_group_id is not None else ""
        raise _forbidden(f"this needs the permission {permission}{where}")
    return access


def _access_of(subject: Any, db: DbSession | None) -> Access:
    if subject is None:
        raise ApiProblem(
            401,
            ErrorCode.session_missing,
            "sign in first (Authorization: Bearer ...)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if isinstance(subject, Access):
        return subject
    if isinstance(subject, Staff):
        return subject.access
    if isinstance(subject, models.Agent):
        if not subject.active:
            raise _forbidden("the agent account is disabled")
        if db is None:
            raise TypeError("require(agent, ...) needs db= to load the agent's grants")
        return access_for(db, subject)
    # A server.auth.Principal (not imported: server.auth imports this module).
    access = getattr(subject, "access", None)
    if isinstance(access, Access):
        return access
    raise _forbidden("this endpoint is for agents")


class PermissionCheck:
    """The dependency :func:`Permission` makes; tests find routes' checks by
    this type."""

    def __init__(self, permissions: tuple[str, ...], audit_action: str | None) -> None:
        unknown = unknown_permissions(permissions)
        if unknown:
            raise ValueError(f"unknown permissions: {', '.join(unknown)}")
        self.permissions = permissions
        self.audit_action = audit_action

    def __call__(self, request: Request) -> Staff:
        from server.auth import optional_principal

        principal = optional_principal(request)
        try:
            if principal is None or principal.agent is None:
                require(principal, None)  # 401, or 403 for a customer
            for name in self.permissions:
                require(principal, name)
        except ApiProblem as exc:
            if exc.status == 403 and principal is not None and principal.agent is not None:
                a = principal.agent
                audit.record_now(
                    request.app.state.db,
                    self.audit_action or "permission.denied",
                    actor_type="agent",
                    actor_id=a.id,
                    actor_name=a.email,
                    target=f"{request.method} {request.url.path}",
                    outcome="denied",
                    source=audit.source_of(request),
                    needs=",".join(self.permissions),
                )
            raise
        assert principal is not None and principal.agent is not None
        assert principal.access is not None
        return Staff(principal.agent, principal.access, principal.session)


def Permission(*permissions: str, audit_as: str | None = None) -> Any:
    """A FastAPI dependency: the caller must be an active agent holding every
    one of ``permissions`` (none: any active agent). Refusals to agents are
    audited (as ``audit_as``, default ``permission.denied``). Resolves to
    :class:`Staff`."""
    return Depends(PermissionCheck(permissions, audit_as))


AnyStaff = Annotated[Staff, Permission()]


# --- data scope ---------------------------------------------------------------------


def group_members(db: DbSession, group_ids: Iterable[int]) -> set[int]:
    ids = list(group_ids)
    if not ids:
        return set()
    return set(
        db.scalars(
            select(models.GroupMember.agent_id).where(models.GroupMember.group_id.in_(ids))
        ).all()
    )


def group_ticket_clause(group_ids: Iterable[int]) -> ColumnElement[bool]:
    """The tickets of groups ``group_ids``, as a WHERE clause: assigned to a
    member of one of them, or asked by a customer whose product is one of
    their products (the rule of ``tickets.read.group``; reports filtered by
    group use it too)."""
    T = models.Ticket
    groups = list(group_ids)
    members = select(models.GroupMember.agent_id).where(models.GroupMember.group_id.in_(groups))
    products = select(models.GroupProduct.product).where(models.GroupProduct.group_id.in_(groups))
    requesters = select(models.Customer.id).where(models.Customer.product.in_(products))
    return or_(T.assignee_id.in_(members), T.requester_id.in_(requesters))


def ticket_clause(access: Access) -> ColumnElement[bool]:
    """The tickets ``access`` may read, as a WHERE clause (see the module's
    docstring for the rules)."""
    T = models.Ticket
    if access.has("tickets.read.all"):
        return true()
    if access.has("tickets.read.group"):
        return or_(T.assignee_id == access.agent_id, group_ticket_clause(access.group_ids))
    if access.has("history.read.others"):
        return true()
    return or_(T.assignee_id == access.agent_id, T.assignee_id.is_(None))


def may_read_ticket(db: DbSession, access: Access, ticket_id: int) -> bool:
    return (
        db.scalar(
            select(models.Ticket.id).where(models.Ticket.id == ticket_id, ticket_clause(access))
        )
        is not None
    )


def require_ticket(db: DbSession, access: Access, ticket_id: int) -> models.Ticket:
    """The ticket, if ``access`` may read it: 404 when there is none, 403
    when it is outside the reader's scope (nothing of it is told)."""
    ticket = db.get(models.Ticket, ticket_id)
    if ticket is None:
        raise ApiProblem(404, ErrorCode.not_found, f"no ticket {ticket_id}")
    if not may_read_ticket(db, access, ticket_id):
        raise _forbidden(f"ticket {models.ticket_number(ticket_id)} is outside your groups")
    return ticket
