"""The team: one's own permissions, managing agents and groups, customers' CRM data.

Administrators manage everyone; supervisors with ``agents.manage`` manage
the plain agents of their groups. Every change is audited
(``server/team.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from protocol import admin as wire
from protocol.models import ErrorBody, ErrorCode, Role
from server import agents, api_tokens, models, permissions, team
from server.api.auth import agent_out
from server.audit import source_of
from server.auth import Db
from server.db import Database
from server.errors import ApiProblem
from server.permissions import AnyStaff, Permission, Staff

router = APIRouter(prefix="/team", tags=["team"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
}

Manager = Annotated[Staff, Permission("agents.manage")]
GroupAdmin = Annotated[Staff, Permission("groups.manage")]


def _database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def _actor(request: Request, staff: Staff) -> team.Actor:
    return team.staff_actor(staff, source_of(request))


def _groups(db: DbSession, ids: list[int]) -> list[wire.GroupRef]:
    if not ids:
        return []
    rows = db.scalars(
        select(models.AgentGroup)
        .where(models.AgentGroup.id.in_(ids))
        .order_by(models.AgentGroup.name)
    ).all()
    return [wire.GroupRef(id=g.id, name=g.name) for g in rows]


def team_agent_out(db: DbSession, a: models.Agent) -> wire.TeamAgent:
    access = permissions.access_for(db, a)
    grants = db.scalars(
        select(models.AgentGrant)
        .where(models.AgentGrant.agent_id == a.id)
        .order_by(models.AgentGrant.permission)
    ).all()
    return wire.TeamAgent(
        id=a.id,
        email=a.email,
        name=a.name,
        role=Role(a.role),
        active=a.active,
        groups=_groups(db, sorted(access.group_ids)),
        permissions=sorted(access.permissions),
        grants=[wire.Grant(permission=g.permission, allowed=g.allowed) for g in grants],
        max_chats=team.max_chats(db, a.id),
        chat_capacity=team.chat_capacity(db, a.id),
    )


def _managed(db: DbSession, staff: Staff, agent_id: int) -> models.Agent:
    target = team.get_agent(db, agent_id)
    scope = team.manageable_ids(db, staff.access)
    if scope is not None and target.id not in scope:
        raise ApiProblem(403, ErrorCode.forbidden, f"agent {agent_id} is not in your groups")
    return target


# --- oneself --------------------------------------------------------------------------


@router.get("/me", response_model=wire.MyAccess)
def me(staff: AnyStaff, db: Db) -> wire.MyAccess:
    """The signed-in agent's permissions and groups (the console shows or
    hides its tools by these)."""
    a = staff.agent
    return wire.MyAccess(
        agent=agent_out(a),
        permissions=sorted(staff.access.permissions),
        groups=_groups(db, sorted(staff.access.group_ids)),
        max_chats=team.chat_capacity(db, a.id),
    )


@router.post("/me/password", status_code=204, responses=_ERRORS)
def change_password(body: wire.PasswordChange, staff: AnyStaff, db: Db) -> Response:
    agent = db.get(models.Agent, staff.agent.id)
    assert agent is not None
    team.change_own_password(db, agent, body.current_password, body.new_password)
    return Response(status_code=204)


@router.get("/permissions", response_model=wire.PermissionCatalogue)
def catalogue(staff: AnyStaff) -> wire.PermissionCatalogue:
    return wire.PermissionCatalogue(
        permissions=[
            wire.PermissionInfo(
                name=name,
                description=text,
                roles=[r for r in Role if name in permissions.ROLE_DEFAULTS[r]],
                supervisor_grantable=name in permissions.SUPERVISOR_GRANTABLE,
            )
            for name, text in permissions.PERMISSIONS.items()
        ]
    )


# --- agents -----------------------------------------------------------------------------


@router.get("/agents", response_model=wire.TeamAgentList)
def list_agents(staff: Manager, db: Db) -> wire.TeamAgentList:
    """Administrators: every agent. Supervisors: the agents they manage."""
    scope = team.manageable_ids(db, staff.access)
    stmt = select(models.Agent).order_by(models.Agent.name, models.Agent.id)
    if scope is not None:
        stmt = stmt.where(models.Agent.id.in_(scope))
    return wire.TeamAgentList(agents=[team_agent_out(db, a) for a in db.scalars(stmt).all()])


@router.post("/agents", response_model=wire.AgentCreated, status_code=201, responses=_ERRORS)
def create_agent(
    body: wire.AgentCreate, request: Request, staff: Manager, db: Db
) -> wire.AgentCreated:
    """A new account with a one-time password. Supervisors create plain
    agents, in (at least one of) their own groups."""
    if not staff.access.is_admin:
        if body.role != Role.agent:
            raise ApiProblem(403, ErrorCode.forbidden, "only administrators create supervisors")
        if not body.group_ids or not set(body.group_ids) <= staff.access.group_ids:
            raise ApiProblem(
                403, ErrorCode.forbidden, "put the new agent in one or more of your groups"
            )
    groups = [team.get_group(db, g) for g in body.group_ids]
    password = team.new_password()
    try:
        agent = agents.create_agent(
            db, email=body.email, name=body.name, password=password, role=body.role
        )
    except ValueError as exc:
        status = 409 if "exists" in str(exc) else 422
        raise ApiProblem(status, ErrorCode.invalid_request, str(exc)) from exc
    actor = _actor(request, staff)
    actor.audit(db, "agent.create", agent.email, role=agent.role)
    for g in groups:
        team.set_member(db, actor, g, agent, True)
    return wire.AgentCreated(agent=team_agent_out(db, agent), password=password)


@router.get("/agents/{agent_id}", response_model=wire.TeamAgent, responses=_ERRORS)
def get_agent(agent_id: int, staff: Manager, db: Db) -> wire.TeamAgent:
    return team_agent_out(db, _managed(db, staff, agent_id))


@router.patch("/agents/{agent_id}", response_model=wire.TeamAgent, responses=_ERRORS)
def update_agent(
    agent_id: int, body: wire.AgentUpdate, request: Request, staff: Manager, db: Db
) -> wire.TeamAgent:
    target = _managed(db, staff, agent_id)
    actor = _actor(request, staff)
    fields = body.model_fields_set
    if "role" in fields:
        if body.role is None:
            raise ApiProblem(422, ErrorCode.invalid_request, "role: may not be null")
        team.set_role(db, actor, target, body.role)
    if "max_chats" in fields:
        team.set_max_chats(db, actor, target, body.max_chats)
    if "name" in fields and body.name is not None and body.name.strip() != target.name:
        team.check_manages(db, actor, target)
        actor.audit(db, "agent.rename", target.email, name_from=target.name)
        target.name = body.name.strip()
    db.flush()
    return team_agent_out(db, target)


@router.put("/agents/{agent_id}/permissions", response_model=wire.TeamAgent, responses=_ERRORS)
def change_permissions(
    agent_id: int, body: wire.PermissionChanges, request: Request, staff: Manager, db: Db
) -> wire.TeamAgent:
    target = _managed(db, staff, agent_id)
    changes = {c.permission: c.allowed for c in body.changes}
    team.set_grants(db, _actor(request, staff), target, changes)
    return team_agent_out(db, target)


@router.post("/agents/{agent_id}/disable", response_model=wire.Disabled, responses=_ERRORS)
def disable(agent_id: int, request: Request, staff: Manager) -> wire.Disabled:
    """The agent's sessions end at once, their open tickets return to the
    queue, their chats are handed back (by the chat service's hook)."""
    database = _database(request)
    with database.session() as db:
        _managed(db, staff, agent_id)
    done = team.disable_agent(database, _actor(request, staff), agent_id, state=request.app.state)
    with database.session() as db:
        out = team_agent_out(db, team.get_agent(db, agent_id))
    return wire.Disabled(agent=out, sessions=done.sessions, tickets_released=done.tickets)


@router.post("/agents/{agent_id}/enable", response_model=wire.TeamAgent, responses=_ERRORS)
def enable(agent_id: int, request: Request, staff: Manager, db: Db) -> wire.TeamAgent:
    target = _managed(db, staff, agent_id)
    team.enable_agent(db, _actor(request, staff), target)
    return team_agent_out(db, target)


@router.post("/agents/{agent_id}/sign-out", response_model=wire.SignedOut, responses=_ERRORS)
def sign_out(agent_id: int, request: Request, staff: Manager) -> wire.SignedOut:
    """End every session of the agent now (a lost laptop)."""
    database = _database(request)
    with database.session() as db:
        _managed(db, staff, agent_id)
    n = team.sign_out_agent(database, _actor(request, staff), agent_id, state=request.app.state)
    return wire.SignedOut(sessions=n)


@router.post(
    "/agents/{agent_id}/password-reset", response_model=wire.PasswordReset, responses=_ERRORS
)
def password_reset(agent_id: int, request: Request, staff: Manager) -> wire.PasswordReset:
    """A one-time password, shown in this answer only; the agent's sessions end."""
    database = _database(request)
    with database.session() as db:
        _managed(db, staff, agent_id)
    password = team.reset_password(
        database, _actor(request, staff), agent_id, state=request.app.state
    )
    return wire.PasswordReset(password=password)


# --- groups -------------------------------------------------------------------------------


def group_out(db: DbSession, g: models.AgentGroup) -> wire.Group:
    members = db.scalars(
        select(models.GroupMember.agent_id)
        .where(models.GroupMember.group_id == g.id)
        .order_by(models.GroupMember.agent_id)
    ).all()
    return wire.Group(
        id=g.id,
        name=g.name,
        kind=g.kind,
        description=g.description,
        products=team.group_products(db, [g.id]),
        member_ids=list(members),
    )


@router.get("/groups", response_model=wire.GroupList)
def list_groups(staff: AnyStaff, db: Db) -> wire.GroupList:
    """Every group, its products and members (transfer pickers, boards)."""
    rows = db.scalars(select(models.AgentGroup).order_by(models.AgentGroup.name)).all()
    return wire.GroupList(groups=[group_out(db, g) for g in rows])


@router.post("/groups", response_model=wire.Group, status_code=201, responses=_ERRORS)
def create_group(body: wire.GroupIn, request: Request, staff: GroupAdmin, db: Db) -> wire.Group:
    g = team.create_group(
        db,
        _actor(request, staff),
        name=body.name,
        kind=body.kind,
        description=body.description,
        products=body.products,
    )
    return group_out(db, g)


@router.patch("/groups/{group_id}", response_model=wire.Group, responses=_ERRORS)
def update_group(
    group_id: int, body: wire.GroupUpdate, request: Request, staff: GroupAdmin, db: Db
) -> wire.Group:
    g = team.get_group(db, group_id)
    team.update_group(
        db,
        _actor(request, staff),
        g,
        name=body.name,
        kind=body.kind,
        description=body.description,
        products=body.products,
    )
    return group_out(db, g)


@router.delete("/groups/{group_id}", status_code=204, responses=_ERRORS)
def delete_group(group_id: int, request: Request, staff: GroupAdmin, db: Db) -> Response:
    team.delete_group(db, _actor(request, staff), team.get_group(db, group_id))
    return Response(status_code=204)


@router.put("/groups/{group_id}/members/{agent_id}", response_model=wire.Group, responses=_ERRORS)
def add_member(
    group_id: int, agent_id: int, request: Request, staff: GroupAdmin, db: Db
) -> wire.Group:
    g = team.get_group(db, group_id)
    team.set_member(db, _actor(request, staff), g, team.get_agent(db, agent_id), True)
    return group_out(db, g)


@router.delete(
    "/groups/{group_id}/members/{agent_id}", response_model=wire.Group, responses=_ERRORS
)
def remove_member(
    group_id: int, agent_id: int, request: Request, staff: GroupAdmin, db: Db
) -> wire.Group:
    g = team.get_group(db, group_id)
    team.set_member(db, _actor(request, staff), g, team.get_agent(db, agent_id), False)
    return group_out(db, g)


# --- customers ------------------------------------------------------------------------------


def attributes_out(db: DbSession, c: models.Customer) -> wire.CustomerAttributes:
    attrs = api_tokens.customer_attributes(db, c.id)
    row = db.get(models.CustomerAttributes, c.id)
    return wire.CustomerAttributes(
        customer_id=c.id,
        external_id=c.external_id,
        contract=attrs.get("contract"),
        service_level=attrs.get("service_level"),
        products_owned=attrs.get("products_owned", []),
        extra=attrs.get("extra", {}),
        updated_at=row.updated_at if row is not None else None,
    )


@router.get(
    "/customers/{customer_id}/attributes",
    response_model=wire.CustomerAttributes,
    responses=_ERRORS,
)
def customer_attributes(
    customer_id: int, staff: Annotated[Staff, Permission("customers.read")], db: Db
) -> wire.CustomerAttributes:
    """What the ISV's CRM says about the customer (contract, service level...)."""
    c = db.get(models.Customer, customer_id)
    if c is None:
        raise ApiProblem(404, ErrorCode.not_found, f"no customer {customer_id}")
    return attributes_out(db, c)
