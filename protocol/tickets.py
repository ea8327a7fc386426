"""Tickets, comments, attachments and satisfaction: REST bodies, version 1.

Idempotency: every create carries a client-made ``client_key`` (a UUID the
client's outbox generates once and keeps across retries). Sending the same
key twice stores once; the second answer is the first one's result.

Priority follows the ITSM matrix of urgency × impact (:func:`priority_for`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from protocol.models import Agent, Customer

CLIENT_KEY = r"^[A-Za-z0-9_-]{8,64}$"

DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_TICKET_BYTES = 50 * 1024 * 1024


class TicketStatus(StrEnum):
    new = "new"
    open = "open"
    pending_customer = "pending_customer"
    resolved = "resolved"
    closed = "closed"


class Level(StrEnum):
    high = "high"
    medium = "medium"
    low = "low"


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"
    P5 = "P5"


_RANK = {Level.high: 0, Level.medium: 1, Level.low: 2}


def priority_for(urgency: Level, impact: Level) -> Priority:
    """ITSM priority matrix: high/high is P1, low/low is P5."""
    return Priority(f"P{_RANK[urgency] + _RANK[impact] + 1}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AttachmentInfo(_Model):
    id: int
    filename: str
    size: int
    content_type: str
    sha256: str
    created_at: datetime


class TicketCreate(_Model):
    client_key: str = Field(pattern=CLIENT_KEY)
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=50_000)
    category: str = Field(default="", max_length=100)
    urgency: Level = Level.medium
    impact: Level = Level.medium
    context: dict[str, str] = Field(default_factory=dict, max_length=50)
    attachment_ids: list[int] = Field(default_factory=list, max_length=50)


class CommentCreate(_Model):
    client_key: str = Field(pattern=CLIENT_KEY)
    body: str = Field(default="", max_length=50_000)
    attachment_ids: list[int] = Field(default_factory=list, max_length=50)
    internal: bool = False
    """Agents only: an internal note customers never see."""


class CsatIn(_Model):
    rating: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=5_000)


class Csat(_Model):
    rating: int
    comment: str
    created_at: datetime


class StatusChange(_Model):
    status: TicketStatus
    note: str = Field(default="", max_length=5_000)


class AssignRequest(_Model):
    agent_id: int | None = None
    auto: bool = False
    """Assign to the least-loaded active agent instead of ``agent_id``."""


EventKind = Literal["created", "comment", "note", "status", "assigned", "csat"]


class TicketEvent(_Model):
    id: int
    kind: EventKind
    author_type: Literal["customer", "agent", "system"]
    author_name: str
    body: str = ""
    status_from: TicketStatus | None = None
    status_to: TicketStatus | None = None
    attachments: list[AttachmentInfo] = Field(default_factory=list)
    created_at: datetime


class TicketSummary(_Model):
    id: int
    number: int
    subject: str
    category: str
    priority: Priority
    status: TicketStatus
    requester_name: str | None = None
    assignee_name: str | None = None
    created_at: datetime
    updated_at: datetime
    first_response_due: datetime | None = None
    resolution_due: datetime | None = None
    sla_breached: bool = False
    unread: bool = False
    """For the customer: something happened since they last opened it."""


class Ticket(_Model):
    id: int
    number: int
    subject: str
    body: str
    category: str
    urgency: Level
    impact: Level
    priority: Priority
    status: TicketStatus
    context: dict[str, str]
    requester: Customer
    assignee: Agent | None = None
    created_at: datetime
    updated_at: datetime
    first_responded_at: datetime | None = None
    first_response_due: datetime | None = None
    resolution_due: datetime | None = None
    resolved_at: datetime | None = None
    sla_breached: bool = False
    csat: Csat | None = None
    attachments: list[AttachmentInfo] = Field(default_factory=list)
    events: list[TicketEvent] = Field(default_factory=list)


class TicketList(_Model):
    tickets: list[TicketSummary]
    total: int
    page: int
    per_page: int


class SlaRule(_Model):
    tier: Literal["normal", "vip", "svip"]
    priority: Priority
    first_response_minutes: int = Field(ge=1)
    resolution_minutes: int = Field(ge=1)


class SlaTable(_Model):
    rules: list[SlaRule]
