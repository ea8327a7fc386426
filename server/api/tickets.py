"""Tickets for customers, the agents' ticket queue, and attachments."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from protocol import tickets as wire
from protocol.models import ErrorBody, ErrorCode
from protocol.tickets import CLIENT_KEY, Priority, TicketStatus
from server import audit, models, permissions, tickets
from server.api.auth import agent_out, customer_out
from server.auth import AnyPrincipal, CurrentCustomer, Db
from server.blobs import SAFE_INLINE, BlobStore, EmptyFile, TooLarge, safe_filename
from server.config import Settings
from server.db import Database
from server.errors import ApiProblem
from server.group_commit import GroupCommitWriter
from server.permissions import AnyStaff, Permission, Staff

router = APIRouter(tags=["tickets"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
    413: {"model": ErrorBody},
}


def _database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# --- rendering ---------------------------------------------------------------


def attachment_out(a: models.Attachment) -> wire.AttachmentInfo:
    return wire.AttachmentInfo(
        id=a.id,
        filename=a.filename,
        size=a.size,
        content_type=a.content_type,
        sha256=a.sha256,
        created_at=a.created_at,
    )


def summary_out(db: DbSession, t: models.Ticket, *, for_customer: bool) -> wire.TicketSummary:
    requester = db.get(models.Customer, t.requester_id)
    assignee = db.get(models.Agent, t.assignee_id) if t.assignee_id else None
    unread = False
    if for_customer:
        last_public = db.scalar(
            select(func.max(models.TicketEvent.created_at)).where(
                models.TicketEvent.ticket_id == t.id,
                models.TicketEvent.internal.is_(False),
                models.TicketEvent.author_type != "customer",
            )
        )
        unread = last_public is not None and (
            t.customer_seen_at is None or last_public > t.customer_seen_at
        )
    return wire.TicketSummary(
        id=t.id,
        number=models.ticket_number(t.id),
        subject=t.subject,
        category=t.category,
        priority=wire.Priority(t.priority),
        status=TicketStatus(t.status),
        requester_name=(requester.name or requester.external_id) if requester else None,
        assignee_name=assignee.name if assignee else None,
        created_at=t.created_at,
        updated_at=t.updated_at,
        first_response_due=t.first_response_due,
        resolution_due=t.resolution_due,
        sla_breached=tickets.is_breached(t),
        unread=unread,
    )


def ticket_out(
    db: DbSession,
    t: models.Ticket,
    *,
    for_customer: bool,
    fresh: tickets.Created | None = None,
) -> wire.Ticket:
    """The whole ticket with its timeline; ``fresh`` (a ticket this request
    just created) saves reading back what is already in hand."""
    if fresh is not None:
        events: Sequence[models.TicketEvent] = fresh.events
        atts: Sequence[models.Attachment] = fresh.attachments
    else:
        events_q = select(models.TicketEvent).where(models.TicketEvent.ticket_id == t.id)
        if for_customer:
            events_q = events_q.where(models.TicketEvent.internal.is_(False))
        events = db.scalars(
            events_q.order_by(models.TicketEvent.created_at, models.TicketEvent.id)
        ).all()
        atts = db.scalars(
            select(models.Attachment)
            .where(models.Attachment.ticket_id == t.id)
            .order_by(models.Attachment.id)
        ).all()
    visible_events = {e.id for e in events}
    atts = [a for a in atts if a.event_id is None or a.event_id in visible_events]
    by_event: dict[int, list[wire.AttachmentInfo]] = {}
    for a in atts:
        if a.event_id is not None:
            by_event.setdefault(a.event_id, []).append(attachment_out(a))
    requester = db.get(models.Customer, t.requester_id)
    assert requester is not None
    assignee = db.get(models.Agent, t.assignee_id) if t.assignee_id else None
    csat = None
    if t.csat_rating is not None and t.csat_at is not None:
        csat = wire.Csat(rating=t.csat_rating, comment=t.csat_comment or "", created_at=t.csat_at)
    return wire.Ticket(
        id=t.id,
        number=models.ticket_number(t.id),
        subject=t.subject,
        body=t.body,
        category=t.category,
        urgency=wire.Level(t.urgency),
        impact=wire.Level(t.impact),
        priority=wire.Priority(t.priority),
        status=TicketStatus(t.status),
        context=dict(t.context or {}),
        requester=customer_out(requester),
        assignee=agent_out(assignee) if assignee else None,
        created_at=t.created_at,
        updated_at=t.updated_at,
        first_responded_at=t.first_responded_at,
        first_response_due=t.first_response_due,
        resolution_due=t.resolution_due,
        resolved_at=t.resolved_at,
        sla_breached=tickets.is_breached(t),
        csat=csat,
        attachments=[attachment_out(a) for a in atts],
        events=[
            wire.TicketEvent(
                id=e.id,
                kind=e.kind,
                author_type=e.author_type,
                author_name=e.author_name,
                body=e.body,
                status_from=TicketStatus(e.status_from) if e.status_from else None,
                status_to=TicketStatus(e.status_to) if e.status_to else None,
                attachments=by_event.get(e.id, []),
                created_at=e.created_at,
            )
            for e in events
        ],
    )


# --- attachments ----------------------------------------------------------------


async def _body_chunks(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        if chunk:
            yield chunk


@router.put("/attachments/{client_key}", response_model=wire.AttachmentInfo, responses=_ERRORS)
async def upload_attachment(
    request: Request,
    principal: AnyPrincipal,
    client_key: Annotated[str, Path(pattern=CLIENT_KEY)],
    filename: Annotated[str, Query(min_length=1, max_length=1000)],
) -> wire.AttachmentInfo:
    """Upload one file as the raw request body. Idempotent: the same
    ``client_key`` again returns the stored attachment."""
    settings = _settings(request)
    owner_type = "customer" if principal.customer else "agent"
    owner_id = principal.session.subject_id
    db_ = _database(request)

    def lookup() -> models.Attachment | None:
        with db_.session() as s:
            return _owned_attachment(s, owner_type, owner_id, client_key)

    found = await run_in_threadpool(lookup)
    if found is not None:
        return attachment_out(found)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.max_file_bytes:
        raise ApiProblem(413, ErrorCode.too_large, _too_large(settings.max_file_bytes))
    store: BlobStore = request.app.state.blobs
    try:
        blob = await store.store_stream(_body_chunks(request), settings.max_file_bytes)
    except TooLarge as exc:
        raise ApiProblem(413, ErrorCode.too_large, _too_large(exc.limit)) from exc
    except EmptyFile as exc:
        raise ApiProblem(422, ErrorCode.invalid_request, "the file is empty") from exc

    def work(s: DbSession) -> wire.AttachmentInfo:
        found = _owned_attachment(s, owner_type, owner_id, client_key)
        if found is not None:  # a concurrent retry won the race
            return attachment_out(found)
        row = models.Attachment(
            owner_type=owner_type,
            owner_id=owner_id,
            client_key=client_key,
            filename=safe_filename(filename),
            size=blob.size,
            content_type=blob.content_type,
            sha256=blob.sha256,
        )
        s.add(row)
        s.flush()
        return attachment_out(row)

    result: wire.AttachmentInfo = await run_in_threadpool(db_.idempotent, work)
    return result


def _too_large(limit: int) -> str:
    return f"a file may be at most {limit // (1024 * 1024)} MB"


def _owned_attachment(
    s: DbSession, owner_type: str, owner_id: int, client_key: str
) -> models.Attachment | None:
    return s.scalar(
        select(models.Attachment).where(
            models.Attachment.owner_type == owner_type,
            models.Attachment.owner_id == owner_id,
            models.Attachment.client_key == client_key,
        )
    )


@router.get("/attachments/{attachment_id}", response_class=FileResponse, responses=_ERRORS)
def download_attachment(
    attachment_id: int, request: Request, principal: AnyPrincipal, db: Db
) -> FileResponse:
    a = db.get(models.Attachment, attachment_id)
    if a is None or not _may_read(db, a, principal, _settings(request)):
        raise ApiProblem(404, ErrorCode.not_found, f"no attachment {attachment_id}")
    store: BlobStore = request.app.state.blobs
    path = store.path(a.sha256)
    if not path.is_file():
        raise ApiProblem(404, ErrorCode.not_found, "the file is missing from storage")
    media = a.content_type if a.content_type in SAFE_INLINE else "application/octet-stream"
    return FileResponse(
        path,
        media_type=media,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(a.filename)}"},
    )


def _may_read(db: DbSession, a: models.Attachment, principal: Any, settings: Settings) -> bool:
    kind = "customer" if principal.customer else "agent"
    if a.owner_type == kind and a.owner_id == principal.session.subject_id:
        return True
    if a.ticket_id is None:
        return False
    if principal.agent is not None:
        return principal.access is not None and permissions.may_read_ticket(
            db, principal.access, a.ticket_id
        )
    try:
        tickets.get_for_customer(
            db, principal.customer, a.ticket_id, company_scope=settings.company_tickets_visible
        )
    except ApiProblem:
        return False
    if a.event_id is not None:
        event = db.get(models.TicketEvent, a.event_id)
        if event is not None and event.internal:
            return False
    return True


# --- customers --------------------------------------------------------------------


_writer_lock = threading.Lock()


def _ticket_writer(request: Request) -> GroupCommitWriter:
    state = request.app.state
    writer: GroupCommitWriter | None = getattr(state, "ticket_writer", None)
    if writer is None:
        with _writer_lock:
            writer = getattr(state, "ticket_writer", None)
            if writer is None:
                writer = GroupCommitWriter(
                    _database(request),
                    name="ticket-writer",
                    refusals=(ApiProblem,),
                    finish=tickets.flush_intake,
                    idle_seconds=30.0,
                )
                state.ticket_writer = writer
    return writer


@router.post("/tickets", response_model=wire.Ticket, status_code=201, responses=_ERRORS)
async def create_ticket(
    body: wire.TicketCreate, request: Request, customer: CurrentCustomer
) -> Response:
    """Open a ticket (201), or answer with the one this ``client_key`` already
    opened (200). Written by the ticket writer (``server.group_commit``),
    with others that arrive at the same time."""
    limit = _settings(request).max_ticket_bytes
    customer_id = customer.id

    def work(db: DbSession) -> tuple[wire.Ticket, bool]:
        fresh = tickets.intake(db, customer_id, body, limit)
        if fresh is not None:
            return fresh, True
        c = db.get(models.Customer, customer_id)
        assert c is not None
        made = tickets.create_ticket(db, c, body, limit)  # finds the stored ticket
        return ticket_out(db, made.ticket, for_customer=True), made.created

    out, created = await _ticket_writer(request).run(work)
    return Response(
        out.model_dump_json(), status_code=201 if created else 200, media_type="application/json"
    )


@router.get("/tickets", response_model=wire.TicketList)
def my_tickets(
    request: Request,
    customer: CurrentCustomer,
    db: Db,
    status: Annotated[list[TicketStatus] | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
    updated_since: datetime | None = None,
) -> wire.TicketList:
    stmt = tickets.visible_tickets(
        customer, company_scope=_settings(request).company_tickets_visible
    )
    if status:
        stmt = stmt.where(models.Ticket.status.in_([s.value for s in status]))
    if updated_since is not None:
        stmt = stmt.where(models.Ticket.updated_at > updated_since)
    return _page(db, stmt, page, per_page, for_customer=True)


def _page(
    db: DbSession, stmt: Any, page: int, per_page: int, *, for_customer: bool
) -> wire.TicketList:
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(
        stmt.order_by(models.Ticket.updated_at.desc(), models.Ticket.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return wire.TicketList(
        tickets=[summary_out(db, t, for_customer=for_customer) for t in rows],
        total=total,
        page=page,
        per_page=per_page,
    )


def _mine(
    request: Request, db: DbSession, customer: models.Customer, ticket_id: int
) -> models.Ticket:
    return tickets.get_for_customer(
        db, customer, ticket_id, company_scope=_settings(request).company_tickets_visible
    )


@router.get("/tickets/{ticket_id}", response_model=wire.Ticket, responses=_ERRORS)
def my_ticket(ticket_id: int, request: Request, customer: CurrentCustomer, db: Db) -> wire.Ticket:
    ticket = _mine(request, db, customer, ticket_id)
    if ticket.requester_id == customer.id:
        ticket.customer_seen_at = tickets.now()
    return ticket_out(db, ticket, for_customer=True)


@router.post(
    "/tickets/{ticket_id}/comments", response_model=wire.Ticket, status_code=201, responses=_ERRORS
)
def reply(
    ticket_id: int,
    body: wire.CommentCreate,
    request: Request,
    response: Response,
    customer: CurrentCustomer,
) -> wire.Ticket:
    limit = _settings(request).max_ticket_bytes

    def work(db: DbSession) -> tuple[wire.Ticket, bool]:
        c = db.get(models.Customer, customer.id)
        assert c is not None
        ticket = _mine(request, db, c, ticket_id)
        _, created = tickets.customer_comment(db, ticket, c, body, limit)
        return ticket_out(db, ticket, for_customer=True), created

    out, created = _database(request).idempotent(work)
    if not created:
        response.status_code = 200
    return out


@router.post("/tickets/{ticket_id}/resolve", response_model=wire.Ticket, responses=_ERRORS)
def resolve(ticket_id: int, request: Request, customer: CurrentCustomer, db: Db) -> wire.Ticket:
    ticket = _mine(request, db, customer, ticket_id)
    tickets.set_status(db, ticket, tickets.customer_actor(customer), TicketStatus.resolved)
    return ticket_out(db, ticket, for_customer=True)


@router.post("/tickets/{ticket_id}/reopen", response_model=wire.Ticket, responses=_ERRORS)
def reopen(ticket_id: int, request: Request, customer: CurrentCustomer, db: Db) -> wire.Ticket:
    ticket = _mine(request, db, customer, ticket_id)
    if ticket.status != TicketStatus.resolved:
        raise ApiProblem(409, ErrorCode.conflict, "only a resolved ticket can be reopened")
    tickets.set_status(db, ticket, tickets.customer_actor(customer), TicketStatus.open)
    return ticket_out(db, ticket, for_customer=True)


@router.post("/tickets/{ticket_id}/csat", response_model=wire.Ticket, responses=_ERRORS)
def rate(
    ticket_id: int, body: wire.CsatIn, request: Request, customer: CurrentCustomer, db: Db
) -> wire.Ticket:
    ticket = _mine(request, db, customer, ticket_id)
    tickets.rate(db, ticket, customer, body)
    return ticket_out(db, ticket, for_customer=True)


# --- agents -----------------------------------------------------------------------


Handler = Annotated[Staff, Permission("tickets.handle")]


@router.get("/agent/tickets", response_model=wire.TicketList)
def queue(
    staff: Handler,
    db: Db,
    status: Annotated[list[TicketStatus] | None, Query()] = None,
    priority: Annotated[list[Priority] | None, Query()] = None,
    assignee: Annotated[str | None, Query(pattern=r"^(me|none|\d+)$")] = None,
    breached: bool | None = None,
    requester_id: int | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 50,
) -> wire.TicketList:
    agent = staff.agent
    stmt = select(models.Ticket).where(permissions.ticket_clause(staff.access))
    if status:
        stmt = stmt.where(models.Ticket.status.in_([s.value for s in status]))
    if priority:
        stmt = stmt.where(models.Ticket.priority.in_([p.value for p in priority]))
    if assignee == "me":
        stmt = stmt.where(models.Ticket.assignee_id == agent.id)
    elif assignee == "none":
        stmt = stmt.where(models.Ticket.assignee_id.is_(None))
    elif assignee is not None:
        stmt = stmt.where(models.Ticket.assignee_id == int(assignee))
    if requester_id is not None:
        stmt = stmt.where(models.Ticket.requester_id == requester_id)
    if breached is not None:
        clause = tickets.breached_clause(tickets.now())
        stmt = stmt.where(clause if breached else ~clause)
    return _page(db, stmt, page, per_page, for_customer=False)


@router.get("/agent/tickets/{ticket_id}", response_model=wire.Ticket, responses=_ERRORS)
def agent_ticket(ticket_id: int, staff: Handler, db: Db) -> wire.Ticket:
    return ticket_out(
        db, permissions.require_ticket(db, staff.access, ticket_id), for_customer=False
    )


@router.post(
    "/agent/tickets/{ticket_id}/comments",
    response_model=wire.Ticket,
    status_code=201,
    responses=_ERRORS,
)
def agent_reply(
    ticket_id: int,
    body: wire.CommentCreate,
    request: Request,
    response: Response,
    staff: Handler,
) -> wire.Ticket:
    limit = _settings(request).max_ticket_bytes

    def work(db: DbSession) -> tuple[wire.Ticket, bool]:
        a = db.get(models.Agent, staff.agent.id)
        assert a is not None
        ticket = permissions.require_ticket(db, staff.access, ticket_id)
        _, created = tickets.agent_comment(db, ticket, a, body, limit)
        return ticket_out(db, ticket, for_customer=False), created

    out, created = _database(request).idempotent(work)
    if not created:
        response.status_code = 200
    return out


@router.post("/agent/tickets/{ticket_id}/status", response_model=wire.Ticket, responses=_ERRORS)
def agent_status(ticket_id: int, body: wire.StatusChange, staff: Handler, db: Db) -> wire.Ticket:
    ticket = permissions.require_ticket(db, staff.access, ticket_id)
    tickets.set_status(db, ticket, tickets.agent_actor(staff.agent), body.status, body.note)
    return ticket_out(db, ticket, for_customer=False)


@router.post("/agent/tickets/{ticket_id}/assign", response_model=wire.Ticket, responses=_ERRORS)
def agent_assign(ticket_id: int, body: wire.AssignRequest, staff: Handler, db: Db) -> wire.Ticket:
    ticket = permissions.require_ticket(db, staff.access, ticket_id)
    tickets.assign(db, ticket, staff.agent, body)
    return ticket_out(db, ticket, for_customer=False)


@router.get("/agent/sla", response_model=wire.SlaTable)
def get_sla(staff: AnyStaff, db: Db) -> wire.SlaTable:
    rules = []
    for tier, table in tickets.DEFAULT_SLA.items():
        for prio in table:
            first, resolve = tickets.sla_minutes(db, tier, prio)
            rules.append(
                wire.SlaRule(
                    tier=tier,
                    priority=wire.Priority(prio),
                    first_response_minutes=first,
                    resolution_minutes=resolve,
                )
            )
    return wire.SlaTable(rules=rules)


@router.put("/agent/sla", response_model=wire.SlaTable)
def put_sla(
    body: wire.SlaTable,
    request: Request,
    staff: Annotated[Staff, Permission("settings.change", audit_as="settings.sla")],
    db: Db,
) -> wire.SlaTable:
    agent = staff.agent
    audit.record(
        db,
        "settings.sla",
        actor_type="agent",
        actor_id=agent.id,
        actor_name=agent.email,
        source=audit.source_of(request),
        rules="; ".join(
            f"{r.tier}/{r.priority.value}={r.first_response_minutes}/{r.resolution_minutes}"
            for r in body.rules
        ),
    )
    for rule in body.rules:
        row = db.scalar(
            select(models.SlaPolicy).where(
                models.SlaPolicy.tier == rule.tier, models.SlaPolicy.priority == rule.priority.value
            )
        )
        if row is None:
            row = models.SlaPolicy(tier=rule.tier, priority=rule.priority.value)
            db.add(row)
        row.first_response_minutes = rule.first_response_minutes
        row.resolution_minutes = rule.resolution_minutes
    db.flush()
    return get_sla(staff, db)
