"""Live chat: the realtime websocket protocol and its REST bodies, version 1.

Transport
---------
One websocket per client at ``GET /api/v1/realtime`` (:data:`REALTIME_PATH`).
Every frame is a text frame holding one JSON object with a ``type`` field:
:data:`ClientEvent` from client to service, :data:`ServerEvent` back. The
access token never goes in the URL (URLs get logged): the client's first
frame is :class:`Hello`; the service answers :class:`Welcome` or closes the
socket with a :class:`CloseCode`.

Ordering and resume
-------------------
Each conversation numbers its messages 1, 2, 3... (``seq``, assigned by the
service when it stores the message). Internal notes take numbers too but
customers never see them, so every message also carries ``prev_seq``: the
number of the previous message *this reader* can see (0 for the first).
A reader has everything when each message's ``prev_seq`` is the one before
it. After a reconnect the client sends ``resume`` points in ``hello``; the
service replays every visible message with ``seq > after_seq`` in order,
then live events. :class:`ConversationLog` does the client-side book-keeping
(order, dedupe, gaps, resume points) without any I/O, for the portal and the
agent console alike.

Idempotency
-----------
``send`` carries a client-made ``client_id``; sending it again (after a
reconnect, say) stores nothing new and is answered with the same ``ack``.

Text is plain text, stored verbatim: clients render it as text, never as
markup.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from protocol.assist import AssistSession
from protocol.models import Customer, ErrorCode, Role, Tier
from protocol.tickets import AttachmentInfo, TicketSummary

PROTOCOL_VERSION = 1
"""Sent in ``hello`` and ``welcome``; a service refuses a version it does not
speak with :attr:`CloseCode.unsupported_protocol`."""

REALTIME_PATH = "/api/v1/realtime"

MAX_FRAME_BYTES = 64 * 1024
"""A larger frame closes the connection with :attr:`CloseCode.too_large`."""
MAX_TEXT_CHARS = 10_000
MAX_ATTACHMENTS = 10
MAX_RESUME_POINTS = 1_000
MAX_TOKEN_CHARS = 4_096
MAX_CAPACITY = 50

CLIENT_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
"""A client-made id for a ``send`` (a UUID's hex is fine)."""

HELLO_TIMEOUT_S = 10.0
"""The service closes a connection that has not said ``hello`` by then."""
PING_INTERVAL_S = 10.0
"""The service pings (websocket level) and the client sends ``ping`` this often."""
IDLE_TIMEOUT_S = 30.0
"""Either side treats a peer silent this long as gone."""
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 30.0
"""Reconnect with exponential backoff and full jitter between these."""

RATE_PER_SECOND = 20.0
RATE_BURST = 40
"""A connection may send this many events per second on average, in bursts
of up to ``RATE_BURST``; beyond that the service closes it with 4429."""

DEFAULT_CAPACITY = 5
"""Concurrent conversations an agent takes until they set their own."""


class CloseCode(IntEnum):
    """Websocket close codes the service uses."""

    normal = 1000
    going_away = 1001
    """The service is going away: reconnect (with backoff) and resume."""
    internal_error = 1011
    service_restart = 1012
    """What uvicorn sends to open sockets when the service stops or restarts:
    reconnect (with backoff) and resume."""
    overloaded = 1013
    """The client did not read its events fast enough: reconnect and resume."""
    malformed = 4400
    """A frame that is not a valid event (or hello sent twice): do not resend it."""
    unauthorized = 4401
    """Missing, unknown or expired access token: refresh, then reconnect."""
    timeout = 4408
    """No ``hello`` within ``HELLO_TIMEOUT_S``, or silent for ``IDLE_TIMEOUT_S``."""
    too_large = 4413
    """A frame over ``MAX_FRAME_BYTES``."""
    unsupported_protocol = 4426
    """The ``protocol`` in ``hello`` is not one the service speaks."""
    rate_limited = 4429
    """Too many events (flooding); reconnect after a backoff."""


class ConversationStatus(StrEnum):
    bot = "bot"
    """The bot is answering with knowledge articles."""
    queued = "queued"
    """Waiting for an agent."""
    assigned = "assigned"
    closed = "closed"


class SenderKind(StrEnum):
    customer = "customer"
    agent = "agent"
    bot = "bot"
    system = "system"


class PresenceStatus(StrEnum):
    online = "online"
    away = "away"
    offline = "offline"


class _In(BaseModel):
    """Client-to-service: strict, a frame with unknown fields is malformed."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _Out(BaseModel):
    """Service-to-client: clients ignore fields they do not know, so the
    service may add optional fields within a protocol version."""

    model_config = ConfigDict(extra="ignore", frozen=True)


ClientId = Annotated[str, Field(pattern=CLIENT_ID_PATTERN)]
ConversationId = Annotated[int, Field(ge=1)]
Seq = Annotated[int, Field(ge=0)]


# --- shared parts -------------------------------------------------------------


class Party(_Out):
    """Who wrote a message or is typing. ``id`` is None for the bot and the
    system."""

    kind: SenderKind
    id: int | None = None
    name: str


class You(_Out):
    kind: Literal["customer", "agent"]
    id: int
    name: str
    role: Role | None = None
    """Agents only: supervisors also get every agent's presence."""


class AgentRef(_Out):
    id: int
    name: str


class ChatCustomer(_Out):
    id: int
    name: str | None = None
    company: str | None = None
    tier: Tier = Tier.normal
    product: str | None = None
    product_version: str | None = None


class ArticleRef(_Out):
    """A knowledge article the bot suggests (open it at /api/v1/kb/articles/{id})."""

    id: int
    title: str
    snippet: str


class ConversationSummary(_Out):
    id: int
    status: ConversationStatus
    customer: ChatCustomer
    assignee: AgentRef | None = None
    last_seq: int
    """The newest message this reader can see (0: none yet)."""
    unread: int = 0
    """Messages from others after this reader's last ``read``."""
    queue: str
    """Routing queue: the tier, then the product if known (``svip/PhotoTool``)."""
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    ticket_id: int | None = None
    ticket_number: int | None = None
    """Set when the conversation was turned into a ticket (#10482)."""


class ChatMessage(_Out):
    conversation_id: int
    seq: int
    prev_seq: int
    """The previous message this reader can see (0 for the first): a reader
    holding ``prev_seq`` and ``seq`` with nothing between has no gap there."""
    client_id: str
    sender: Party
    text: str
    attachments: list[AttachmentInfo] = Field(default_factory=list)
    articles: list[ArticleRef] = Field(default_factory=list)
    """Bot answers: up to three suggested articles."""
    internal: bool = False
    """An agents-only note; never sent to customers."""
    created_at: datetime


class ResumePoint(_In):
    conversation_id: ConversationId
    after_seq: Seq


# --- client to service --------------------------------------------------------


class Hello(_In):
    type: Literal["hello"] = "hello"
    token: str = Field(min_length=1, max_length=MAX_TOKEN_CHARS)
    protocol: int = PROTOCOL_VERSION
    resume: list[ResumePoint] = Field(default_factory=list, max_length=MAX_RESUME_POINTS)


class Send(_In):
    """A message; ``conversation_id`` None starts a new conversation (customers)."""

    type: Literal["send"] = "send"
    client_id: ClientId
    conversation_id: ConversationId | None = None
    text: str = Field(default="", max_length=MAX_TEXT_CHARS)
    attachment_ids: list[int] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    internal: bool = False
    """Agents only: an internal note."""


class Typing(_In):
    type: Literal["typing"] = "typing"
    conversation_id: ConversationId
    typing: bool


class Read(_In):
    """Everything up to ``seq`` has been read (read receipts, unread counts)."""

    type: Literal["read"] = "read"
    conversation_id: ConversationId
    seq: Seq


class Handoff(_In):
    """The customer asks for a person."""

    type: Literal["handoff"] = "handoff"
    conversation_id: ConversationId


class BotFeedback(_In):
    """Whether the bot's answer (message ``seq``) solved it; ``helpful=False``
    hands the conversation to a person."""

    type: Literal["bot_feedback"] = "bot_feedback"
    conversation_id: ConversationId
    seq: Seq
    helpful: bool


class Ping(_In):
    """Application-level keep-alive; the service answers :class:`Pong`."""

    type: Literal["ping"] = "ping"


class SetPresence(_In):
    """Agents only."""

    type: Literal["presence"] = "presence"
    status: PresenceStatus
    capacity: int = Field(default=DEFAULT_CAPACITY, ge=0, le=MAX_CAPACITY)
    products: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list, max_length=50
    )
    """Products this agent takes chats for; empty: all."""


