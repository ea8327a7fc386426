"""SQLAlchemy 2 models of the vendor service.

Every change to these tables is an Alembic migration under
``server/migrations/versions``; ``tests/unit/test_migrations.py`` checks that
the migrations and the models agree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always hands back timezone-aware values (SQLite forgets)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class IdentityKey(Base):
    """A signing key the ISV's backend uses for customer identity JWTs.

    Several keys may be active at once (rotation): the JWT header's ``kid``
    picks one.
    """

    __tablename__ = "identity_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kid: Mapped[str] = mapped_column(String(100), unique=True)
    secret: Mapped[str] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(50), nullable=True)
    company: Mapped[str | None] = mapped_column(String(200), nullable=True)
    tier: Mapped[str] = mapped_column(String(10), default="normal")
    product: Mapped[str | None] = mapped_column(String(100), nullable=True)
    product_version: Mapped[str | None] = mapped_column(String(50), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(500))
    role: Mapped[str] = mapped_column(String(20), default="agent")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuthSession(Base):
    """A customer's or agent's session. Only SHA-256 hashes of the tokens are
    stored, so a copy of the database signs nobody in."""

    __tablename__ = "auth_sessions"
    __table_args__ = (Index("ix_auth_sessions_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(10))  # "customer" | "agent"
    subject_id: Mapped[int] = mapped_column(Integer)
    access_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refresh_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    identity_kid: Mapped[str | None] = mapped_column(String(100), nullable=True)


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (
        UniqueConstraint("slug", "locale", name="uq_articles_slug_locale"),
        Index("ix_articles_locale_category", "locale", "category"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str | None] = mapped_column(String(200), nullable=True)
    locale: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(100), default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    product: Mapped[str] = mapped_column(String(100), default="")
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), nullable=True
    )


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("requester_id", "client_key", name="uq_tickets_requester_client_key"),
        Index("ix_tickets_status_priority", "status", "priority"),
        Index("ix_tickets_assignee_status", "assignee_id", "status"),
        # Reports (server/reports.py): period scans, per-agent rollup upkeep,
        # and percentiles read in index order.
        Index("ix_tickets_created", "created_at"),
        Index("ix_tickets_assignee_created", "assignee_id", "created_at"),
        Index("ix_tickets_first_response", "first_response_s", "created_at"),
        Index("ix_tickets_resolution", "resolution_s", "created_at"),
        Index("ix_tickets_assignee_first_resp", "assignee_id", "first_response_s", "created_at"),
        Index("ix_tickets_assignee_resolution", "assignee_id", "resolution_s", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_key: Mapped[str] = mapped_column(String(64))
    requester_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), nullable=True
    )
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(100), default="")
    urgency: Mapped[str] = mapped_column(String(10))
    impact: Mapped[str] = mapped_column(String(10))
    priority: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(20), default="new")
    context: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_response_due: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolution_due: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    customer_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    csat_rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    csat_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    csat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Derived for reports and kept current at flush time by server/reports.py:
    # product, module and version from the host's context (or the customer),
    # whole seconds to first response and to resolution, and whether the
    # ticket ever went from resolved back to open.
    product: Mapped[str] = mapped_column(String(100), default="", server_default="")
    module: Mapped[str] = mapped_column(String(100), default="", server_default="")
    version: Mapped[str] = mapped_column(String(50), default="", server_default="")
    first_response_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resolution_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reopened: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


TICKET_NUMBER_BASE = 10000


def ticket_number(ticket_id: int) -> int:
    """The number customers quote (#10482): derived from the id, never stored."""
    return TICKET_NUMBER_BASE + ticket_id


class TicketEvent(Base):
    """One entry of a ticket's timeline: creation, a reply, an internal note,
    a status change, an assignment, a satisfaction rating."""

    __tablename__ = "ticket_events"
    __table_args__ = (
        UniqueConstraint("ticket_id", "client_key", name="uq_ticket_events_client_key"),
        Index("ix_ticket_events_ticket_created", "ticket_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    author_type: Mapped[str] = mapped_column(String(10))
    author_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    author_name: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    status_from: Mapped[str | None] = mapped_column(String(20), nullable=True)
    status_to: Mapped[str | None] = mapped_column(String(20), nullable=True)
    client_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attachment(Base):
    """An uploaded file. The bytes live content-addressed under the data
    directory (``blobs/ab/abcdef...``); this row names them. An attachment
    belongs to its uploader until it is linked to a ticket (and an event)."""

    __tablename__ = "attachments"
    __table_args__ = (
        UniqueConstraint("owner_type", "owner_id", "client_key", name="uq_attachments_owner_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_type: Mapped[str] = mapped_column(String(10))
    owner_id: Mapped[int] = mapped_column(Integer)
    client_key: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), nullable=True, index=True
    )
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket_events.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SlaPolicy(Base):
    __tablename__ = "sla_policies"
    __table_args__ = (UniqueConstraint("tier", "priority", name="uq_sla_tier_priority"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tier: Mapped[str] = mapped_column(String(10))
    priority: Mapped[str] = mapped_column(String(2))
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)


# --- live chat ------------------------------------------------------------------


class Conversation(Base):
    """A live chat between a customer and the bot, then an agent.

    ``last_seq`` numbers the conversation's messages (every message takes the
    next number in the transaction that stores it); ``last_public_seq`` is the
    newest one customers can see (internal notes are not)."""

    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_customer_status", "customer_id", "status"),
        Index("ix_conversations_assignee_status", "assignee_id", "status"),
        Index("ix_conversations_status_queued", "status", "queued_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10), default="bot")
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), nullable=True
    )
    tier: Mapped[str] = mapped_column(String(10), default="normal")
    product: Mapped[str] = mapped_column(String(100), default="")
    locale: Mapped[str] = mapped_column(String(10), default="en")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), nullable=True
    )
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_public_seq: Mapped[int] = mapped_column(Integer, default=0)


class ChatMessage(Base):
    """One message of a conversation. ``client_id`` is the sender's own id
    for it: a replayed send finds the stored row instead of adding one.
    ``attachment_ids`` name ``attachments`` rows the sender owns;
    ``prev_public_seq`` is the customer-visible message before this one (the
    ``prev_seq`` customers get)."""

    __tablename__ = "chat_messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq", name="uq_chat_messages_seq"),
        UniqueConstraint(
            "sender_kind", "sender_id", "client_id", name="uq_chat_messages_sender_client"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    prev_public_seq: Mapped[int] = mapped_column(Integer, default=0)
    client_id: Mapped[str] = mapped_column(String(64))
    sender_kind: Mapped[str] = mapped_column(String(10))
    sender_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    articles: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    attachment_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChatRead(Base):
    """How far one reader has read a conversation (read receipts, unread counts)."""

    __tablename__ = "chat_reads"
    __table_args__ = (
        UniqueConstraint("conversation_id", "reader_kind", "reader_id", name="uq_chat_reads"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    reader_kind: Mapped[str] = mapped_column(String(10))
    reader_id: Mapped[int] = mapped_column(Integer)
    last_read_seq: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AgentPresence(Base):
    """An agent's chosen chat status and capacity. Whether they are connected
    is known only to the running service; at start-up everyone is offline."""

    __tablename__ = "agent_presence"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(10), default="offline")
    capacity: Mapped[int] = mapped_column(Integer, default=5)
    products: Mapped[list[str]] = mapped_column(JSON, default=list)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditEntry(Base):
    """One line of the append-only audit log: who did what, when, from where.

    Nothing in the product updates or deletes these rows, and the database
    refuses to (triggers made by migration 0005).
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_action_at", "action", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_type: Mapped[str] = mapped_column(String(10))  # customer | agent | system | cli
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor_name: Mapped[str] = mapped_column(String(320), default="")
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(200), default="")
    outcome: Mapped[str] = mapped_column(String(10), default="ok")  # ok | denied | failed
    source: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)


# --- reports -------------------------------------------------------------------------


class ReportDay(Base):
    """Ticket counters per UTC day of creation and assignee (0: nobody), so a
    year of reports adds up a few thousand rows instead of every ticket.

    Derived data: server/reports.py adjusts a row whenever one of its
    tickets changes and can rebuild the whole table. ``breached`` may lag
    for tickets whose SLA deadline was still ahead; ``settles_at`` is the
    latest such deadline (NULL: every ticket's breach is settled), and until
    it has passed and the row was recomputed, reports read those tickets
    themselves."""

    __tablename__ = "report_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    assignee_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    created: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    ever_resolved: Mapped[int] = mapped_column(Integer, default=0)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    csat_n: Mapped[int] = mapped_column(Integer, default=0)
    csat_sum: Mapped[int] = mapped_column(Integer, default=0)
    csat_positive: Mapped[int] = mapped_column(Integer, default=0)
    breached: Mapped[int] = mapped_column(Integer, default=0)
    first_response_n: Mapped[int] = mapped_column(Integer, default=0)
    resolution_n: Mapped[int] = mapped_column(Integer, default=0)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settles_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)


class ReportDayCount(Base):
    """Tickets created per UTC day by product, module, version or category
    (``dimension``); kept by +1/-1 as tickets come, go or move."""

    __tablename__ = "report_day_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    dimension: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[str] = mapped_column(String(100), primary_key=True)
    created: Mapped[int] = mapped_column(Integer, default=0)


class QualityRubric(Base):
    """How supervisors score a conversation: weighted criteria, each scored
    0..``max_score``. ``criteria`` is a list of ``{"name", "weight",
    "max_score"}``; it is frozen once a conversation was scored with it."""

    __tablename__ = "quality_rubrics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    criteria: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QualityScore(Base):
    """One reviewer's score of one closed conversation (they may revise it).
    ``agent_id`` is the agent who had the conversation; ``percent`` is the
    weighted score (0-100) at the time of scoring."""

    __tablename__ = "quality_scores"
    __table_args__ = (
        UniqueConstraint("conversation_id", "reviewer_id", name="uq_quality_scores_reviewer"),
        Index("ix_quality_scores_agent", "agent_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    rubric_id: Mapped[int] = mapped_column(ForeignKey("quality_rubrics.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    scores: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    comment: Mapped[str] = mapped_column(Text, default="")
    percent: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- team: permissions, groups, limits -------------------------------------------------


class AgentGrant(Base):
    """A permission granted (``allowed``) or taken away (not ``allowed``) from
    one agent, over their role's defaults (``server/permissions.py``)."""

    __tablename__ = "agent_grants"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    permission: Mapped[str] = mapped_column(String(60), primary_key=True)
    allowed: Mapped[bool] = mapped_column(Boolean)
    granted_by: Mapped[str] = mapped_column(String(320), default="")
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AgentGroup(Base):
    """A skill group (a product line or a region). Its members serve the
    customers of its products; its supervisors manage its members."""

    __tablename__ = "agent_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="product")  # product | region | skill
    description: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupMember(Base):
    __tablename__ = "agent_group_members"
    __table_args__ = (Index("ix_agent_group_members_agent", "agent_id"),)

    group_id: Mapped[int] = mapped_column(
        ForeignKey("agent_groups.id", ondelete="CASCADE"), primary_key=True
    )
    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )


class GroupProduct(Base):
    """A product (as the host's identity token names it) a group serves."""

    __tablename__ = "agent_group_products"
    __table_args__ = (Index("ix_agent_group_products_product", "product"),)

    group_id: Mapped[int] = mapped_column(
        ForeignKey("agent_groups.id", ondelete="CASCADE"), primary_key=True
    )
    product: Mapped[str] = mapped_column(String(100), primary_key=True)


class AgentLimits(Base):
    """Limits a supervisor sets on one agent (none set: the defaults)."""

    __tablename__ = "agent_limits"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    max_chats: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- integration: API tokens, CRM attributes, webhooks ----------------------------------


class ApiToken(Base):
    """A token the ISV's systems (their CRM) call the service with. Only its
    SHA-256 is stored; ``prefix`` (the first characters) tells tokens apart
    in lists."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320), default="")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CustomerAttributes(Base):
    """What the ISV's CRM says about a customer (contract, service level,
    products owned, free-form ``extra``), shown to agents beside the chat."""

    __tablename__ = "customer_attributes"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    contract: Mapped[str | None] = mapped_column(String(200), nullable=True)
    service_level: Mapped[str | None] = mapped_column(String(100), nullable=True)
    products_owned: Mapped[list[str]] = mapped_column(JSON, default=list)
    extra: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100), default="")


class WebhookSubscription(Base):
    """An outgoing webhook: events POSTed to ``url``, signed with ``secret``
    (kept in clear, like identity keys: signing needs it)."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320), default="")


class WebhookDelivery(Base):
    """One event for one subscription: stored in the transaction that caused
    it, then sent (and retried) by the service's background dispatcher."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str] = mapped_column(String(36))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending|delivered|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str] = mapped_column(String(500), default="")


class WebhookAttempt(Base):
    """One try at sending a delivery: the answer's status or the error, and
    how long it took."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str] = mapped_column(String(500), default="")
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


# --- remote assist ------------------------------------------------------------------------


class AssistSession(Base):
    """One remote-assist session between an agent and a customer
    (``protocol.assist``). ``open_customer_id`` is the customer's id while the
    session is not final and NULL after: its unique constraint keeps a
    customer to one open session even under concurrent requests.
    ``max_mode`` is the most the customer granted during the session (for the
    audit record); the byte counts are written when the session ends."""

    __tablename__ = "assist_sessions"
    __table_args__ = (
        Index("ix_assist_sessions_agent_status", "agent_id", "status"),
        Index("ix_assist_sessions_customer_status", "customer_id", "status"),
        Index("ix_assist_sessions_status_expires", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default="requested")
    mode: Mapped[str] = mapped_column(String(10), default="view")
    requested_mode: Mapped[str] = mapped_column(String(10), default="view")
    max_mode: Mapped[str] = mapped_column(String(10), default="view")
    control_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    clipboard: Mapped[bool] = mapped_column(Boolean, default=False)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    open_customer_id: Mapped[int | None] = mapped_column(Integer, nullable=True, unique=True)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), nullable=True
    )
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), nullable=True
    )
    via: Mapped[str] = mapped_column(String(10), default="request")  # request | code
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    consent_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """The service expires an unanswered request at this time."""
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)
    bytes_to_agent: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_to_customer: Mapped[int] = mapped_column(BigInteger, default=0)


class AssistCode(Base):
    """A customer's one-time code (one at a time: a new one replaces the
    old). Only its HMAC is stored (``server.assist.codes``)."""

    __tablename__ = "assist_codes"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
