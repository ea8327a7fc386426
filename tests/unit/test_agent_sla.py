"""SLA bands of the console: which deadline counts, green / amber / red."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from client.agent.sla import WARN_BEFORE, first_response_pending, sla_state, split_duration

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Row:
    """Shaped like a queue row (TicketSummary): no first_responded_at."""

    status: str = "new"
    first_response_due: datetime | None = None
    resolution_due: datetime | None = None
    sla_breached: bool = False


@dataclass
class Full(Row):
    """Shaped like a whole Ticket."""

    first_responded_at: datetime | None = None


@pytest.mark.parametrize(
    ("left", "band"),
    [
        (timedelta(hours=3), "ok"),
        (WARN_BEFORE + timedelta(seconds=1), "ok"),
        (WARN_BEFORE - timedelta(seconds=1), "warn"),
        (timedelta(minutes=1), "warn"),
        (timedelta(0), "breached"),
        (-timedelta(minutes=5), "breached"),
    ],
)
def test_bands_follow_the_time_left(left: timedelta, band: str) -> None:
    row = Row(first_response_due=NOW + left, resolution_due=NOW + timedelta(days=2))
    state = sla_state(row, NOW)
    assert state.band == band
    assert state.which == "first_response"
    assert state.left == left


def test_answered_ticket_counts_the_resolution_deadline() -> None:
    answered = Full(
        status="open",
        first_response_due=NOW - timedelta(hours=1),
        resolution_due=NOW + timedelta(minutes=20),
        first_responded_at=NOW - timedelta(hours=2),
    )
    state = sla_state(answered, NOW)
    assert (state.which, state.band) == ("resolution", "warn")
    # The same times without an answer: the missed first response counts.
    unanswered = Full(
        status="open",
        first_response_due=answered.first_response_due,
        resolution_due=answered.resolution_due,
    )
    assert sla_state(unanswered, NOW).band == "breached"


def test_queue_rows_guess_the_first_response_from_the_status() -> None:
    assert first_response_pending(Row(status="new"))
    assert not first_response_pending(Row(status="open"))
    assert first_response_pending(Full(status="open"))
    row = Row(
        status="pending_customer",
        first_response_due=NOW - timedelta(hours=1),
        resolution_due=NOW + timedelta(hours=5),
    )
    assert sla_state(row, NOW).band == "ok"


def test_service_breach_flag_wins_and_finished_tickets_stop_the_clock() -> None:
    late_answer = Row(
        status="open",
        first_response_due=NOW + timedelta(hours=2),
        resolution_due=NOW + timedelta(hours=6),
        sla_breached=True,
    )
    state = sla_state(late_answer, NOW)
    assert state.band == "breached" and state.left is not None and state.left > timedelta(0)
    done = Row(status="resolved", resolution_due=NOW - timedelta(days=1))
    assert sla_state(done, NOW).band == "none" and sla_state(done, NOW).left is None
    assert sla_state(Row(status="closed", sla_breached=True), NOW).band == "breached"
    assert sla_state(Row(status="open"), NOW).band == "none"


def test_naive_times_are_taken_as_utc() -> None:
    naive_due = (NOW + timedelta(minutes=30)).replace(tzinfo=None)
    assert sla_state(Row(first_response_due=naive_due), NOW.replace(tzinfo=None)).band == "warn"


@pytest.mark.parametrize(
    ("delta", "parts"),
    [
        (timedelta(seconds=30), (0, 0, 1)),
        (timedelta(minutes=59, seconds=1), (0, 1, 0)),
        (timedelta(hours=3, minutes=20), (0, 3, 20)),
        (-timedelta(days=2, hours=1), (2, 1, 0)),
    ],
)
def test_split_duration_rounds_minutes_up(delta: timedelta, parts: tuple[int, int, int]) -> None:
    assert split_duration(delta) == parts