class Accept(_In):
    """Agents only: take a queued conversation."""

    type: Literal["accept"] = "accept"
    conversation_id: ConversationId


class Transfer(_In):
    """Agents only: hand a conversation to another online agent."""

    type: Literal["transfer"] = "transfer"
    conversation_id: ConversationId
    agent_id: int = Field(ge=1)


class Close(_In):
    """Agents only."""

    type: Literal["close"] = "close"
    conversation_id: ConversationId


class ToTicket(_In):
    """Agents only: turn the conversation into a ticket (transcript and files kept)."""

    type: Literal["to_ticket"] = "to_ticket"
    conversation_id: ConversationId


ClientEvent = Annotated[
    Hello
    | Send
    | Typing
    | Read
    | Handoff
    | BotFeedback
    | Ping
    | SetPresence
    | Accept
    | Transfer
    | Close
    | ToTicket,
    Field(discriminator="type"),
]

AGENT_ONLY: frozenset[str] = frozenset({"presence", "accept", "transfer", "close", "to_ticket"})


# --- service to client --------------------------------------------------------


class Welcome(_Out):
    type: Literal["welcome"] = "welcome"
    protocol: int = PROTOCOL_VERSION
    you: You
    server_time: datetime
    conversations: list[ConversationSummary] = Field(default_factory=list)
    """Customers: their open conversations; agents: theirs and the queue."""


