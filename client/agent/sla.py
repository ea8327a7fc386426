"""SLA state of a ticket at a given moment: which deadline counts, how long
is left, and the colour band (green more than an hour, amber less, red late).

Pure functions of the ticket's due times and the clock, so the queue can
recompute every row from data it already holds on each tick of one timer,
without asking the service anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

Band = Literal["ok", "warn", "breached", "none"]

WARN_BEFORE = timedelta(hours=1)
"""Less than this left before the deadline: amber."""

OPEN_STATES = frozenset({"new", "open", "pending_customer"})


class HasSla(Protocol):
    """What a TicketSummary and a Ticket have in common for SLA purposes."""

    @property
    def status(self) -> str: ...
    @property
    def first_response_due(self) -> datetime | None: ...
    @property
    def resolution_due(self) -> datetime | None: ...
    @property
    def sla_breached(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class SlaState:
    band: Band
    due: datetime | None
    """The deadline that counts now (None: no running deadline)."""
    left: timedelta | None
    """Time left until ``due`` (negative when late)."""
    which: Literal["first_response", "resolution", ""]


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def first_response_pending(ticket: HasSla) -> bool:
    """Whether nobody has answered the customer yet.

    A full Ticket says so with ``first_responded_at``; a queue row does not
    carry that field, and there a ticket still ``new`` is the one an agent has
    not answered (a public reply moves it to ``open``).
    """
    if hasattr(ticket, "first_responded_at"):
        return getattr(ticket, "first_responded_at", None) is None
    return ticket.status == "new"


def sla_state(ticket: HasSla, now: datetime | None = None) -> SlaState:
    """The SLA band of ``ticket`` at ``now`` (default: the current time)."""
    now = _aware(now) or datetime.now(UTC)
    if ticket.status not in OPEN_STATES:
        band: Band = "breached" if ticket.sla_breached else "none"
        return SlaState(band, None, None, "")
    due: datetime | None = None
    which: Literal["first_response", "resolution", ""] = ""
    first = _aware(ticket.first_response_due)
    resolution = _aware(ticket.resolution_due)
    if first is not None and first_response_pending(ticket):
        due, which = first, "first_response"
    if resolution is not None and (due is None or resolution < due):
        due, which = resolution, "resolution"
    if due is None:
        return SlaState("breached" if ticket.sla_breached else "none", None, None, "")
    left = due - now
    if ticket.sla_breached or left <= timedelta(0):
        return SlaState("breached", due, left, which)
    return SlaState("warn" if left < WARN_BEFORE else "ok", due, left, which)


def split_duration(delta: timedelta) -> tuple[int, int, int]:
    """``(days, hours, minutes)`` of ``abs(delta)``, minutes rounded up so a
    deadline 30 s away still reads "1 min"."""
    total = int(abs(delta).total_seconds())
    minutes = (total + 59) // 60
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    return days, hours, minutes
