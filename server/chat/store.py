"""Chat storage: conversations, messages, receipts and presence.

Every function works inside the caller's transaction (a short
``Database.session()`` or ``idempotent()`` in a worker thread) and returns
plain data. Events to publish come back already encoded, each with its
audience (:class:`Out`), so JSON is made off the event loop and the hub only
routes strings. Nothing here awaits.

A message's ``seq`` is taken by ``UPDATE conversations SET last_seq =
last_seq + 1 ... RETURNING`` in the transaction that inserts it, which also
takes the write lock first; ``(conversation_id, seq)`` is unique, so two
writers can never share a number.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, cast

from sqlalchemy import Table, and_, bindparam, func, insert, not_, or_, select, update
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm.attributes import set_committed_value

from protocol import realtime as rt
from protocol import tickets as wire
from protocol.models import ErrorCode, Role
from server import models, tickets
from server.chat import bot
from server.chat.routing import queue_name

C = models.Conversation
M = models.ChatMessage
R = models.ChatRead

SYSTEM = rt.Party(kind=rt.SenderKind.system, name="HelpBridge")
BOT = rt.Party(kind=rt.SenderKind.bot, name="HelpBridge Assistant")

TRANSCRIPT_CHARS = 50_000
"""A ticket body's limit (``TicketCreate.body``)."""
RECENT_CLOSED = timedelta(days=1)
"""Customers' ``welcome`` also lists conversations closed this recently."""


class Refused(Exception):
    """An event the service refuses; the connection stays open."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Who:
    """A signed-in websocket or REST caller."""

    kind: Literal["customer", "agent"]
    id: int
    name: str
    role: Role | None = None
    others: bool = True
    """An agent who may read conversations other agents have
    (``permissions.Access.reads_others_chats``)."""

    @property
    def is_supervisor(self) -> bool:
        return self.role in (Role.supervisor, Role.admin)

    def party(self) -> rt.Party:
        return rt.Party(kind=rt.SenderKind(self.kind), id=self.id, name=self.name)


@dataclass(frozen=True)
class Target:
    """Who gets an event: one customer's or agent's connections, every agent
    (but ``exclude``), or supervisors."""

    kind: Literal["customer", "agent", "agents", "supervisors"]
    id: int = 0
    exclude: int | None = None


@dataclass(frozen=True)
class Out:
    """One encoded event for one audience. Message frames carry their
    conversation and ``seq`` so a connection replaying history can drop
    live copies of what it replayed."""

    to: Target
    frame: str
    conversation_id: int | None = None
    seq: int | None = None


@dataclass(frozen=True)
class Participants:
    customer_id: int
    assignee_id: int | None
    status: str


@dataclass(frozen=True)
class BotTurn:
    """The bot owes an answer to this customer message."""

    conversation_id: int
    seq: int
    text: str
    locale: str
    product: str


@dataclass(frozen=True)
class Sent:
    ack: rt.Ack
    outs: list[Out]
    created: bool
    """False: the client id was seen before; nothing new was stored."""
    participants: Participants | None = None
    bot_turn: BotTurn | None = None


@dataclass(frozen=True)
class Changed:
    """The result of a state change: events to publish, and whether the
    routing queue may have moved."""

    outs: list[Out]
    participants: Participants | None = None
    route: bool = False


def now() -> datetime:
    return datetime.now(UTC)


def new_client_id() -> str:
    return secrets.token_hex(16)


def participants(conv: AnyConv) -> Participants:
    return Participants(conv.customer_id, conv.assignee_id, conv.status)


# --- access ------------------------------------------------------------------------


def conversation_for(db: DbSession, who: Who, conversation_id: int) -> models.Conversation:
    """The conversation if ``who`` may see it: a customer only theirs; an
    agent their own, the unassigned ones and, with ``who.others``, every
    one. Others' are "not found": whether they exist is not told."""
    conv = db.get(C, conversation_id)
    if (
        conv is None
        or (who.kind == "customer" and conv.customer_id != who.id)
        or (who.kind == "agent" and not who.others and conv.assignee_id not in (None, who.id))
    ):
        raise Refused(ErrorCode.not_found, f"no conversation {conversation_id}")
    return conv


def _may_manage(who: Who, conv: models.Conversation) -> bool:
    """Closing, transferring, making a ticket: the assignee, a supervisor,
    or any agent while nobody has it."""
    return who.kind == "agent" and (
        conv.assignee_id == who.id or who.is_supervisor or conv.assignee_id is None
    )


# --- rendering -----------------------------------------------------------------------