class MessageEvent(ChatMessage):
    type: Literal["message"] = "message"


class Ack(_Out):
    """The sender's message is stored (sending → sent)."""

    type: Literal["ack"] = "ack"
    client_id: str
    conversation_id: int
    seq: int


class TypingEvent(_Out):
    type: Literal["typing"] = "typing"
    conversation_id: int
    who: Party
    typing: bool


class ReadEvent(_Out):
    """A read receipt: the customer (or the agents) read up to ``seq``."""

    type: Literal["read"] = "read"
    conversation_id: int
    reader_kind: Literal["customer", "agent"]
    reader_id: int | None = None
    seq: int


class ConversationEvent(_Out):
    """A conversation's status, assignee, queue or unread count changed."""

    type: Literal["conversation"] = "conversation"
    conversation: ConversationSummary


class PresenceEvent(_Out):
    type: Literal["presence"] = "presence"
    agent_id: int
    name: str
    status: PresenceStatus
    load: int
    capacity: int


class ErrorEvent(_Out):
    """A refused event; the connection stays open."""

    type: Literal["error"] = "error"
    code: ErrorCode
    message: str
    client_id: str | None = None
    conversation_id: int | None = None


class Pong(_Out):
    type: Literal["pong"] = "pong"


class AssistEvent(_Out):
    """A remote-assist session changed (``protocol.assist``): sent to its
    customer and its agent with the whole session."""

    type: Literal["assist"] = "assist"
    session: AssistSession


ServerEvent = Annotated[
    Welcome
    | MessageEvent
    | Ack
    | TypingEvent
    | ReadEvent
    | ConversationEvent
    | PresenceEvent
    | ErrorEvent
    | Pong
    | AssistEvent,
    Field(discriminator="type"),
]

CLIENT_EVENTS: TypeAdapter[ClientEvent] = TypeAdapter(ClientEvent)
SERVER_EVENTS: TypeAdapter[ServerEvent] = TypeAdapter(ServerEvent)


class FrameError(Exception):
    """A frame that is not a valid event; ``close_code`` says how to close."""

    def __init__(self, close_code: CloseCode, message: str) -> None:
        super().__init__(message)
        self.close_code = close_code
        self.message = message


def _frame_bytes(frame: str | bytes) -> bytes:
    data = frame.encode("utf-8", "surrogatepass") if isinstance(frame, str) else frame
    if len(data) > MAX_FRAME_BYTES:
        raise FrameError(
            CloseCode.too_large, f"frame of {len(data)} bytes; the limit is {MAX_FRAME_BYTES}"
        )
    return data


