"""The support team: groups, grants, chat caps and the agents' lifecycle.

Functions for other parts of the service:

* :func:`agent_groups`, :func:`groups_for_product`, :func:`chat_capacity`
  for the chat router (which queues an agent serves, how many chats they
  may hold);
* :data:`on_agent_disabled` and :data:`on_agent_signed_out`, hook lists the
  chat service appends to (end the agent's websockets, requeue their
  conversations).

Every change here is written to the audit log in its own transaction.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session as DbSession

from protocol.models import ErrorCode, Role
from server import agents, audit, models, permissions, tickets
from server.db import Database
from server.errors import ApiProblem

log = logging.getLogger(__name__)

DEFAULT_MAX_CHATS = 5
"""Concurrent chats an agent may hold when no supervisor set a cap (the
console's default capacity, ``protocol.realtime.DEFAULT_CAPACITY``)."""
MAX_CHATS_LIMIT = 50


@dataclass(frozen=True)
class Actor:
    """Who makes a team change, for the audit log."""

    kind: str  # "agent" | "cli"
    name: str
    id: int | None = None
    source: str = ""
    access: permissions.Access | None = None
    """An agent's permissions (None: the operator's CLI, which may do all)."""

    def audit(self, db: DbSession, action: str, target: str, **detail: Any) -> None:
        audit.record(
            db,
            action,
            actor_type=self.kind,
            actor_id=self.id,
            actor_name=self.name,
            target=target,
            source=self.source,
            **detail,
        )


def staff_actor(staff: permissions.Staff, source: str = "") -> Actor:
    return Actor("agent", staff.agent.email, staff.agent.id, source, staff.access)


# --- for the chat router ------------------------------------------------------------


def agent_groups(db: DbSession, agent_id: int) -> list[int]:
    """The ids of the groups an agent belongs to."""
    return sorted(
        db.scalars(
            select(models.GroupMember.group_id).where(models.GroupMember.agent_id == agent_id)
        ).all()
    )


def groups_for_product(db: DbSession, product: str) -> list[int]:
    """The ids of the groups serving ``product`` (empty: no group claims it,
    so every agent may)."""
    return sorted(
        db.scalars(
            select(models.GroupProduct.group_id).where(models.GroupProduct.product == product)
        ).all()
    )


def group_products(db: DbSession, group_ids: Iterable[int]) -> list[str]:
    ids = list(group_ids)
    if not ids:
        return []
    return sorted(
        set(
            db.scalars(
                select(models.GroupProduct.product).where(models.GroupProduct.group_id.in_(ids))
            ).all()
        )
    )


def max_chats(db: DbSession, agent_id: int) -> int | None:
    """The cap a supervisor set, or None."""
    row = db.get(models.AgentLimits, agent_id)
    return row.max_chats if row is not None else None


def chat_capacity(db: DbSession, agent_id: int) -> int:
    """How many conversations the agent may hold at once: 0 when the account
    is disabled or lacks ``chats.take``, else the supervisor's cap (default
    :data:`DEFAULT_MAX_CHATS`). The router takes the smaller of this and the
    capacity the agent chose in the console."""
    agent = db.get(models.Agent, agent_id)
    if agent is None or not agent.active:
        return 0
    if not permissions.access_for(db, agent).has("chats.take"):
        return 0
    cap = max_chats(db, agent_id)
    return DEFAULT_MAX_CHATS if cap is None else cap


# --- hooks --------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentEvent:
    """Given to hooks after the change committed. ``db`` is a fresh
    transaction of the hook's own (committed when the hook returns);
    ``state`` is the FastAPI app's state when the change came through the
    API (None from the command line)."""

    db: DbSession
    agent_id: int
    actor: str
    state: Any | None


AgentHook = Callable[[AgentEvent], None]

on_agent_disabled: list[AgentHook] = []
"""Called once an agent is disabled (sessions revoked, tickets unassigned)."""
on_agent_signed_out: list[AgentHook] = []
"""Called once an agent's sessions were revoked by a supervisor (also after
a password reset)."""


def _run_hooks(
    database: Database, hooks: list[AgentHook], agent_id: int, actor: Actor, state: Any | None
) -> None:
    # One transaction per hook: a failing hook neither undoes the change
    # (it is a security action) nor stops the other hooks.
    for hook in list(hooks):
        try:
            with database.session() as s:
                hook(AgentEvent(s, agent_id, actor.name, state))
        except Exception:
            log.exception("agent hook %r failed", hook)


# --- who manages whom ---------------------------------------------------------------


def get_agent(db: DbSession, agent_id: int) -> models.Agent:
    agent = db.get(models.Agent, agent_id)
    if agent is None:
        raise ApiProblem(404, ErrorCode.not_found, f"no agent {agent_id}")
    return agent


def find_agent(db: DbSession, email: str) -> models.Agent:
    agent = db.scalar(select(models.Agent).where(models.Agent.email == email.strip().lower()))
    if agent is None:
        raise ApiProblem(404, ErrorCode.not_found, f"no agent {email}")
    return agent


def manageable_ids(db: DbSession, access: permissions.Access) -> set[int] | None:
    """The agents ``access`` manages (None: everyone, for administrators):
    plain agents sharing a group with the supervisor."""
    if access.is_admin:
        return None
    if not access.has("agents.manage"):
        return set()
    ids = permissions.group_members(db, access.group_ids)
    plain = db.scalars(
        select(models.Agent.id).where(models.Agent.id.in_(ids), models.Agent.role == Role.agent)
    ).all()
    return set(plain) - {access.agent_id}


def check_manages(db: DbSession, actor: Actor, target: models.Agent) -> None:
    """Refuse unless ``actor`` may manage ``target``."""
    if actor.access is None:
        return
    shared = set(agent_groups(db, target.id)) & actor.access.group_ids
    group = min(shared) if shared else None
    permissions.require(actor.access, "agents.manage", scope_group_id=group)
    if actor.access.is_admin:
        return
    if target.id == actor.access.agent_id:
        raise ApiProblem(403, ErrorCode.forbidden, "ask an administrator to change your account")
    if target.role != Role.agent:
        raise ApiProblem(
            403, ErrorCode.forbidden, "only administrators manage supervisors and administrators"
        )


def _check_not_last_admin(db: DbSession, target: models.Agent) -> None:
    if target.role != Role.admin:
        return
    others = db.scalars(
        select(models.Agent.id).where(
            models.Agent.role == Role.admin,
            models.Agent.active.is_(True),
            models.Agent.id != target.id,
        )
    ).all()
    if not others:
        raise ApiProblem(409, ErrorCode.conflict, "this is the last active administrator")


# --- grants ---------------------------------------------------------------------------


def set_grants(
    db: DbSession, actor: Actor, target: models.Agent, changes: dict[str, bool | None]
) -> frozenset[str]:
    """Grant (True), take away (False) or return to the role's default (None)
    each named permission. Returns the target's effective permissions."""
    check_manages(db, actor, target)
    unknown = permissions.unknown_permissions(changes)
    if unknown:
        raise ApiProblem(422, ErrorCode.invalid_request, f"unknown permission {unknown[0]}")
    if target.role == Role.admin:
        raise ApiProblem(409, ErrorCode.conflict, "administrators hold every permission")
    if actor.access is not None and not actor.access.is_admin:
        for name in changes:
            if name not in permissions.SUPERVISOR_GRANTABLE or not actor.access.has(name):
                raise ApiProblem(
                    403, ErrorCode.forbidden, f"only administrators grant or take away {name}"
                )
    now = datetime.now(UTC)
    for name, allowed in sorted(changes.items()):
        row = db.get(models.AgentGrant, (target.id, name))
        before = None if row is None else row.allowed
        if before == allowed:
            continue
        if allowed is None:
            assert row is not None
            db.delete(row)
        elif row is None:
            db.add(
                models.AgentGrant(
                    agent_id=target.id,
                    permission=name,
                    allowed=allowed,
                    granted_by=actor.name,
                    granted_at=now,
                )
            )
        else:
            row.allowed, row.granted_by, row.granted_at = allowed, actor.name, now
        action = {True: "grant", False: "revoke", None: "reset"}[allowed]
        actor.audit(db, f"permission.{action}", target.email, permission=name)
    db.flush()
    return permissions.access_for(db, target).permissions


def set_role(db: DbSession, actor: Actor, target: models.Agent, role: Role) -> None:
    if actor.access is not None and not actor.access.is_admin:
        raise ApiProblem(403, ErrorCode.forbidden, "only administrators change roles")
    if Role(target.role) == role:
        return
    if role != Role.admin:
        _check_not_last_admin(db, target)
    actor.audit(db, "agent.role", target.email, role_from=target.role, role_to=role.value)
    target.role = role.value


def set_max_chats(db: DbSession, actor: Actor, target: models.Agent, cap: int | None) -> None:
    check_manages(db, actor, target)
    if cap is not None and not 0 <= cap <= MAX_CHATS_LIMIT:
        raise ApiProblem(
            422, ErrorCode.invalid_request, f"max_chats must be 0..{MAX_CHATS_LIMIT} or null"
        )
    row = db.get(models.AgentLimits, target.id)
    if (row.max_chats if row else None) == cap:
        return
    if row is None:
        row = models.AgentLimits(agent_id=target.id)
        db.add(row)
    row.max_chats = cap
    row.updated_at = datetime.now(UTC)
    actor.audit(db, "agent.max_chats", target.email, max_chats="default" if cap is None else cap)


# --- groups -----------------------------------------------------------------------------


def _clean_products(products: Iterable[str]) -> list[str]:
    out = sorted({p.strip() for p in products if p.strip()})
    if any(len(p) > 100 for p in out):
        raise ApiProblem(422, ErrorCode.invalid_request, "a product name has at most 100 chars")
    return out


def get_group(db: DbSession, group_id: int) -> models.AgentGroup:
    group = db.get(models.AgentGroup, group_id)
    if group is None:
        raise ApiProblem(404, ErrorCode.not_found, f"no group {group_id}")
    return group


def find_group(db: DbSession, name: str) -> models.AgentGroup:
    group = db.scalar(select(models.AgentGroup).where(models.AgentGroup.name == name.strip()))
    if group is None:
        raise ApiProblem(404, ErrorCode.not_found, f"no group {name!r}")
    return group


def create_group(
    db: DbSession,
    actor: Actor,
    *,
    name: str,
    kind: str = "product",
    description: str = "",
    products: Iterable[str] = (),
) -> models.AgentGroup:
    name = name.strip()
    if not name:
        raise ApiProblem(422, ErrorCode.invalid_request, "a group needs a name")
    if db.scalar(select(models.AgentGroup.id).where(models.AgentGroup.name == name)):
        raise ApiProblem(409, ErrorCode.conflict, f"a group named {name!r} exists already")
    group = models.AgentGroup(name=name, kind=kind, description=description)
    db.add(group)
    db.flush()
    clean = _clean_products(products)
    for product in clean:
        db.add(models.GroupProduct(group_id=group.id, product=product))
    actor.audit(db, "group.create", name, kind=kind, products=",".join(clean))
    db.flush()
    return group


def update_group(
    db: DbSession,
    actor: Actor,
    group: models.AgentGroup,
    *,
    name: str | None = None,
    kind: str | None = None,
    description: str | None = None,
    products: Iterable[str] | None = None,
) -> None:
    detail: dict[str, str] = {}
    if name is not None and name.strip() != group.name:
        name = name.strip()
        if not name:
            raise ApiProblem(422, ErrorCode.invalid_request, "a group needs a name")
        if db.scalar(select(models.AgentGroup.id).where(models.AgentGroup.name == name)):
            raise ApiProblem(409, ErrorCode.conflict, f"a group named {name!r} exists already")
        detail["renamed_from"] = group.name
        group.name = name
    if kind is not None and kind != group.kind:
        detail["kind"] = group.kind = kind
    if description is not None:
        group.description = description
    if products is not None:
        clean = _clean_products(products)
        if clean != group_products(db, [group.id]):
            db.execute(delete(models.GroupProduct).where(models.GroupProduct.group_id == group.id))
            for product in clean:
                db.add(models.GroupProduct(group_id=group.id, product=product))
            detail["products"] = ",".join(clean)
    if detail:
        actor.audit(db, "group.update", group.name, **detail)
    db.flush()


def delete_group(db: DbSession, actor: Actor, group: models.AgentGroup) -> None:
    actor.audit(db, "group.delete", group.name)
    db.delete(group)
    db.flush()


def set_member(
    db: DbSession, actor: Actor, group: models.AgentGroup, agent: models.Agent, member: bool
) -> None:
    row = db.get(models.GroupMember, (group.id, agent.id))
    if (row is not None) == member:
        return
    if member:
        db.add(models.GroupMember(group_id=group.id, agent_id=agent.id))
    else:
        assert row is not None
        db.delete(row)
    action = "group.member.add" if member else "group.member.remove"
    actor.audit(db, action, agent.email, group=group.name)
    db.flush()


# --- lifecycle --------------------------------------------------------------------------


def revoke_sessions(db: DbSession, agent_id: int) -> int:
    """End every session of an agent at once: their next request is refused."""
    result = db.execute(
        update(models.AuthSession)
        .where(
            models.AuthSession.subject_type == "agent",
            models.AuthSession.subject_id == agent_id,
            models.AuthSession.revoked_at.is_(None),
        )
        .values(revoked_at=datetime.now(UTC))
    )
    return int(getattr(result, "rowcount", 0) or 0)


def release_tickets(db: DbSession, agent: models.Agent) -> int:
    """Unassign the agent's open tickets: they go back to the queue of their
    product's group (tickets without an assignee are the queue)."""
    open_states = [s.value for s in tickets.OPEN_STATES]
    rows = db.scalars(
        select(models.Ticket).where(
            models.Ticket.assignee_id == agent.id, models.Ticket.status.in_(open_states)
        )
    ).all()
    for t in rows:
        t.assignee_id = None
        # An "assigned" event with no body: unassigned, by the service.
        tickets.add_event(db, t, None, "assigned", body="", internal=True)
    return len(rows)


@dataclass(frozen=True)
class Disabled:
    sessions: int
    tickets: int


def disable_agent(
    database: Database, actor: Actor, agent_id: int, *, state: Any | None = None
) -> Disabled:
    """Disable an account: its sessions end at once, its open tickets return
    to the queue, then :data:`on_agent_disabled` hooks run."""
    with database.session() as db:
        target = get_agent(db, agent_id)
        check_manages(db, actor, target)
        if actor.access is not None and target.id == actor.access.agent_id:
            raise ApiProblem(409, ErrorCode.conflict, "you cannot disable your own account")
        _check_not_last_admin(db, target)
        target.active = False
        n_sessions = revoke_sessions(db, target.id)
        n_tickets = release_tickets(db, target)
        actor.audit(
            db, "agent.disable", target.email, sessions=n_sessions, tickets_released=n_tickets
        )
    _run_hooks(database, on_agent_disabled, agent_id, actor, state)
    return Disabled(n_sessions, n_tickets)


def enable_agent(db: DbSession, actor: Actor, target: models.Agent) -> None:
    check_manages(db, actor, target)
    if target.active:
        return
    target.active = True
    actor.audit(db, "agent.enable", target.email)


def sign_out_agent(
    database: Database, actor: Actor, agent_id: int, *, state: Any | None = None
) -> int:
    """Force sign-out: every session of the agent ends now."""
    with database.session() as db:
        target = get_agent(db, agent_id)
        check_manages(db, actor, target)
        n = revoke_sessions(db, target.id)
        actor.audit(db, "agent.sign_out", target.email, sessions=n)
    _run_hooks(database, on_agent_signed_out, agent_id, actor, state)
    return n


def new_password() -> str:
    """A one-time password: 20 characters of URL-safe randomness."""
    return secrets.token_urlsafe(15)


def reset_password(
    database: Database,
    actor: Actor,
    agent_id: int,
    password: str | None = None,
    *,
    state: Any | None = None,
) -> str:
    """Set a temporary password (generated when None; returned once, never
    logged) and end the agent's sessions."""
    password = new_password() if password is None else password
    if len(password) < agents.MIN_PASSWORD:
        raise ApiProblem(
            422,
            ErrorCode.invalid_request,
            f"password must have at least {agents.MIN_PASSWORD} characters",
        )
    with database.session() as db:
        target = get_agent(db, agent_id)
        check_manages(db, actor, target)
        target.password_hash = agents.hash_password(password)
        n = revoke_sessions(db, target.id)
        actor.audit(db, "agent.password_reset", target.email, sessions=n)
    _run_hooks(database, on_agent_signed_out, agent_id, actor, state)
    return password


def change_own_password(db: DbSession, agent: models.Agent, current: str, new: str) -> None:
    if not agents.password_matches(agent, current):
        raise ApiProblem(403, ErrorCode.bad_credentials, "the current password is wrong")
    if len(new) < agents.MIN_PASSWORD:
        raise ApiProblem(
            422,
            ErrorCode.invalid_request,
            f"password must have at least {agents.MIN_PASSWORD} characters",
        )
    agent.password_hash = agents.hash_password(new)
    audit.record(
        db, "agent.password_change", actor_type="agent", actor_id=agent.id, actor_name=agent.email
    )