def _attachments(db: DbSession, ids: Iterable[int]) -> dict[int, models.Attachment]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = db.scalars(select(models.Attachment).where(models.Attachment.id.in_(wanted))).all()
    return {a.id: a for a in rows}


def _attachment_info(a: models.Attachment) -> wire.AttachmentInfo:
    return wire.AttachmentInfo(
        id=a.id,
        filename=a.filename,
        size=a.size,
        content_type=a.content_type,
        sha256=a.sha256,
        created_at=a.created_at,
    )


def chat_message(
    row: AnyMessage, atts: dict[int, models.Attachment], *, for_customer: bool
) -> rt.ChatMessage:
    return rt.MessageEvent(
        conversation_id=row.conversation_id,
        seq=row.seq,
        prev_seq=row.prev_public_seq if for_customer else row.seq - 1,
        client_id=row.client_id,
        sender=rt.Party(
            kind=rt.SenderKind(row.sender_kind), id=row.sender_id, name=row.sender_name
        ),
        text=row.text,
        attachments=[_attachment_info(atts[i]) for i in row.attachment_ids if i in atts],
        articles=[rt.ArticleRef.model_validate(a) for a in row.articles],
        internal=row.internal,
        created_at=row.created_at,
    )


def message_outs(db: DbSession, conv: AnyConv, row: AnyMessage) -> list[Out]:
    atts = _attachments(db, row.attachment_ids)
    staff = rt.encode(chat_message(row, atts, for_customer=False))
    outs: list[Out] = []
    agents = {conv.assignee_id} if conv.assignee_id is not None else set()
    if row.sender_kind == "agent" and row.sender_id is not None:
        agents.add(row.sender_id)  # a supervisor's note reaches its writer's other windows
    for agent_id in sorted(agents):
        outs.append(Out(Target("agent", agent_id), staff, conv.id, row.seq))
    if not row.internal:
        frame = rt.encode(chat_message(row, atts, for_customer=True))
        outs.append(Out(Target("customer", conv.customer_id), frame, conv.id, row.seq))
    return outs


def unread_counts(db: DbSession, ids: Sequence[int], reader: Who) -> dict[int, int]:
    """Messages from others (people and the bot) after the reader's last
    ``read``, per conversation."""
    if not ids:
        return {}
    stmt = (
        select(M.conversation_id, func.count())
        .select_from(M)
        .outerjoin(
            R,
            and_(
                R.conversation_id == M.conversation_id,
                R.reader_kind == reader.kind,
                R.reader_id == reader.id,
            ),
        )
        .where(
            M.conversation_id.in_(ids),
            M.seq > func.coalesce(R.last_read_seq, 0),
            # Status notices ("Bo joined the chat") are not something to read.
            M.sender_kind != "system",
        )
        .group_by(M.conversation_id)
    )
    if reader.kind == "customer":
        stmt = stmt.where(M.internal.is_(False), M.sender_kind != "customer")
    else:
        stmt = stmt.where(not_(and_(M.sender_kind == "agent", M.sender_id == reader.id)))
    return {cid: n for cid, n in db.execute(stmt)}


def summaries(
    db: DbSession, convs: Sequence[models.Conversation], reader: Who | None
) -> list[rt.ConversationSummary]:
    """Conversations as ``reader`` sees them (None: an agent's view without
    unread counts)."""
    if not convs:
        return []
    customer_ids = {c.customer_id for c in convs}
    customers = {
        c.id: c
        for c in db.scalars(select(models.Customer).where(models.Customer.id.in_(customer_ids)))
    }
    agent_ids = {c.assignee_id for c in convs if c.assignee_id is not None}
    agents = (
        {a.id: a for a in db.scalars(select(models.Agent).where(models.Agent.id.in_(agent_ids)))}
        if agent_ids
        else {}
    )
    unread = unread_counts(db, [c.id for c in convs], reader) if reader is not None else {}
    for_customer = reader is not None and reader.kind == "customer"
    out = []
    for c in convs:
        cust = customers[c.customer_id]
        assignee = agents.get(c.assignee_id) if c.assignee_id is not None else None
        out.append(
            rt.ConversationSummary(
                id=c.id,
                status=rt.ConversationStatus(c.status),
                customer=rt.ChatCustomer(
                    id=cust.id,
                    name=cust.name or cust.external_id,
                    company=cust.company,
                    tier=cust.tier,
                    product=cust.product,
                    product_version=cust.product_version,
                ),
                assignee=rt.AgentRef(id=assignee.id, name=assignee.name) if assignee else None,
                last_seq=c.last_public_seq if for_customer else c.last_seq,
                unread=unread.get(c.id, 0),
                queue=queue_name(c.tier, c.product),
                created_at=c.created_at,
                updated_at=c.updated_at,
                closed_at=c.closed_at,
                ticket_id=c.ticket_id,
                ticket_number=models.ticket_number(c.ticket_id) if c.ticket_id else None,
            )
        )
    return out


