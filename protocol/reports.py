"""Supervisor reports and conversation quality review: REST bodies, version 1.

Ticket metrics describe the tickets *created* in the period (a cohort): how
many of them are resolved or closed now, how fast they were answered and
resolved, how they were rated, how many breached their SLA (as of the
moment the report is made). Durations are seconds; rates are fractions
(0.25 is 25 %) and ``None`` when there is nothing to divide by.

Percentiles interpolate linearly between the two nearest values (what
``percentile_cont`` in SQL and ``numpy.percentile`` do): the median of
60, 120, 300, 600 seconds is 210.

A reader whose ticket scope is their groups (``tickets.read.group``
without ``tickets.read.all``) gets the same report over the tickets they may
read, and the conversations of their groups' members. The ``group`` and
``agent`` filters narrow every part of a report (figures, charts, tables,
chats) the same way; see :class:`ReportFilters`.

Periods are half-open, ``[start, end)``; bucket boundaries (day, ISO week
from Monday, calendar month) are midnights in the report's time zone, and
the first and last buckets are cut to the period.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Bucket(StrEnum):
    day = "day"
    week = "week"
    month = "month"


class ReportTable(StrEnum):
    """The tables a dashboard is made of; each exports as CSV."""

    summary = "summary"
    agents = "agents"
    groups = "groups"
    volume = "volume"
    products = "products"
    modules = "modules"
    versions = "versions"
    categories = "categories"
    scores = "scores"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DurationStats(_Model):
    count: int
    """Tickets with a value (answered, resolved)."""
    median_s: float | None = None
    p90_s: float | None = None


class CsatStats(_Model):
    count: int
    average: float | None = None
    positive_rate: float | None = None
    """Share of ratings that are 4 or 5."""


class TicketMetrics(_Model):
    created: int
    resolved: int
    """Resolved or closed now."""
    resolution_rate: float | None = None
    ever_resolved: int
    """Resolved at some point (now or before a reopen): the reopen rate's base."""
    reopened: int
    """Went from resolved back to an open state at least once."""
    reopen_rate: float | None = None
    first_response: DurationStats
    resolution_time: DurationStats
    csat: CsatStats
    breached: int
    """Past an SLA deadline (first response or resolution) under the rules
    the ticket queue uses."""
    breach_rate: float | None = None


class AgentReport(TicketMetrics):
    agent_id: int | None = None
    """None: tickets nobody is assigned to."""
    agent_name: str = ""
    chats: int = 0
    """Conversations started in the period that this agent has or had."""
    quality_count: int = 0
    quality_average: float | None = None
    """Average review score (0-100) of those conversations."""


class GroupReport(TicketMetrics):
    """The tickets the group's members have (a member's tickets count in each
    of their groups); members as they are now."""

    group_id: int
    group_name: str
    members: int
    chats: int = 0
    quality_count: int = 0
    quality_average: float | None = None


class VolumePoint(_Model):
    label: str
    """The bucket in the report's time zone: 2025-03-07, 2025-W10, 2025-03."""
    start: datetime
    end: datetime
    created: int


class TopItem(_Model):
    value: str
    """The product, module, version or category; "" when the ticket had none."""
    count: int
    previous: int
    """The same in the previous period of the same length."""
    change: int
    change_rate: float | None = None
    """(count - previous) / previous; None when previous is 0."""


class ChatMetrics(_Model):
    conversations: int
    with_agent: int
    first_response: DurationStats
    """From joining the queue (or starting, if never queued) to the first
    agent message the customer saw."""


def _empty(values: list[int]) -> bool:
    return not values


class ReportFilters(_Model):
    product: list[str] = Field(default_factory=list)
    module: list[str] = Field(default_factory=list)
    version: list[str] = Field(default_factory=list)
    category: list[str] = Field(default_factory=list)
    group: list[int] = Field(default_factory=list, exclude_if=_empty)
    """Group ids: the group's tickets (assigned to a member, or asked by a
    customer of one of its products), its members' conversations and rows.
    Left out of the JSON when empty, so clients that predate it still read
    unfiltered reports."""
    agent: list[int] = Field(default_factory=list, exclude_if=_empty)
    """Agent ids: the tickets and conversations assigned to them."""


class ReportPeriod(_Model):
    start: datetime
    end: datetime
    previous_start: datetime
    previous_end: datetime
    timezone: str
    bucket: Bucket


class Dashboard(_Model):
    period: ReportPeriod
    filters: ReportFilters
    generated_at: datetime
    overall: TicketMetrics
    agents: list[AgentReport]
    groups: list[GroupReport]
    volume: list[VolumePoint]
    by_product: list[TopItem]
    by_module: list[TopItem]
    by_version: list[TopItem]
    by_category: list[TopItem]
    chats: ChatMetrics | None = None
    """None when a module, version or category filter is set: chats have none."""


# --- conversation quality review ------------------------------------------------------


class Criterion(_Model):
    name: str = Field(min_length=1, max_length=100)
    weight: float = Field(default=1.0, gt=0, le=100)
    max_score: int = Field(default=5, ge=1, le=100)

    @field_validator("name")
    @classmethod
    def _strip(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("a criterion needs a name")
        return v


class RubricIn(_Model):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5_000)
    criteria: list[Criterion] = Field(min_length=1, max_length=30)
    active: bool = True

    @field_validator("criteria")
    @classmethod
    def _unique(cls, v: list[Criterion]) -> list[Criterion]:
        names = [c.name.casefold() for c in v]
        if len(set(names)) != len(names):
            raise ValueError("criterion names must differ")
        return v


class Rubric(_Model):
    id: int
    name: str
    description: str
    criteria: list[Criterion]
    active: bool
    scored: int
    """Conversations scored with it; its criteria no longer change once > 0."""
    created_at: datetime
    updated_at: datetime


class RubricList(_Model):
    rubrics: list[Rubric]


class CriterionScore(_Model):
    criterion: str = Field(min_length=1, max_length=100)
    score: int = Field(ge=0)


class ScoreIn(_Model):
    rubric_id: int
    scores: list[CriterionScore] = Field(min_length=1, max_length=30)
    """One per criterion of the rubric, each 0..its max_score."""
    comment: str = Field(default="", max_length=10_000)


class QualityScore(_Model):
    id: int
    conversation_id: int
    rubric_id: int
    rubric_name: str
    reviewer_id: int
    reviewer_name: str
    agent_id: int
    agent_name: str
    scores: list[CriterionScore]
    comment: str
    percent: float
    """Weighted score, 0-100: sum(weight * score / max_score) / sum(weight)."""
    conversation_started_at: datetime
    created_at: datetime
    updated_at: datetime


class QualityScoreList(_Model):
    scores: list[QualityScore]
    total: int
    page: int
    per_page: int