def _reason(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    loc = ".".join(str(p) for p in err.get("loc", ()))
    return f"{loc}: {err.get('msg', 'invalid')}" if loc else str(err.get("msg", "invalid"))


def parse_client_frame(frame: str | bytes) -> ClientEvent:
    """A client frame as an event, or :class:`FrameError` (too large, not
    JSON, not a known event)."""
    data = _frame_bytes(frame)
    try:
        return CLIENT_EVENTS.validate_json(data)
    except ValidationError as exc:
        raise FrameError(CloseCode.malformed, _reason(exc)) from exc


def parse_server_frame(frame: str | bytes) -> ServerEvent:
    """A service frame as an event, or :class:`FrameError`."""
    data = _frame_bytes(frame)
    try:
        return SERVER_EVENTS.validate_json(data)
    except ValidationError as exc:
        raise FrameError(CloseCode.malformed, _reason(exc)) from exc


def is_known_server_frame(frame: str | bytes) -> bool:
    """False for a frame whose ``type`` this version does not know (a newer
    service): clients skip those instead of treating them as errors."""
    try:
        kind = json.loads(frame).get("type")
    except (ValueError, AttributeError):
        return False
    return kind in _SERVER_TYPES


_SERVER_TYPES = frozenset(
    {
        "welcome",
        "message",
        "ack",
        "typing",
        "read",
        "conversation",
        "presence",
        "error",
        "pong",
        "assist",
    }
)


def encode(event: BaseModel) -> str:
    """An event as a text frame."""
    return event.model_dump_json()


# --- REST bodies ---------------------------------------------------------------


class ConversationList(_Out):
    conversations: list[ConversationSummary]


class MessagePage(_Out):
    """Messages oldest first; ``has_more``: there are older ones (ask again
    with ``before_seq`` = the first ``seq`` here)."""

    conversation_id: int
    messages: list[ChatMessage]
    has_more: bool


class CustomerPanel(_Out):
    """What the console shows next to a chat: who the customer is (from the
    host's identity token), their tickets and earlier conversations."""

    customer: Customer
    tickets: list[TicketSummary]
    conversations: list[ConversationSummary]


class AgentPresence(_Out):
    agent_id: int
    name: str
    status: PresenceStatus
    load: int
    capacity: int
    products: list[str] = Field(default_factory=list)
    last_seen: datetime | None = None


class PresenceList(_Out):
    agents: list[AgentPresence]


# --- client-side book-keeping (sans I/O) -------------------------------------------


@dataclass(frozen=True)
class Gap:
    """Messages with ``after_seq < seq < before_seq`` are missing (some of
    them may be internal notes this reader never gets; a resume tells)."""

    after_seq: int
    before_seq: int


@dataclass(frozen=True)
class Added:
    """What :meth:`ConversationLog.add` did with a message."""

    new: bool
    """False: a duplicate (same ``seq`` held already), ignored."""
    in_order: bool
    """True when it extends the gap-free run (nothing known to be missing before it)."""


@dataclass
class _Track:
    base: int = 0
    """Everything up to here is accounted for (seen, or not wanted)."""
    seqs: list[int] = field(default_factory=list)
    """Held messages' numbers, ascending."""
    by_seq: dict[int, ChatMessage] = field(default_factory=dict)
    high: int = 0
    """The end of the gap-free run from ``base``."""


class ConversationLog:
    """Messages per conversation in ``seq`` order, without duplicates, with
    the gaps a reconnect must fill. No I/O, no Qt: feed it every ``message``
    event (live, replayed or from history pages) and it keeps things straight.
    """

    def __init__(self) -> None:
        self._tracks: dict[int, _Track] = {}

    def track(self, conversation_id: int, after_seq: int = 0) -> None:
        """Start following a conversation, with everything up to
        ``after_seq`` accounted for (say, shown from a history page)."""
        t = self._tracks.setdefault(conversation_id, _Track())
        if after_seq > t.base:
            t.base = after_seq
            t.high = max(t.high, after_seq)
            self._advance(t)

    def forget(self, conversation_id: int) -> None:
        self._tracks.pop(conversation_id, None)

    def add(self, message: ChatMessage) -> Added:
        t = self._tracks.setdefault(message.conversation_id, _Track())
        if message.seq in t.by_seq:
            return Added(new=False, in_order=False)
        bisect.insort(t.seqs, message.seq)
        t.by_seq[message.seq] = message
        self._advance(t)
        return Added(new=True, in_order=message.seq <= t.high)

    @staticmethod
    def _advance(t: _Track) -> None:
        """Move ``high`` along messages whose ``prev_seq`` is within the run."""
        i = bisect.bisect_right(t.seqs, t.high)
        while i < len(t.seqs):
            m = t.by_seq[t.seqs[i]]
            if m.prev_seq > t.high:
                break
            t.high = m.seq
            i += 1

    def messages(self, conversation_id: int) -> list[ChatMessage]:
        t = self._tracks.get(conversation_id)
        return [t.by_seq[s] for s in t.seqs] if t else []

    def conversations(self) -> list[int]:
        return sorted(self._tracks)

    def last_seq(self, conversation_id: int) -> int:
        """The newest ``seq`` held (gaps or not); 0 when none."""
        t = self._tracks.get(conversation_id)
        return max(t.seqs[-1] if t and t.seqs else 0, t.base if t else 0)

    def expected_next(self, conversation_id: int) -> int:
        """The lowest ``seq`` that could still be missing: one past the
        gap-free run."""
        t = self._tracks.get(conversation_id)
        return (t.high if t else 0) + 1

    def missing(self, conversation_id: int) -> list[Gap]:
        """Known holes: ranges between held messages a reconnect must fill."""
        t = self._tracks.get(conversation_id)
        if t is None:
            return []
        gaps: list[Gap] = []
        prev = t.base
        for s in t.seqs[bisect.bisect_right(t.seqs, t.base) :]:
            m = t.by_seq[s]
            if m.prev_seq > prev:
                gaps.append(Gap(prev, s))
            prev = s
        return gaps

    def resume_points(self) -> list[ResumePoint]:
        """What to put in ``hello.resume`` after a reconnect: replay from the
        end of each conversation's gap-free run (duplicates are dropped)."""
        return [
            ResumePoint(conversation_id=cid, after_seq=t.high)
            for cid, t in sorted(self._tracks.items())
        ]