def conversation_outs(db: DbSession, conv: models.Conversation) -> list[Out]:
    """``conversation`` events after a change: the customer and the assignee
    with their unread counts, every other agent (queue lists) without."""

    def frame(reader: Who | None) -> str:
        return rt.encode(rt.ConversationEvent(conversation=summaries(db, [conv], reader)[0]))

    outs = [Out(Target("customer", conv.customer_id), frame(Who("customer", conv.customer_id, "")))]
    if conv.assignee_id is not None:
        outs.append(
            Out(Target("agent", conv.assignee_id), frame(Who("agent", conv.assignee_id, "")))
        )
    outs.append(Out(Target("agents", exclude=conv.assignee_id), frame(None)))
    return outs


# --- messages ------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageRow:
    """A stored message (what :func:`add_message` wrote)."""

    conversation_id: int
    seq: int
    prev_public_seq: int
    client_id: str
    sender_kind: str
    sender_id: int | None
    sender_name: str
    text: str
    internal: bool
    articles: list[dict[str, object]]
    attachment_ids: list[int]
    created_at: datetime


@dataclass(frozen=True)
class ConvRef:
    """The columns of a conversation the message path needs (read with one
    Core query: the ORM costs more than the rest of a message's work)."""

    id: int
    customer_id: int
    assignee_id: int | None
    status: str
    tier: str
    product: str
    locale: str


AnyConv = ConvRef | models.Conversation
AnyMessage = MessageRow | models.ChatMessage

# Built once: building a statement costs more than running it.
_CT = cast(Table, C.__table__)
_MT = cast(Table, M.__table__)
_SEEN = select(_MT.c.conversation_id, _MT.c.seq).where(
    _MT.c.sender_kind == bindparam("kind"),
    _MT.c.sender_id == bindparam("sid"),
    _MT.c.client_id == bindparam("client_id"),
)
_CONV = select(
    _CT.c.id,
    _CT.c.customer_id,
    _CT.c.assignee_id,
    _CT.c.status,
    _CT.c.tier,
    _CT.c.product,
    _CT.c.locale,
).where(_CT.c.id == bindparam("cid"))
# The UPDATE comes first so the transaction holds the write lock before it
# reads the counter; RETURNING gives the new seq and the previous
# customer-visible one (not yet updated).
_BUMP = (
    update(_CT)
    .where(_CT.c.id == bindparam("cid"))
    .values(last_seq=_CT.c.last_seq + 1, updated_at=bindparam("at", type_=models.UTCDateTime()))
    .returning(_CT.c.last_seq, _CT.c.last_public_seq)
)
_PUBLIC = update(_CT).where(_CT.c.id == bindparam("cid")).values(last_public_seq=bindparam("seq"))
_INSERT = insert(_MT)


def add_message(
    db: DbSession,
    conv: AnyConv,
    sender: rt.Party,
    text: str,
    *,
    client_id: str | None = None,
    internal: bool = False,
    attachment_ids: Sequence[int] = (),
    articles: Sequence[rt.ArticleRef] = (),
) -> MessageRow:
    """Store a message under the conversation's next ``seq``."""
    at = now()
    conn = db.connection()
    seq, prev_public = conn.execute(_BUMP, {"cid": conv.id, "at": at}).one()
    if not internal:
        conn.execute(_PUBLIC, {"cid": conv.id, "seq": seq})
    if isinstance(conv, models.Conversation):
        # Keep a loaded row in step without another UPDATE at flush.
        if not internal:
            set_committed_value(conv, "last_public_seq", seq)
        set_committed_value(conv, "last_seq", seq)
        set_committed_value(conv, "updated_at", at)
    row = MessageRow(
        conversation_id=conv.id,
        seq=seq,
        prev_public_seq=prev_public,
        client_id=client_id or new_client_id(),
        sender_kind=sender.kind.value,
        sender_id=sender.id,
        sender_name=sender.name,
        text=text,
        internal=internal,
        articles=[a.model_dump(mode="json") for a in articles],
        attachment_ids=list(attachment_ids),
        created_at=at,
    )
    # vars(), not dataclasses.asdict(): no deep copy of the lists.
    conn.execute(_INSERT, vars(row))
    return row


