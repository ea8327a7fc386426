"""Ticket rules: priority and SLA, status transitions, who sees what.

Routes in ``server/api/tickets.py`` stay thin and call these functions, so
the rules are in one place and tested once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Select,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session as DbSession

from protocol import tickets as wire
from protocol.models import Customer as CustomerOut
from protocol.models import ErrorCode, Role
from protocol.tickets import TicketStatus, priority_for
from server import models, webhooks
from server.errors import ApiProblem
from server.permissions import ROLE_DEFAULTS

# Minutes to first response and to resolution, by tier and priority. The
# migration seeds this table; administrators change it at /agent/sla.
DEFAULT_SLA: dict[str, dict[str, tuple[int, int]]] = {
    "normal": {
        "P1": (60, 480),
        "P2": (240, 1440),
        "P3": (480, 2880),
        "P4": (1440, 7200),
        "P5": (2880, 14400),
    },
    "vip": {
        "P1": (30, 240),
        "P2": (120, 720),
        "P3": (240, 1440),
        "P4": (720, 4320),
        "P5": (1440, 7200),
    },
    "svip": {
        "P1": (15, 120),
        "P2": (60, 480),
        "P3": (120, 720),
        "P4": (480, 2880),
        "P5": (720, 4320),
    },
}

OPEN_STATES: tuple[TicketStatus, ...] = (
    TicketStatus.new,
    TicketStatus.open,
    TicketStatus.pending_customer,
)


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Actor:
    """Who is acting: a customer or an agent."""

    kind: str  # "customer" | "agent"
    id: int
    name: str


def customer_actor(c: models.Customer) -> Actor:
    return Actor("customer", c.id, c.name or c.external_id)


def agent_actor(a: models.Agent) -> Actor:
    return Actor("agent", a.id, a.name)


def sla_minutes(db: DbSession, tier: str, priority: str) -> tuple[int, int]:
    row = db.scalar(
        select(models.SlaPolicy).where(
            models.SlaPolicy.tier == tier, models.SlaPolicy.priority == priority
        )
    )
    if row is not None:
        return row.first_response_minutes, row.resolution_minutes
    return DEFAULT_SLA.get(tier, DEFAULT_SLA["normal"])[priority]


def is_breached(t: models.Ticket, at: datetime | None = None) -> bool:
    at = at or now()
    if t.first_response_due is not None:
        answered = t.first_responded_at
        if (answered or at) > t.first_response_due:
            return True
    if t.resolution_due is not None:
        done = t.resolved_at if t.status in (TicketStatus.resolved, TicketStatus.closed) else None
        if (done or at) > t.resolution_due:
            return True
    return False


def breached_clause(at: datetime) -> ColumnElement[bool]:
    """SQL for :func:`is_breached`. Every branch tests for NULL first, so the
    whole is TRUE or FALSE, never NULL, and its negation is right too."""
    T = models.Ticket
    has_first_due = T.first_response_due.is_not(None)
    has_resolution_due = T.resolution_due.is_not(None)
    return or_(
        and_(has_first_due, T.first_responded_at.is_(None), T.first_response_due < at),
        and_(
            has_first_due,
            T.first_responded_at.is_not(None),
            T.first_responded_at > T.first_response_due,
        ),
        and_(has_resolution_due, T.resolved_at.is_(None), T.resolution_due < at),
        and_(has_resolution_due, T.resolved_at.is_not(None), T.resolved_at > T.resolution_due),
    )


def visible_tickets(customer: models.Customer, *, company_scope: bool) -> Select[models.Ticket]:
    stmt = select(models.Ticket)
    if company_scope and customer.company:
        same_company = select(models.Customer.id).where(models.Customer.company == customer.company)
        return stmt.where(models.Ticket.requester_id.in_(same_company))
    return stmt.where(models.Ticket.requester_id == customer.id)


def get_for_customer(
    db: DbSession, customer: models.Customer, ticket_id: int, *, company_scope: bool
) -> models.Ticket:
    ticket = db.scalar(
        visible_tickets(customer, company_scope=company_scope).where(models.Ticket.id == ticket_id)
    )
    if ticket is None:
        # 404, not 403: whether another customer's ticket exists is not told.
        raise ApiProblem(404, ErrorCode.not_found, f"no ticket {ticket_id}")
    return ticket


def get_for_agent(db: DbSession, ticket_id: int) -> models.Ticket:
    ticket = db.get(models.Ticket, ticket_id)
    if ticket is None:
        raise ApiProblem(404, ErrorCode.not_found, f"no ticket {ticket_id}")
    return ticket


def add_event(
    db: DbSession,
    ticket: models.Ticket,
    actor: Actor | None,
    kind: str,
    *,
    body: str = "",
    internal: bool = False,
    status_from: str | None = None,
    status_to: str | None = None,
    client_key: str | None = None,
) -> models.TicketEvent:
    event = models.TicketEvent(
        ticket_id=ticket.id,
        kind=kind,
        author_type=actor.kind if actor else "system",
        author_id=actor.id if actor else None,
        author_name=actor.name if actor else "HelpBridge",
        body=body,
        internal=internal,
        status_from=status_from,
        status_to=status_to,
        client_key=client_key,
        created_at=now(),
    )
    db.add(event)
    ticket.updated_at = event.created_at
    db.flush()
    # Webhook deliveries commit (or roll back) with the change itself.
    webhooks.ticket_event(db, ticket, event)
    return event


def link_attachments(
    db: DbSession,
    ticket: models.Ticket,
    event: models.TicketEvent | None,
    actor: Actor,
    attachment_ids: list[int],
    max_ticket_bytes: int,
) -> list[models.Attachment]:
    if not attachment_ids:
        return []
    rows = db.scalars(
        select(models.Attachment).where(models.Attachment.id.in_(attachment_ids))
    ).all()
    found = {a.id: a for a in rows}
    for aid in attachment_ids:
        a = found.get(aid)
        if a is None or a.owner_type != actor.kind or a.owner_id != actor.id:
            raise ApiProblem(422, ErrorCode.invalid_request, f"attachment {aid} is not yours")
        if a.ticket_id is not None and a.ticket_id != ticket.id:
            raise ApiProblem(422, ErrorCode.invalid_request, f"attachment {aid} belongs elsewhere")
    already = (
        db.scalar(
            select(func.coalesce(func.sum(models.Attachment.size), 0)).where(
                models.Attachment.ticket_id == ticket.id,
                models.Attachment.id.not_in(attachment_ids),
            )
        )
        or 0
    )
    total = already + sum(found[a].size for a in attachment_ids)
    if total > max_ticket_bytes:
        raise ApiProblem(
            413,
            ErrorCode.too_large,
            f"a ticket's attachments may total at most {max_ticket_bytes // (1024 * 1024)} MB",
        )
    for a in rows:
        a.ticket_id = ticket.id
        a.event_id = event.id if event else None
    return list(rows)


@dataclass(frozen=True)
class Created:
    ticket: models.Ticket
    created: bool
    """False when the client key was seen before: nothing new was stored."""
    events: list[models.TicketEvent]
    attachments: list[models.Attachment]


def create_ticket(
    db: DbSession, customer: models.Customer, body: wire.TicketCreate, max_ticket_bytes: int
) -> Created:
    existing = db.scalar(
        select(models.Ticket).where(
            models.Ticket.requester_id == customer.id,
            models.Ticket.client_key == body.client_key,
        )
    )
    if existing is not None:
        return Created(existing, False, [], [])
    priority = priority_for(body.urgency, body.impact)
    first, resolve = sla_minutes(db, customer.tier, priority.value)
    created = now()
    ticket = models.Ticket(
        client_key=body.client_key,
        requester_id=customer.id,
        subject=body.subject.strip(),
        body=body.body,
        category=body.category,
        urgency=body.urgency.value,
        impact=body.impact.value,
        priority=priority.value,
        status=TicketStatus.new.value,
        context=dict(body.context),
        created_at=created,
        updated_at=created,
        first_response_due=created + timedelta(minutes=first),
        resolution_due=created + timedelta(minutes=resolve),
        customer_seen_at=created,
    )
    db.add(ticket)
    db.flush()
    actor = customer_actor(customer)
    event = add_event(db, ticket, actor, "created", body=body.body)
    atts = link_attachments(db, ticket, event, actor, body.attachment_ids, max_ticket_bytes)
    return Created(ticket, True, [event], atts)


# --- intake: a new ticket in a few plain statements -----------------------------------
#
# Opening tickets is what customers do most, all at once after an outage. The
# ORM path above (two flushes, the unit of work, reads of what it just wrote)
# costs several milliseconds of CPU a ticket; :func:`intake` writes the same
# rows with prepared Core statements: the ticket with its report columns,
# its first timeline entry, the attachments' links, webhook deliveries, and
# the report rollups (added up over a whole batch, applied once by
# :func:`flush_intake` before the commit). Every refusal is raised before
# anything is written, so a refused ticket can share a transaction with
# others (``server.group_commit``).

_C = models.Customer
_SEEN = select(models.Ticket.id).where(
    models.Ticket.requester_id == bindparam("requester_id"),
    models.Ticket.client_key == bindparam("client_key"),
)
_REQUESTER = select(
    _C.id,
    _C.external_id,
    _C.name,
    _C.email,
    _C.phone,
    _C.company,
    _C.tier,
    _C.product,
    _C.product_version,
).where(_C.id == bindparam("customer_id"))
_SLA = select(models.SlaPolicy.first_response_minutes, models.SlaPolicy.resolution_minutes).where(
    models.SlaPolicy.tier == bindparam("tier"), models.SlaPolicy.priority == bindparam("priority")
)
_ACTIVE_HOOKS = (
    select(func.count())
    .select_from(models.WebhookSubscription)
    .where(models.WebhookSubscription.active.is_(True))
)
_INSERT_TICKET = insert(models.Ticket)
_INSERT_EVENT = insert(models.TicketEvent)
_LINK = (
    update(models.Attachment)
    .where(models.Attachment.id == bindparam("attachment_id"))
    .values(ticket_id=bindparam("new_ticket_id"), event_id=bindparam("new_event_id"))
)
_INTAKE_ROLLUPS = "intake_rollups"
_INTAKE_HOOKS = "intake_has_webhooks"


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _context_text(context: dict[str, str], key: str) -> str:
    value = context.get(key)
    return value.strip() if isinstance(value, str) else ""


def _intake_attachments(
    db: DbSession, customer_id: int, attachment_ids: list[int], max_ticket_bytes: int
) -> list[models.Attachment]:
    """The checks of :func:`link_attachments` for a ticket not yet written."""
    if not attachment_ids:
        return []
    rows = db.scalars(
        select(models.Attachment)
        .where(models.Attachment.id.in_(attachment_ids))
        .order_by(models.Attachment.id)
    ).all()
    found = {a.id: a for a in rows}
    for aid in attachment_ids:
        a = found.get(aid)
        if a is None or a.owner_type != "customer" or a.owner_id != customer_id:
            raise ApiProblem(422, ErrorCode.invalid_request, f"attachment {aid} is not yours")
        if a.ticket_id is not None:
            raise ApiProblem(422, ErrorCode.invalid_request, f"attachment {aid} belongs elsewhere")
    if sum(found[a].size for a in attachment_ids) > max_ticket_bytes:
        raise ApiProblem(
            413,
            ErrorCode.too_large,
            f"a ticket's attachments may total at most {max_ticket_bytes // (1024 * 1024)} MB",
        )
    return list(rows)


def _attachment_info(a: models.Attachment) -> wire.AttachmentInfo:
    return wire.AttachmentInfo(
        id=a.id,
        filename=a.filename,
        size=a.size,
        content_type=a.content_type,
        sha256=a.sha256,
        created_at=a.created_at,
    )


def intake(
    db: DbSession, customer_id: int, body: wire.TicketCreate, max_ticket_bytes: int
) -> wire.Ticket | None:
    """Open a ticket for the customer and return it as the customer sees it;
    None when the client key was seen before (nothing is written: the caller
    answers with the stored ticket). Same rows, rules and hooks as
    :func:`create_ticket`; call :func:`flush_intake` before committing."""
    conn = db.connection()
    if conn.execute(_SEEN, {"requester_id": customer_id, "client_key": body.client_key}).first():
        return None
    who = conn.execute(_REQUESTER, {"customer_id": customer_id}).one()
    priority = priority_for(body.urgency, body.impact)
    sla = conn.execute(_SLA, {"tier": who.tier, "priority": priority.value}).first()
    first, resolve = (
        (sla[0], sla[1])
        if sla is not None
        else DEFAULT_SLA.get(who.tier, DEFAULT_SLA["normal"])[priority.value]
    )
    atts = _intake_attachments(db, customer_id, body.attachment_ids, max_ticket_bytes)
    # Nothing refused past this point.
    created = now()
    context = dict(body.context)
    # The report columns, as server.reports derives them at flush time.
    product = _context_text(context, "product") or who.product or ""
    version = _context_text(context, "version") or who.product_version or ""
    values = {
        "client_key": body.client_key,
        "requester_id": customer_id,
        "assignee_id": None,
        "subject": body.subject.strip(),
        "body": body.body,
        "category": body.category or "",
        "urgency": body.urgency.value,
        "impact": body.impact.value,
        "priority": priority.value,
        "status": TicketStatus.new.value,
        "context": context,
        "created_at": created,
        "updated_at": created,
        "first_response_due": created + timedelta(minutes=first),
        "resolution_due": created + timedelta(minutes=resolve),
        "customer_seen_at": created,
        "product": product[:100],
        "module": _context_text(context, "module")[:100],
        "version": version[:50],
        "first_response_s": None,
        "resolution_s": None,
        "reopened": False,
    }
    ticket_id = _new_id(conn.execute(_INSERT_TICKET, values))
    author = who.name or who.external_id
    event_values = {
        "ticket_id": ticket_id,
        "kind": "created",
        "author_type": "customer",
        "author_id": customer_id,
        "author_name": author,
        "body": body.body,
        "internal": False,
        "status_from": None,
        "status_to": None,
        "client_key": None,
        "created_at": created,
    }
    event_id = _new_id(conn.execute(_INSERT_EVENT, event_values))
    if atts:
        conn.execute(
            _LINK,
            [
                {"attachment_id": a.id, "new_ticket_id": ticket_id, "new_event_id": event_id}
                for a in atts
            ],
        )
    ticket = models.Ticket(id=ticket_id, **values)  # transient: never added to the session
    pending = db.info.get(_INTAKE_ROLLUPS)
    if pending is None:
        pending = db.info[_INTAKE_ROLLUPS] = _reports.Pending()
    _reports.tally_ticket(pending, ticket, 1, created)
    hooks = db.info.get(_INTAKE_HOOKS)
    if hooks is None:
        hooks = db.info[_INTAKE_HOOKS] = bool(conn.execute(_ACTIVE_HOOKS).scalar())
    if hooks:
        webhooks.ticket_event(db, ticket, models.TicketEvent(id=event_id, **event_values))
    infos = [_attachment_info(a) for a in atts]
    return wire.Ticket(
        id=ticket_id,
        number=models.ticket_number(ticket_id),
        subject=values["subject"],
        body=body.body,
        category=body.category,
        urgency=body.urgency,
        impact=body.impact,
        priority=priority,
        status=TicketStatus.new,
        context=context,
        requester=CustomerOut(
            id=who.id,
            external_id=who.external_id,
            name=who.name,
            email=who.email,
            phone=who.phone,
            company=who.company,
            tier=who.tier,
            product=who.product,
            product_version=who.product_version,
        ),
        created_at=created,
        updated_at=created,
        first_response_due=values["first_response_due"],
        resolution_due=values["resolution_due"],
        sla_breached=is_breached(ticket),
        attachments=infos,
        events=[
            wire.TicketEvent(
                id=event_id,
                kind="created",
                author_type="customer",
                author_name=author,
                body=body.body,
                attachments=infos,
                created_at=created,
            )
        ],
    )


def flush_intake(db: DbSession) -> None:
    """Add what the tickets :func:`intake` wrote in this transaction to the
    report rollups (what ``server.reports``' flush hooks do for the ORM)."""
    pending = db.info.pop(_INTAKE_ROLLUPS, None)
    db.info.pop(_INTAKE_HOOKS, None)
    if pending is None:
        return
    _reports.apply_pending(db.connection(), pending, now())


def find_comment(
    db: DbSession, ticket: models.Ticket, client_key: str
) -> models.TicketEvent | None:
    return db.scalar(
        select(models.TicketEvent).where(
            models.TicketEvent.ticket_id == ticket.id,
            models.TicketEvent.client_key == client_key,
        )
    )


def set_status(
    db: DbSession, ticket: models.Ticket, actor: Actor | None, status: TicketStatus, note: str = ""
) -> models.TicketEvent | None:
    old = TicketStatus(ticket.status)
    if old == status:
        return None
    if old == TicketStatus.closed:
        raise ApiProblem(409, ErrorCode.conflict, "the ticket is closed; open a new one")
    at = now()
    if status == TicketStatus.resolved:
        ticket.resolved_at = at
    elif status == TicketStatus.closed:
        ticket.closed_at = at
        ticket.resolved_at = ticket.resolved_at or at
    elif old in (TicketStatus.resolved,):
        ticket.resolved_at = None
    ticket.status = status.value
    return add_event(
        db, ticket, actor, "status", body=note, status_from=old.value, status_to=status.value
    )


def customer_comment(
    db: DbSession,
    ticket: models.Ticket,
    customer: models.Customer,
    body: wire.CommentCreate,
    max_ticket_bytes: int,
) -> tuple[models.TicketEvent, bool]:
    if body.internal:
        raise ApiProblem(403, ErrorCode.forbidden, "customers cannot write internal notes")
    seen = find_comment(db, ticket, body.client_key)
    if seen is not None:
        return seen, False
    if ticket.status == TicketStatus.closed:
        raise ApiProblem(409, ErrorCode.conflict, "the ticket is closed; open a new one")
    if not body.body.strip() and not body.attachment_ids:
        raise ApiProblem(422, ErrorCode.invalid_request, "a reply needs text or a file")
    actor = customer_actor(customer)
    event = add_event(db, ticket, actor, "comment", body=body.body, client_key=body.client_key)
    link_attachments(db, ticket, event, actor, body.attachment_ids, max_ticket_bytes)
    if ticket.status in (TicketStatus.pending_customer, TicketStatus.resolved):
        set_status(db, ticket, None, TicketStatus.open)
    ticket.customer_seen_at = event.created_at
    return event, True


def agent_comment(
    db: DbSession,
    ticket: models.Ticket,
    agent: models.Agent,
    body: wire.CommentCreate,
    max_ticket_bytes: int,
) -> tuple[models.TicketEvent, bool]:
    seen = find_comment(db, ticket, body.client_key)
    if seen is not None:
        return seen, False
    if ticket.status == TicketStatus.closed:
        raise ApiProblem(409, ErrorCode.conflict, "the ticket is closed")
    if not body.body.strip() and not body.attachment_ids:
        raise ApiProblem(422, ErrorCode.invalid_request, "a reply needs text or a file")
    actor = agent_actor(agent)
    kind = "note" if body.internal else "comment"
    event = add_event(
        db, ticket, actor, kind, body=body.body, internal=body.internal, client_key=body.client_key
    )
    link_attachments(db, ticket, event, actor, body.attachment_ids, max_ticket_bytes)
    if not body.internal:
        if ticket.first_responded_at is None:
            ticket.first_responded_at = event.created_at
        if ticket.status == TicketStatus.new:
            set_status(db, ticket, actor, TicketStatus.open)
        if ticket.assignee_id is None:
            ticket.assignee_id = agent.id
    return event, True


def rate(
    db: DbSession, ticket: models.Ticket, customer: models.Customer, body: wire.CsatIn
) -> None:
    if ticket.status not in (TicketStatus.resolved, TicketStatus.closed):
        raise ApiProblem(409, ErrorCode.conflict, "rate a ticket once it is resolved")
    ticket.csat_rating = body.rating
    ticket.csat_comment = body.comment
    ticket.csat_at = now()
    add_event(db, ticket, customer_actor(customer), "csat", body=body.comment)


def _handles_tickets() -> ColumnElement[bool]:
    """Agents holding ``tickets.handle``: their role's default unless a grant
    says otherwise (administrators always)."""
    A, G = models.Agent, models.AgentGrant
    grant = select(G.allowed).where(G.agent_id == A.id, G.permission == "tickets.handle")
    by_default = [r.value for r in Role if "tickets.handle" in ROLE_DEFAULTS[r]]
    return or_(
        A.role == Role.admin.value,
        and_(A.role.in_(by_default), ~grant.where(G.allowed.is_(False)).exists()),
        grant.where(G.allowed.is_(True)).exists(),
    )


def least_loaded_agent(db: DbSession) -> models.Agent | None:
    """The active agent holding ``tickets.handle`` with the fewest open tickets."""
    load = (
        select(models.Ticket.assignee_id, func.count().label("n"))
        .where(models.Ticket.status.in_([s.value for s in OPEN_STATES]))
        .group_by(models.Ticket.assignee_id)
        .subquery()
    )
    return db.scalar(
        select(models.Agent)
        .outerjoin(load, load.c.assignee_id == models.Agent.id)
        .where(models.Agent.active.is_(True), _handles_tickets())
        .order_by(func.coalesce(load.c.n, 0), models.Agent.id)
        .limit(1)
    )


def assign(
    db: DbSession, ticket: models.Ticket, by: models.Agent, body: wire.AssignRequest
) -> None:
    if body.auto:
        target = least_loaded_agent(db)
        if target is None:
            raise ApiProblem(409, ErrorCode.conflict, "no active agent to assign to")
    elif body.agent_id is None:
        target = None
    else:
        target = db.get(models.Agent, body.agent_id)
        if target is None or not target.active:
            raise ApiProblem(422, ErrorCode.invalid_request, f"no active agent {body.agent_id}")
    if ticket.assignee_id == (target.id if target else None):
        return
    ticket.assignee_id = target.id if target else None
    add_event(
        db, ticket, agent_actor(by), "assigned", body=target.name if target else "", internal=True
    )


# Whatever process writes tickets keeps the report rollups current: the flush
# hooks live in server.reports (imported last, as it imports this module).
from server import reports as _reports  # noqa: E402
