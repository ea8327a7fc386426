"""Live chat: the realtime websocket and the REST routes for history and panels.

The websocket (``/api/v1/realtime``) is served by :class:`server.chat.hub.Hub`;
the routes here read conversations, page back through messages, download a
chat's files and fill the agent console's customer panel.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request, WebSocket
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from sqlalchemy import or_, select

from protocol import realtime as rt
from protocol.models import ErrorBody, ErrorCode, Role
from server import audit, models, permissions
from server.api.auth import customer_out
from server.api.tickets import summary_out
from server.auth import AnyPrincipal, Db, Principal
from server.blobs import SAFE_INLINE, BlobStore
from server.chat import store
from server.chat.hub import Hub
from server.errors import ApiProblem
from server.permissions import Permission, Staff

router = APIRouter(tags=["chat"])

_ERRORS: dict[int | str, dict[str, Any]] = {403: {"model": ErrorBody}, 404: {"model": ErrorBody}}
_STATUS = {
    ErrorCode.not_found: 404,
    ErrorCode.forbidden: 403,
    ErrorCode.conflict: 409,
    ErrorCode.too_large: 413,
}

ListFilter = Literal["waiting", "mine", "all"]


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.chat
    return hub


def _who(principal: Principal) -> store.Who:
    if principal.customer is not None:
        c = principal.customer
        return store.Who("customer", c.id, c.name or c.external_id)
    assert principal.agent is not None and principal.access is not None
    a = principal.agent
    return store.Who("agent", a.id, a.name, Role(a.role), principal.access.reads_others_chats)


def _require_records(request: Request, principal: Principal) -> None:
    """Every agent's conversations are chat records: ``chats.read.records``
    (a refusal is audited like the route checks' refusals)."""
    try:
        permissions.require(principal, "chats.read.records")
    except ApiProblem as exc:
        a = principal.agent
        if exc.status == 403 and a is not None:
            audit.record_now(
                request.app.state.db,
                "permission.denied",
                actor_type="agent",
                actor_id=a.id,
                actor_name=a.email,
                target=f"{request.method} {request.url.path}?filter=all",
                outcome="denied",
                source=audit.source_of(request),
                needs="chats.read.records",
            )
        raise


def _problem(exc: store.Refused) -> ApiProblem:
    return ApiProblem(_STATUS.get(exc.code, 422), exc.code, exc.message)


@router.websocket("/realtime")
async def realtime(websocket: WebSocket) -> None:
    """Chat events both ways; see ``protocol.realtime``. The first frame is
    ``hello`` with the access token."""
    hub: Hub = websocket.app.state.chat
    await hub.serve(websocket)


@router.get("/conversations", response_model=rt.ConversationList)
def list_conversations(
    request: Request,
    principal: AnyPrincipal,
    db: Db,
    filter: Annotated[ListFilter | None, Query()] = None,
    status: Annotated[list[rt.ConversationStatus] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> rt.ConversationList:
    """Customers: their conversations, newest first. Agents: ``waiting``
    (the queue, longest waiting first), ``mine`` (default: assigned to me)
    or ``all`` (needs ``chats.read.records``)."""
    who = _who(principal)
    C = models.Conversation
    stmt = select(C)
    order: Any = (C.updated_at.desc(), C.id.desc())
    if who.kind == "customer":
        stmt = stmt.where(C.customer_id == who.id)
    elif filter == "waiting":
        stmt = stmt.where(C.status == rt.ConversationStatus.queued.value)
        order = (C.queued_at, C.id)
    elif filter == "all":
        _require_records(request, principal)
    elif filter in (None, "mine"):
        stmt = stmt.where(C.assignee_id == who.id, C.status == rt.ConversationStatus.assigned.value)
    if status:
        stmt = stmt.where(C.status.in_([s.value for s in status]))
    convs = db.scalars(stmt.order_by(*order).limit(limit)).all()
    return rt.ConversationList(conversations=store.summaries(db, convs, who))


@router.get(
    "/conversations/{conversation_id}", response_model=rt.ConversationSummary, responses=_ERRORS
)
def get_conversation(
    conversation_id: int, principal: AnyPrincipal, db: Db
) -> rt.ConversationSummary:
    who = _who(principal)
    try:
        conv = store.conversation_for(db, who, conversation_id)
    except store.Refused as exc:
        raise _problem(exc) from exc
    return store.summaries(db, [conv], who)[0]


@router.get(
    "/conversations/{conversation_id}/messages",
    response_model=rt.MessagePage,
    responses=_ERRORS,
)
def conversation_messages(
    conversation_id: int,
    principal: AnyPrincipal,
    db: Db,
    before_seq: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> rt.MessagePage:
    """Messages oldest first, up to ``limit`` before ``before_seq`` (default:
    the newest). Customers never get internal notes."""
    try:
        return store.message_page(db, _who(principal), conversation_id, before_seq, limit)
    except store.Refused as exc:
        raise _problem(exc) from exc


@router.get(
    "/conversations/{conversation_id}/attachments/{attachment_id}",
    response_class=FileResponse,
    responses=_ERRORS,
)
def conversation_attachment(
    conversation_id: int,
    attachment_id: Annotated[int, Path()],
    request: Request,
    principal: AnyPrincipal,
    db: Db,
) -> FileResponse:
    """A file sent in the conversation, for anybody who may read the message."""
    try:
        a = store.attachment_for(db, _who(principal), conversation_id, attachment_id)
    except store.Refused as exc:
        raise _problem(exc) from exc
    blobs: BlobStore = request.app.state.blobs
    path = blobs.path(a.sha256)
    if not path.is_file():
        raise ApiProblem(404, ErrorCode.not_found, "the file is missing from storage")
    media = a.content_type if a.content_type in SAFE_INLINE else "application/octet-stream"
    return FileResponse(
        path,
        media_type=media,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(a.filename)}"},
    )


@router.get("/agent/customers/{customer_id}", response_model=rt.CustomerPanel, responses=_ERRORS)
def customer_panel(
    customer_id: int, staff: Annotated[Staff, Permission("customers.read")], db: Db
) -> rt.CustomerPanel:
    """Who the customer is (from the host's identity token), their latest
    tickets and conversations (``customers.read``)."""
    agent = staff.agent
    customer = db.get(models.Customer, customer_id)
    if customer is None:
        raise ApiProblem(404, ErrorCode.not_found, f"no customer {customer_id}")
    tickets = db.scalars(
        select(models.Ticket)
        .where(models.Ticket.requester_id == customer_id, permissions.ticket_clause(staff.access))
        .order_by(models.Ticket.updated_at.desc(), models.Ticket.id.desc())
        .limit(20)
    ).all()
    C = models.Conversation
    others = staff.access.reads_others_chats
    who = store.Who("agent", agent.id, agent.name, Role(agent.role), others)
    stmt = select(C).where(C.customer_id == customer_id)
    if not who.others:
        stmt = stmt.where(or_(C.assignee_id.is_(None), C.assignee_id == agent.id))
    convs = db.scalars(stmt.order_by(C.updated_at.desc(), C.id.desc()).limit(20)).all()
    return rt.CustomerPanel(
        customer=customer_out(customer),
        tickets=[summary_out(db, t, for_customer=False) for t in tickets],
        conversations=store.summaries(db, convs, who),
    )


@router.get("/agent/presence", response_model=rt.PresenceList)
async def presence(
    request: Request, staff: Annotated[Staff, Permission("chats.take")]
) -> rt.PresenceList:
    """Every active agent's chat status, load and capacity (for supervisors'
    boards and the transfer picker). Others' chat presence is for those who
    take chats themselves: ``chats.take``."""
    hub = _hub(request)

    def loads() -> dict[int, int]:
        with hub.db.session(serialize=False) as s:
            return store.agent_loads(s)

    # The hub's state belongs to the event loop: read it here, not in a thread.
    return rt.PresenceList(agents=hub.presence_list(await run_in_threadpool(loads)))