def _check_attachments(db: DbSession, who: Who, ids: Sequence[int]) -> None:
    if len(set(ids)) != len(ids):
        raise Refused(ErrorCode.invalid_request, "an attachment is listed twice")
    found = _attachments(db, ids)
    for aid in ids:
        a = found.get(aid)
        if a is None or a.owner_type != who.kind or a.owner_id != who.id:
            raise Refused(ErrorCode.invalid_request, f"attachment {aid} is not yours")
        if a.ticket_id is not None:
            raise Refused(ErrorCode.invalid_request, f"attachment {aid} belongs to a ticket")


def send(db: DbSession, who: Who, ev: rt.Send) -> Sent:
    """Store a ``send``; a client id seen before stores nothing and gets the
    first answer's ``ack``. Every refusal comes before the first write, so
    sends may share a transaction (``server.group_commit``)."""
    conn = db.connection()
    seen = conn.execute(_SEEN, {"kind": who.kind, "sid": who.id, "client_id": ev.client_id}).first()
    if seen is not None:
        ack = rt.Ack(client_id=ev.client_id, conversation_id=seen[0], seq=seen[1])
        return Sent(ack, [], created=False)
    if not ev.text.strip() and not ev.attachment_ids:
        raise Refused(ErrorCode.invalid_request, "a message needs text or a file")
    internal = ev.internal
    if who.kind == "customer" and internal:
        raise Refused(ErrorCode.forbidden, "customers cannot write internal notes")
    conv: AnyConv | None = None
    if ev.conversation_id is not None:
        found = conn.execute(_CONV, {"cid": ev.conversation_id}).first()
        if found is None or (who.kind == "customer" and found.customer_id != who.id):
            raise Refused(ErrorCode.not_found, f"no conversation {ev.conversation_id}")
        conv = ConvRef(*found)
        if conv.status == rt.ConversationStatus.closed:
            raise Refused(ErrorCode.conflict, "the conversation is closed; start a new one")
        if who.kind == "agent" and not internal and conv.assignee_id != who.id:
            raise Refused(ErrorCode.forbidden, "accept the conversation before answering")
    elif who.kind != "customer":
        raise Refused(ErrorCode.invalid_request, "agents answer in an existing conversation")
    _check_attachments(db, who, ev.attachment_ids)
    outs: list[Out] = []
    if conv is None:
        customer = db.get(models.Customer, who.id)
        if customer is None:
            raise Refused(ErrorCode.not_found, "the customer no longer exists")
        at = now()
        conv = created = C(
            customer_id=customer.id,
            status=rt.ConversationStatus.bot.value,
            tier=customer.tier,
            product=customer.product or "",
            locale=bot.locale_of(ev.text),
            created_at=at,
            updated_at=at,
        )
        db.add(conv)
        db.flush()
        row = add_message(
            db, conv, who.party(), ev.text, client_id=ev.client_id, attachment_ids=ev.attachment_ids
        )
        outs += conversation_outs(db, created)
    else:
        row = add_message(
            db,
            conv,
            who.party(),
            ev.text,
            client_id=ev.client_id,
            internal=internal,
            attachment_ids=ev.attachment_ids,
        )
    outs += message_outs(db, conv, row)
    turn = None
    if who.kind == "customer" and conv.status == rt.ConversationStatus.bot and ev.text.strip():
        turn = BotTurn(conv.id, row.seq, ev.text, conv.locale, conv.product)
    ack = rt.Ack(client_id=ev.client_id, conversation_id=conv.id, seq=row.seq)
    return Sent(ack, outs, created=True, participants=participants(conv), bot_turn=turn)


def replay(
    db: DbSession, who: Who, points: Sequence[rt.ResumePoint]
) -> tuple[list[Out], list[str], dict[int, int]]:
    """Messages after each resume point, in order, as (outs addressed to
    ``who``, error frames for conversations they may not see, the last seq
    replayed per conversation)."""
    outs: list[Out] = []
    errors: list[str] = []
    upto: dict[int, int] = {}
    me = Target(who.kind, who.id)
    for point in points:
        cid = point.conversation_id
        try:
            conversation_for(db, who, cid)
        except Refused as exc:
            errors.append(
                rt.encode(rt.ErrorEvent(code=exc.code, message=exc.message, conversation_id=cid))
            )
            continue
        stmt = select(M).where(M.conversation_id == cid, M.seq > point.after_seq)
        if who.kind == "customer":
            stmt = stmt.where(M.internal.is_(False))
        rows = db.scalars(stmt.order_by(M.seq)).all()
        atts = _attachments(db, (i for r in rows for i in r.attachment_ids))
        for r in rows:
            msg = chat_message(r, atts, for_customer=who.kind == "customer")
            outs.append(Out(me, rt.encode(msg), cid, r.seq))
        upto[cid] = max(point.after_seq, rows[-1].seq if rows else 0)
    return outs, errors, upto


def welcome_conversations(db: DbSession, who: Who) -> list[rt.ConversationSummary]:
    """Customers: open conversations and those closed lately. Agents: theirs
    and the queue."""
    if who.kind == "customer":
        stmt = select(C).where(
            C.customer_id == who.id,
            or_(
                C.status != rt.ConversationStatus.closed.value, C.updated_at > now() - RECENT_CLOSED
            ),
        )
    else:
        stmt = select(C).where(
            or_(
                and_(C.assignee_id == who.id, C.status == rt.ConversationStatus.assigned.value),
                C.status == rt.ConversationStatus.queued.value,
            )
        )
    convs = db.scalars(stmt.order_by(C.updated_at.desc(), C.id.desc()).limit(500)).all()
    return summaries(db, convs, who)


def message_page(
    db: DbSession, who: Who, conversation_id: int, before_seq: int | None, limit: int
) -> rt.MessagePage:
    conversation_for(db, who, conversation_id)
    stmt = select(M).where(M.conversation_id == conversation_id)
    if before_seq is not None:
        stmt = stmt.where(M.seq < before_seq)
    if who.kind == "customer":
        stmt = stmt.where(M.internal.is_(False))
    rows = list(db.scalars(stmt.order_by(M.seq.desc()).limit(limit + 1)))
    has_more = len(rows) > limit
    rows = rows[:limit][::-1]
    atts = _attachments(db, (i for r in rows for i in r.attachment_ids))
    return rt.MessagePage(
        conversation_id=conversation_id,
        messages=[chat_message(r, atts, for_customer=who.kind == "customer") for r in rows],
        has_more=has_more,
    )


def attachment_for(
    db: DbSession, who: Who, conversation_id: int, attachment_id: int
) -> models.Attachment:
    """An attachment of a message in the conversation, if ``who`` may see the message."""
    conversation_for(db, who, conversation_id)
    stmt = select(M.attachment_ids).where(M.conversation_id == conversation_id)
    if who.kind == "customer":
        stmt = stmt.where(M.internal.is_(False))
    for ids in db.scalars(stmt):
        if attachment_id in ids:
            a = db.get(models.Attachment, attachment_id)
            if a is not None:
                return a
    raise Refused(ErrorCode.not_found, f"no attachment {attachment_id} in this conversation")


# --- receipts --------------------------------------------------------------------------


def mark_read(db: DbSession, who: Who, conversation_id: int, seq: int) -> Changed:
    conv = conversation_for(db, who, conversation_id)
    seq = min(seq, conv.last_public_seq if who.kind == "customer" else conv.last_seq)
    row = db.scalar(
        select(R).where(
            R.conversation_id == conv.id, R.reader_kind == who.kind, R.reader_id == who.id
        )
    )
    if row is None:
        row = R(conversation_id=conv.id, reader_kind=who.kind, reader_id=who.id, last_read_seq=0)
        db.add(row)
    if seq <= row.last_read_seq:
        return Changed([])
    row.last_read_seq = seq
    row.updated_at = now()
    db.flush()
    staff = rt.encode(
        rt.ReadEvent(conversation_id=conv.id, reader_kind=who.kind, reader_id=who.id, seq=seq)
    )
    if who.kind == "customer":
        outs = [Out(Target("customer", who.id), staff)]
        if conv.assignee_id is not None:
            outs.append(Out(Target("agent", conv.assignee_id), staff))
        return Changed(outs)
    public = rt.encode(
        rt.ReadEvent(
            conversation_id=conv.id,
            reader_kind="agent",
            reader_id=who.id,
            seq=min(seq, conv.last_public_seq),
        )
    )
    return Changed(
        [Out(Target("agent", who.id), staff), Out(Target("customer", conv.customer_id), public)]
    )


# --- state changes -------------------------------------------------------------------


def _system_message(
    db: DbSession, conv: models.Conversation, key: str, *, internal: bool = False, **values: object
) -> list[Out]:
    row = add_message(db, conv, SYSTEM, bot.line(key, conv.locale, **values), internal=internal)
    return message_outs(db, conv, row)


def handoff(db: DbSession, who: Who, conversation_id: int) -> Changed:
    """The customer asks for a person: the conversation joins the queue."""
    conv = conversation_for(db, who, conversation_id)
    if conv.status == rt.ConversationStatus.closed:
        raise Refused(ErrorCode.conflict, "the conversation is closed; start a new one")
    if conv.status != rt.ConversationStatus.bot:
        return Changed([], participants(conv))  # queued or with an agent already
    return _enqueue(db, conv)


def _enqueue(db: DbSession, conv: models.Conversation, key: str = "queued") -> Changed:
    at = now()
    conv.status = rt.ConversationStatus.queued.value
    conv.queued_at = at
    conv.assignee_id = None
    db.flush()
    outs = _system_message(db, conv, key)
    outs += conversation_outs(db, conv)
    return Changed(outs, participants(conv), route=True)


def bot_feedback(db: DbSession, who: Who, ev: rt.BotFeedback) -> Changed:
    conv = conversation_for(db, who, ev.conversation_id)
    if who.kind != "customer":
        raise Refused(ErrorCode.forbidden, "feedback on the bot comes from the customer")
    if conv.status != rt.ConversationStatus.bot:
        return Changed([], participants(conv))
    if not ev.helpful:
        return _enqueue(db, conv)
    row = add_message(db, conv, BOT, bot.line("helped", conv.locale))
    outs = message_outs(db, conv, row)
    conv.status = rt.ConversationStatus.closed.value
    conv.closed_at = now()
    db.flush()
    outs += conversation_outs(db, conv)
    return Changed(outs, participants(conv))


def bot_answer(db: DbSession, turn: BotTurn, articles: Sequence[rt.ArticleRef]) -> Changed:
    """The bot's reply to ``turn``: the articles and "Did this solve it?",
    or, finding none, a hand-off to a person."""
    conv = db.get(C, turn.conversation_id)
    if conv is None or conv.status != rt.ConversationStatus.bot:
        return Changed([])  # a person took over meanwhile
    if not articles:
        row = add_message(db, conv, BOT, bot.line("nothing", conv.locale))
        outs = message_outs(db, conv, row)
        changed = _enqueue(db, conv)
        return Changed(outs + changed.outs, changed.participants, route=True)
    row = add_message(db, conv, BOT, bot.line("ask", conv.locale), articles=articles)
    return Changed(message_outs(db, conv, row), participants(conv))


def assign(
    db: DbSession,
    conversation_id: int,
    agent_id: int,
    *,
    expect: Sequence[rt.ConversationStatus],
    transfer: bool = False,
) -> Changed | None:
    """Give the conversation to the agent; None when it is no longer in one
    of the ``expect`` states (someone else acted first)."""
    conv = db.get(C, conversation_id)
    agent = db.get(models.Agent, agent_id)
    if conv is None or conv.status not in expect:
        return None
    if agent is None or not agent.active:
        raise Refused(ErrorCode.not_found, f"no active agent {agent_id}")
    at = now()
    conv.assignee_id = agent.id
    conv.status = rt.ConversationStatus.assigned.value
    conv.assigned_at = at
    presence = db.get(models.AgentPresence, agent.id)
    if presence is None:
        presence = models.AgentPresence(agent_id=agent.id, status="offline", capacity=5)
        db.add(presence)
    presence.last_assigned_at = at
    db.flush()
    outs = _system_message(db, conv, "transferred" if transfer else "joined", name=agent.name)
    outs += conversation_outs(db, conv)
    return Changed(outs, participants(conv), route=True)


def accept(db: DbSession, who: Who, conversation_id: int) -> Changed:
    conv = conversation_for(db, who, conversation_id)
    if conv.status == rt.ConversationStatus.assigned and conv.assignee_id == who.id:
        return Changed([], participants(conv))
    waiting = (rt.ConversationStatus.bot, rt.ConversationStatus.queued)
    if conv.status not in waiting:
        raise Refused(ErrorCode.conflict, f"the conversation is {conv.status}")
    changed = assign(db, conv.id, who.id, expect=waiting)
    assert changed is not None
    return changed


def transfer(db: DbSession, who: Who, conversation_id: int, agent_id: int) -> Changed:
    conv = conversation_for(db, who, conversation_id)
    if conv.status != rt.ConversationStatus.assigned:
        raise Refused(ErrorCode.conflict, f"the conversation is {conv.status}")
    if conv.assignee_id != who.id and not who.is_supervisor:
        raise Refused(ErrorCode.forbidden, "only its agent or a supervisor transfers a chat")
    if conv.assignee_id == agent_id:
        return Changed([], participants(conv))
    changed = assign(db, conv.id, agent_id, expect=(rt.ConversationStatus.assigned,), transfer=True)
    assert changed is not None
    return changed


def close(db: DbSession, who: Who, conversation_id: int) -> Changed:
    conv = conversation_for(db, who, conversation_id)
    if conv.status == rt.ConversationStatus.closed:
        return Changed([], participants(conv))
    if not _may_manage(who, conv):
        raise Refused(ErrorCode.forbidden, "only its agent or a supervisor closes a chat")
    outs = _system_message(db, conv, "closed")
    conv.status = rt.ConversationStatus.closed.value
    conv.closed_at = now()
    db.flush()
    outs += conversation_outs(db, conv)
    return Changed(outs, participants(conv), route=True)


def requeue(db: DbSession, conversation_id: int, agent_id: int) -> Changed | None:
    """Back to the queue: its agent has been gone too long."""
    conv = db.get(C, conversation_id)
    if conv is None or conv.status != rt.ConversationStatus.assigned:
        return None
    if conv.assignee_id != agent_id:
        return None
    return _enqueue(db, conv)


# --- tickets -----------------------------------------------------------------------------


def _transcript(
    conv: models.Conversation,
    rows: Sequence[models.ChatMessage],
    atts: dict[int, models.Attachment],
) -> str:
    lines = [f"Chat #{conv.id}, {conv.created_at:%Y-%m-%d %H:%M} UTC", ""]
    for r in rows:
        if r.internal:
            continue
        lines.append(f"[{r.created_at:%H:%M}] {r.sender_name}: {r.text}".rstrip())
        for a in r.articles:
            lines.append(f"    - {a.get('title', '')} (article {a.get('id', '?')})")
        for aid in r.attachment_ids:
            name = atts[aid].filename if aid in atts else f"attachment {aid}"
            lines.append(f"    [file: {name}]")
    text = "\n".join(lines)
    if len(text) > TRANSCRIPT_CHARS:
        tail = f"\n… (transcript cut; the whole chat is conversation #{conv.id})"
        text = text[: TRANSCRIPT_CHARS - len(tail)] + tail
    return text


def _subject(conv: models.Conversation, rows: Sequence[models.ChatMessage]) -> str:
    for r in rows:
        if r.sender_kind == "customer" and r.text.strip():
            first = r.text.strip().splitlines()[0].strip()
            return first[:200] if len(first) <= 200 else first[:199] + "…"
    return f"Chat #{conv.id}"


def to_ticket(
    db: DbSession,
    who: Who | None,
    conversation_id: int,
    max_ticket_bytes: int,
    *,
    automatic: bool = False,
) -> Changed:
    """Turn the conversation into a ticket: the transcript as its body, the
    files linked, internal notes as internal notes; the conversation closes
    and the customer is told the ticket's number. ``who`` None: the service
    itself (nobody available)."""
    if who is not None:
        conv = conversation_for(db, who, conversation_id)
        if not _may_manage(who, conv):
            raise Refused(ErrorCode.forbidden, "only its agent or a supervisor does that")
    else:
        found = db.get(C, conversation_id)
        if found is None:
            raise Refused(ErrorCode.not_found, f"no conversation {conversation_id}")
        conv = found
    if conv.ticket_id is not None:
        return Changed([], participants(conv))
    if conv.status == rt.ConversationStatus.closed:
        raise Refused(ErrorCode.conflict, "the conversation is closed")
    customer = db.get(models.Customer, conv.customer_id)
    assert customer is not None
    rows = db.scalars(select(M).where(M.conversation_id == conv.id).order_by(M.seq)).all()
    atts = _attachments(db, (i for r in rows for i in r.attachment_ids))
    # Files go along while they fit the ticket's limit; the transcript names
    # every file either way.
    budget = max_ticket_bytes
    by_owner: dict[tuple[str, int], list[int]] = {}
    for r in rows:
        for aid in r.attachment_ids:
            a = atts.get(aid)
            if a is None or a.ticket_id is not None or a.size > budget:
                continue
            key = (a.owner_type, a.owner_id)
            if aid in by_owner.get(key, []) or (
                a.owner_type == "customer" and len(by_owner.get(key, [])) >= 50
            ):
                continue
            budget -= a.size
            by_owner.setdefault(key, []).append(aid)
    body = wire.TicketCreate(
        client_key=f"conversation-{conv.id}",
        subject=_subject(conv, rows),
        body=_transcript(conv, rows, atts),
        category="chat",
        context={"source": "chat", "conversation_id": str(conv.id)},
        attachment_ids=by_owner.pop(("customer", customer.id), []),
    )
    made = tickets.create_ticket(db, customer, body, max_ticket_bytes)
    ticket = made.ticket
    for (kind, owner_id), ids in by_owner.items():
        if kind != "agent":
            continue
        agent = db.get(models.Agent, owner_id)
        if agent is not None:
            actor = tickets.agent_actor(agent)
            tickets.link_attachments(db, ticket, None, actor, ids, max_ticket_bytes)
    for r in rows:
        if r.internal and r.sender_kind == "agent" and r.sender_id is not None:
            actor = tickets.Actor("agent", r.sender_id, r.sender_name)
            tickets.add_event(db, ticket, actor, "note", body=r.text, internal=True)
    if who is not None and who.kind == "agent":
        ticket.assignee_id = who.id
    elif conv.assignee_id is not None:
        ticket.assignee_id = conv.assignee_id
    number = models.ticket_number(ticket.id)
    outs = _system_message(db, conv, "unavailable" if automatic else "ticket", number=number)
    conv.ticket_id = ticket.id
    conv.status = rt.ConversationStatus.closed.value
    conv.closed_at = now()
    db.flush()
    outs += conversation_outs(db, conv)
    return Changed(outs, participants(conv), route=True)


# --- presence and routing snapshots -------------------------------------------------------


@dataclass(frozen=True)
class PresenceRow:
    agent_id: int
    name: str
    role: Role
    status: rt.PresenceStatus
    capacity: int
    products: tuple[str, ...]
    last_seen: datetime | None
    last_assigned: float


def presence_rows(db: DbSession) -> dict[int, PresenceRow]:
    """Every active agent's chosen status (offline when never set)."""
    P = models.AgentPresence
    rows = db.execute(
        select(models.Agent, P)
        .outerjoin(P, P.agent_id == models.Agent.id)
        .where(models.Agent.active.is_(True))
    )
    out = {}
    for agent, p in rows:
        out[agent.id] = PresenceRow(
            agent_id=agent.id,
            name=agent.name,
            role=Role(agent.role),
            status=rt.PresenceStatus(p.status) if p else rt.PresenceStatus.offline,
            capacity=p.capacity if p else rt.DEFAULT_CAPACITY,
            products=tuple(p.products) if p else (),
            last_seen=p.last_seen if p else None,
            last_assigned=p.last_assigned_at.timestamp() if p and p.last_assigned_at else 0.0,
        )
    return out


def save_presence(db: DbSession, agent_id: int, ev: rt.SetPresence | None) -> None:
    """Store an agent's chosen status (``ev``) or just that they were seen."""
    row = db.get(models.AgentPresence, agent_id)
    if row is None:
        row = models.AgentPresence(
            agent_id=agent_id, status="offline", capacity=rt.DEFAULT_CAPACITY, products=[]
        )
        db.add(row)
    if ev is not None:
        row.status = ev.status.value
        row.capacity = ev.capacity
        row.products = list(ev.products)
    row.last_seen = now()


def agent_loads(db: DbSession) -> dict[int, int]:
    """Conversations each agent has open."""
    stmt = (
        select(C.assignee_id, func.count())
        .where(C.status == rt.ConversationStatus.assigned.value, C.assignee_id.is_not(None))
        .group_by(C.assignee_id)
    )
    return {aid: n for aid, n in db.execute(stmt) if aid is not None}


@dataclass(frozen=True)
class Waiting:
    conversation_id: int
    tier: str
    product: str
    queued_at: datetime | None


def waiting(db: DbSession) -> list[Waiting]:
    rows = db.execute(
        select(C.id, C.tier, C.product, C.queued_at).where(
            C.status == rt.ConversationStatus.queued.value
        )
    )
    return [Waiting(cid, tier, product, queued_at) for cid, tier, product, queued_at in rows]


def assigned_to(db: DbSession, agent_ids: Iterable[int]) -> list[tuple[int, int]]:
    """(conversation, agent) for open conversations of these agents."""
    ids = list(agent_ids)
    if not ids:
        return []
    rows = db.execute(
        select(C.id, C.assignee_id).where(
            C.status == rt.ConversationStatus.assigned.value, C.assignee_id.in_(ids)
        )
    )
    return [(cid, aid) for cid, aid in rows if aid is not None]
