"""Supervisor reports: ticket and chat metrics over a period, per agent and
overall; volumes by product, module, version and category; conversation
quality review (rubrics and scores).

How a year of a million tickets is summed in well under a second:

* Each ticket carries report columns derived when it is written (product,
  module and version from the host's context, whole seconds to first
  response and to resolution, a reopened flag). :func:`_before_flush` keeps
  them current for every ticket the ORM writes, wherever that happens.
* ``report_days`` holds the counters per UTC day of creation and assignee;
  the flush hooks take a changed ticket's old contribution out of its row
  and put the new one in, in the same transaction (upserts, no scans).
  ``report_day_counts`` counts tickets per day and product, module, version
  or category, and per UTC hour (+1/-1 on change).
* A report adds up the rollup rows of the whole UTC days inside its period
  and reads the tickets of the partial days at either end. Rows whose SLA
  breach count could still change with time alone (a deadline not reached
  when they were computed) are read from the tickets too: those are the last
  few days only (:func:`settle` recomputes the ones whose deadline passed).
  With a product, module, version or category filter everything is read
  from the tickets.
* Medians and 90th percentiles walk an index ``(assignee, seconds,
  created_at)`` in order with ``LIMIT 2 OFFSET k``; the counts that give
  ``k`` come from the counters above.

Breach is never re-implemented here: it is :func:`server.tickets.breached_clause`.
"""

from __future__ import annotations

import csv
import functools
import io
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from types import UnionType
from typing import Any, Union, get_args, get_origin
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import (
    Connection,
    Date,
    Engine,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    delete,
    event,
    func,
    null,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, UOWTransaction, attributes
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ColumnElement, True_, UnaryExpression

from protocol import reports as wire
from protocol.models import ErrorCode
from protocol.realtime import ConversationStatus
from protocol.tickets import TicketStatus
from server import models, permissions, tickets
from server.csvtext import safe_cell
from server.errors import ApiProblem
from server.permissions import Access

T = models.Ticket
R = models.ReportDay
D = models.ReportDayCount

DONE = (TicketStatus.resolved.value, TicketStatus.closed.value)
REOPEN_TO = tuple(s.value for s in tickets.OPEN_STATES)
DIMENSIONS = ("product", "module", "version", "category")
HOUR = "hour"
"""``report_day_counts`` also counts tickets per UTC hour ("00".."23"), for
volume over time in any time zone."""
_DIM_COLUMNS = {
    "product": T.product,
    "module": T.module,
    "version": T.version,
    "category": T.category,
}
_DIM_LIMITS = {"product": 100, "module": 100, "version": 50, "category": 100}

MAX_BUCKETS = 1000
MAX_PERIOD = timedelta(days=3700)

# Ticket attributes whose change alters its rollup row.
_COUNTED = (
    "status",
    "assignee_id",
    "created_at",
    "first_responded_at",
    "resolved_at",
    "csat_rating",
    "first_response_due",
    "resolution_due",
    "reopened",
)


# --- report columns and rollups, kept current at flush time ---------------------------


def seconds_between(start: datetime | None, end: datetime | None) -> int | None:
    """Whole seconds from ``start`` to ``end``, as stored."""
    if start is None or end is None:
        return None
    span = (end - start).total_seconds()
    # Half away from zero, like SQL's ROUND in :func:`rebuild`.
    return int(math.copysign(math.floor(abs(span) + 0.5), span))


def utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date()


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _context_value(context: dict[str, str] | None, key: str) -> str:
    value = (context or {}).get(key)
    return value.strip() if isinstance(value, str) else ""


def _describe(session: Session, t: models.Ticket) -> None:
    """Product, module and version of a new ticket: the host's context says,
    else the customer's record."""
    customer = session.get(models.Customer, t.requester_id) if t.requester_id else None
    product = _context_value(t.context, "product") or (customer.product if customer else "") or ""
    version = _context_value(t.context, "version")
    version = version or (customer.product_version if customer else "") or ""
    t.product = product[: _DIM_LIMITS["product"]]
    t.module = _context_value(t.context, "module")[: _DIM_LIMITS["module"]]
    t.version = version[: _DIM_LIMITS["version"]]
    t.category = t.category or ""


def _derive(t: models.Ticket) -> None:
    for attr, value in (
        ("first_response_s", seconds_between(t.created_at, t.first_responded_at)),
        ("resolution_s", seconds_between(t.created_at, t.resolved_at)),
    ):
        if getattr(t, attr) != value:
            setattr(t, attr, value)
    if t.reopened is None:
        t.reopened = False


def _changed(t: models.Ticket, names: Iterable[str]) -> bool:
    state = attributes.instance_state(t)
    return any(state.attrs[n].history.has_changes() for n in names)


def _previous(session: Session, t: models.Ticket, names: Sequence[str]) -> dict[str, Any]:
    """The values ``t`` had when loaded (what the database holds now)."""
    state = attributes.instance_state(t)
    out: dict[str, Any] = {}
    missing = False
    for n in names:
        hist = state.attrs[n].history
        if hist.deleted:
            out[n] = hist.deleted[0]
        elif hist.unchanged:
            out[n] = hist.unchanged[0]
        elif not hist.added:
            out[n] = getattr(t, n)
        else:  # set without having been loaded: the old value is only in the database
            missing = True
    if missing and t.id is not None:
        row = (
            session.connection()
            .execute(select(*(getattr(T, n) for n in names)).where(T.id == t.id))
            .one_or_none()
        )
        if row is not None:
            out = dict(zip(names, row, strict=True))
    return out


# What a ticket's rollup row needs of it.
_STATE = (*_COUNTED, "first_response_s", "resolution_s", *DIMENSIONS)


@dataclass
class Pending:
    """Changes a flush makes to the rollups, applied once it has written
    (:func:`apply_pending`). The ORM's flush hooks below and the tickets'
    bulk intake (``server.tickets.intake``) both collect into one."""

    deltas: dict[tuple[date, int], Counters] = field(default_factory=dict)
    waits: dict[tuple[date, int], datetime] = field(default_factory=dict)
    counts: Counter[tuple[date, str, str]] = field(default_factory=Counter)


def contribution(t: models.Ticket, at: datetime) -> tuple[Counters, datetime | None]:
    """What one ticket adds to its ``report_days`` row, as of ``at`` (the same
    sums as :func:`counter_columns`), and the last deadline at which its
    breach could still change by itself (None: settled)."""
    breached = tickets.is_breached(t, at)
    rating = t.csat_rating
    c = Counters(
        created=1,
        resolved=int(t.status in DONE),
        ever_resolved=int(t.resolved_at is not None or bool(t.reopened)),
        reopened=int(bool(t.reopened)),
        csat_n=int(rating is not None),
        csat_sum=rating or 0,
        csat_positive=int(rating is not None and rating >= 4),
        breached=int(breached),
        first_response_n=int(t.first_response_s is not None),
        resolution_n=int(t.resolution_s is not None),
    )
    wait = None
    if not breached:
        wait = _latest(
            t.first_response_due if t.first_responded_at is None else None,
            t.resolution_due if t.resolved_at is None else None,
        )
    return c, wait


def tally_ticket(pending: Pending, t: models.Ticket, sign: int, at: datetime) -> None:
    """Add (``sign`` 1) or take away (-1) what ``t`` contributes to the rollups."""
    if t.created_at is None:
        return
    key = (utc_day(t.created_at), t.assignee_id or 0)
    c, wait = contribution(t, at)
    delta = pending.deltas.setdefault(key, Counters())
    for f in COUNTER_NAMES:
        setattr(delta, f, getattr(delta, f) + sign * getattr(c, f))
    if sign > 0 and wait is not None:
        pending.waits[key] = _latest(pending.waits.get(key), wait) or wait
    utc = t.created_at.astimezone(UTC)
    for dim in DIMENSIONS:
        pending.counts[(utc.date(), dim, getattr(t, dim) or "")] += sign
    pending.counts[(utc.date(), HOUR, f"{utc.hour:02d}")] += sign


def _as_loaded(session: Session, t: models.Ticket) -> models.Ticket:
    """A detached copy of ``t`` as it was loaded (what the database holds)."""
    return models.Ticket(**_previous(session, t, _STATE))


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _ctx: UOWTransaction, _instances: object) -> None:
    """Derive the report columns of the tickets this flush writes and work out
    what their rollup rows gain and lose: the old state out, the new one in.

    A row's breach count is only used once every deadline its tickets had
    pending has passed and :func:`settle` recomputed it from the tickets; so
    taking a ticket's old contribution as of now is exact wherever it counts.
    """
    pending = Pending()
    at = tickets.now()
    with session.no_autoflush:
        for obj in list(session.new):
            if (
                isinstance(obj, models.TicketEvent)
                and obj.kind == "status"
                and obj.status_from == TicketStatus.resolved.value
                and obj.status_to in REOPEN_TO
            ):
                ticket = session.get(models.Ticket, obj.ticket_id)
                if ticket is not None and not ticket.reopened:
                    ticket.reopened = True
        for obj in list(session.new):
            if isinstance(obj, models.Ticket):
                if obj.created_at is None:
                    obj.created_at = tickets.now()
                _describe(session, obj)
                _derive(obj)
                tally_ticket(pending, obj, 1, at)
        for obj in list(session.dirty):
            if not isinstance(obj, models.Ticket) or not session.is_modified(obj):
                continue
            if not _changed(obj, (*_COUNTED, *DIMENSIONS)):
                continue
            tally_ticket(pending, _as_loaded(session, obj), -1, at)
            _derive(obj)
            tally_ticket(pending, obj, 1, at)
        for obj in list(session.deleted):
            if isinstance(obj, models.Ticket):
                tally_ticket(pending, _as_loaded(session, obj), -1, at)
    # One flush at a time per session; a failed flush leaves nothing behind
    # because the next one overwrites this.
    session.info["report_pending"] = pending


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _ctx: UOWTransaction) -> None:
    pending = session.info.pop("report_pending", None)
    if isinstance(pending, Pending):
        apply_pending(session.connection(), pending, tickets.now())


def apply_pending(conn: Connection, pending: Pending, at: datetime) -> None:
    """Write what ``pending`` collected to ``report_days`` and ``report_counts``."""
    # Sorted: concurrent transactions lock rows in the same order (PostgreSQL).
    for key in sorted(pending.deltas):
        _apply_delta(conn, key, pending.deltas[key], pending.waits.get(key), at)
    counts = [
        {"day": day, "dimension": dim, "value": value, "n": n}
        for (day, dim, value), n in sorted(pending.counts.items())
        if n
    ]
    if counts:
        conn.execute(_count_upsert(conn.dialect.name), counts)


# --- counters -------------------------------------------------------------------------


@dataclass
class Counters:
    created: int = 0
    resolved: int = 0
    ever_resolved: int = 0
    reopened: int = 0
    csat_n: int = 0
    csat_sum: int = 0
    csat_positive: int = 0
    breached: int = 0
    first_response_n: int = 0
    resolution_n: int = 0

    def add(self, other: Counters) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @classmethod
    def of(cls, row: Any) -> Counters:
        return cls(**{f.name: int(getattr(row, f.name) or 0) for f in fields(cls)})


COUNTER_NAMES = tuple(f.name for f in fields(Counters))


def _breached(at: datetime) -> ColumnElement[bool]:
    return tickets.breached_clause(at)


def _tally(cond: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def counter_columns(at: datetime) -> list[ColumnElement[Any]]:
    """The counters of a set of tickets, as SQL aggregates (breach as of ``at``)."""
    return [
        func.count().label("created"),
        _tally(T.status.in_(DONE)).label("resolved"),
        _tally(or_(T.resolved_at.is_not(None), T.reopened.is_(True))).label("ever_resolved"),
        _tally(T.reopened.is_(True)).label("reopened"),
        func.count(T.csat_rating).label("csat_n"),
        func.coalesce(func.sum(T.csat_rating), 0).label("csat_sum"),
        _tally(T.csat_rating >= 4).label("csat_positive"),
        _tally(_breached(at)).label("breached"),
        func.count(T.first_response_s).label("first_response_n"),
        func.count(T.resolution_s).label("resolution_n"),
    ]


def _settle_columns(at: datetime) -> list[ColumnElement[Any]]:
    """The latest deadline of a ticket not breached at ``at`` that could be
    breached later without anyone touching it (answer or resolution missing).
    Breach only ever goes from no to yes, so after that moment the counts
    hold until a ticket changes (and its row is recomputed)."""
    breached = _breached(at)
    first = case((breached, null()), (T.first_responded_at.is_(None), T.first_response_due))
    resolve = case((breached, null()), (T.resolved_at.is_(None), T.resolution_due))
    return [
        func.max(type_coerce(first, models.UTCDateTime())).label("first_wait"),
        func.max(type_coerce(resolve, models.UTCDateTime())).label("resolve_wait"),
    ]


def _latest(*values: datetime | None) -> datetime | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _assignee_is(key: int) -> ColumnElement[bool]:
    return T.assignee_id.is_(None) if key == 0 else T.assignee_id == key


def _insert(conn: Connection, table: Any, **values: Any) -> Any:
    """INSERT with ON CONFLICT, which both SQLite and PostgreSQL speak."""
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    return dialect.insert(table).values(**values)


def recompute_day(conn: Connection, day: date, key: int, at: datetime) -> None:
    """Recompute one ``report_days`` row from its tickets."""
    where = (R.day == day, R.assignee_key == key)
    stmt = _insert(conn, R, day=day, assignee_key=key, computed_at=at)
    # Claim the row first: on PostgreSQL a concurrent recompute of the same
    # row waits here, then reads what the other committed.
    conn.execute(stmt.on_conflict_do_nothing())
    conn.execute(select(R.day).where(*where).with_for_update())
    row = conn.execute(
        select(*counter_columns(at), *_settle_columns(at)).where(
            T.created_at >= day_start(day),
            T.created_at < day_start(day + timedelta(days=1)),
            _assignee_is(key),
        )
    ).one()
    if not row.created:
        conn.execute(delete(R).where(*where))
        return
    values: dict[str, Any] = {n: int(getattr(row, n) or 0) for n in COUNTER_NAMES}
    conn.execute(
        update(R)
        .where(*where)
        .values(**values, computed_at=at, settles_at=_latest(row.first_wait, row.resolve_wait))
    )


@functools.cache
def _delta_upsert(dialect_name: str) -> Any:
    """``report_days`` += a delta, the row made if missing; ``settles_at``
    only moves later. Built once: the flush hooks run it for every ticket."""
    dialect = sqlite if dialect_name == "sqlite" else postgresql
    stmt = dialect.insert(R).values(
        day=bindparam("day", type_=Date()),
        assignee_key=bindparam("assignee_key", type_=Integer()),
        computed_at=bindparam("computed_at", type_=models.UTCDateTime()),
        settles_at=bindparam("settles_at", type_=models.UTCDateTime()),
        **{f: bindparam(f, type_=Integer()) for f in COUNTER_NAMES},
    )
    new = stmt.excluded
    later = case(
        (new.settles_at.is_(None), R.settles_at),
        (R.settles_at.is_(None), new.settles_at),
        (new.settles_at > R.settles_at, new.settles_at),
        else_=R.settles_at,
    )
    return stmt.on_conflict_do_update(
        index_elements=[R.day, R.assignee_key],
        set_={
            **{f: getattr(R, f) + getattr(new, f) for f in COUNTER_NAMES},
            "computed_at": new.computed_at,
            "settles_at": later,
        },
    )


@functools.cache
def _count_upsert(dialect_name: str) -> Any:
    dialect = sqlite if dialect_name == "sqlite" else postgresql
    stmt = dialect.insert(D).values(
        day=bindparam("day", type_=Date()),
        dimension=bindparam("dimension", type_=String()),
        value=bindparam("value", type_=String()),
        created=bindparam("n", type_=Integer()),
    )
    return stmt.on_conflict_do_update(
        index_elements=[D.day, D.dimension, D.value],
        set_={"created": D.created + stmt.excluded.created},
    )


def _apply_delta(
    conn: Connection, key: tuple[date, int], delta: Counters, wait: datetime | None, at: datetime
) -> None:
    if not any(getattr(delta, f) for f in COUNTER_NAMES) and wait is None:
        return
    day, assignee = key
    conn.execute(
        _delta_upsert(conn.dialect.name),
        {
            "day": day,
            "assignee_key": assignee,
            "computed_at": at,
            "settles_at": wait,
            **{f: getattr(delta, f) for f in COUNTER_NAMES},
        },
    )
    if delta.created < 0:
        conn.execute(delete(R).where(R.day == day, R.assignee_key == assignee, R.created <= 0))


def _day_of(conn: Connection) -> ColumnElement[date]:
    """The UTC day of a ticket's creation, in SQL."""
    if conn.dialect.name == "sqlite":
        return type_coerce(func.date(T.created_at), Date())
    return cast(func.timezone("UTC", T.created_at), Date)


def _hour_of(conn: Connection) -> ColumnElement[str]:
    if conn.dialect.name == "sqlite":
        return func.strftime("%H", T.created_at)
    return func.to_char(func.timezone("UTC", T.created_at), "HH24")


def _seconds_sql(conn: Connection, start: Any, end: Any) -> ColumnElement[int]:
    if conn.dialect.name == "sqlite":
        span = (func.julianday(end) - func.julianday(start)) * 86400
    else:
        span = func.extract("epoch", end - start)
    return cast(func.round(span), Integer)


def rebuild(conn: Connection, at: datetime | None = None) -> None:
    """Recompute every report column and rollup from the tickets and their
    events (after a migration, a bulk import, or edits made behind the ORM's
    back)."""
    at = at or tickets.now()
    E = models.TicketEvent
    C = models.Customer
    reopened = (
        select(E.id)
        .where(
            E.ticket_id == T.id,
            E.kind == "status",
            E.status_from == TicketStatus.resolved.value,
            E.status_to.in_(REOPEN_TO),
        )
        .exists()
    )
    product = func.coalesce(
        func.nullif(func.trim(T.context["product"].as_string()), ""),
        select(C.product).where(C.id == T.requester_id).scalar_subquery(),
        "",
    )
    version = func.coalesce(
        func.nullif(func.trim(T.context["version"].as_string()), ""),
        select(C.product_version).where(C.id == T.requester_id).scalar_subquery(),
        "",
    )
    conn.execute(
        update(T).values(
            product=func.substr(product, 1, _DIM_LIMITS["product"]),
            module=func.substr(
                func.coalesce(func.trim(T.context["module"].as_string()), ""),
                1,
                _DIM_LIMITS["module"],
            ),
            version=func.substr(version, 1, _DIM_LIMITS["version"]),
            first_response_s=_seconds_sql(conn, T.created_at, T.first_responded_at),
            resolution_s=_seconds_sql(conn, T.created_at, T.resolved_at),
            reopened=reopened,
        )
    )
    conn.execute(delete(R))
    conn.execute(delete(D))
    day = _day_of(conn).label("day")
    rows = conn.execute(
        select(day, func.coalesce(T.assignee_id, 0).label("key"), *counter_columns(at))
        .add_columns(*_settle_columns(at))
        .group_by(day, T.assignee_id)
    ).all()
    batch = [
        {
            "day": r.day,
            "assignee_key": r.key,
            **{n: int(getattr(r, n) or 0) for n in COUNTER_NAMES},
            "computed_at": at,
            "settles_at": _latest(r.first_wait, r.resolve_wait),
        }
        for r in rows
    ]
    if batch:
        conn.execute(R.__table__.insert(), batch)  # type: ignore[attr-defined]
    for dim, col in (*_DIM_COLUMNS.items(), (HOUR, _hour_of(conn))):
        counted: Sequence[Any] = conn.execute(
            select(day, col.label("value"), func.count().label("n")).group_by(day, col)
        ).all()
        if counted:
            conn.execute(
                D.__table__.insert(),  # type: ignore[attr-defined]
                [
                    {"day": r.day, "dimension": dim, "value": r.value or "", "created": r.n}
                    for r in counted
                ],
            )


def settle(session: Session, at: datetime) -> int:
    """Recompute the rollup rows whose last open deadline has passed (their
    breach count may have grown since). Returns how many there were."""
    due = session.execute(
        select(R.day, R.assignee_key).where(R.settles_at.is_not(None), R.settles_at <= at)
    ).all()
    conn = session.connection()
    for day, key in due:
        recompute_day(conn, day, key, at)
    return len(due)


# --- periods --------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """The tickets a report covers, the agents whose conversations (and
    rows) it shows and the groups it lists: what a reader limited to their
    groups may see (:func:`scope_for`), narrowed by the group and agent
    filters (:func:`narrow`)."""

    tickets: ColumnElement[bool] = field(compare=False)
    agents: frozenset[int]
    groups: frozenset[int]

    def __and__(self, other: Scope) -> Scope:
        return Scope(
            tickets=and_(self.tickets, other.tickets),
            agents=self.agents & other.agents,
            groups=self.groups & other.groups,
        )


@dataclass(frozen=True)
class Filters:
    product: tuple[str, ...] = ()
    module: tuple[str, ...] = ()
    version: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    group: tuple[int, ...] = ()
    """Group ids asked for; :func:`narrow` turns them (and ``agent``) into
    ``scope``."""
    agent: tuple[int, ...] = ()
    scope: Scope | None = None
    """None: every ticket and conversation."""

    def __bool__(self) -> bool:
        """Whether tickets must be read (rollups count every ticket)."""
        return (
            self.scope is not None
            or bool(self.group or self.agent)
            or any(getattr(self, d) for d in DIMENSIONS)
        )

    @property
    def tickets_only(self) -> bool:
        """Chats have a product, but no module, version or category."""
        return bool(self.module or self.version or self.category)

    def clauses(self) -> list[ColumnElement[bool]]:
        if (self.group or self.agent) and self.scope is None:
            raise ValueError("group and agent filters need narrow() first")
        out: list[ColumnElement[bool]] = [
            _DIM_COLUMNS[d].in_(getattr(self, d)) for d in DIMENSIONS if getattr(self, d)
        ]
        if self.scope is not None:
            out.append(self.scope.tickets)
        return out

    def wire(self) -> wire.ReportFilters:
        return wire.ReportFilters(
            **{d: list(getattr(self, d)) for d in DIMENSIONS},
            group=list(self.group),
            agent=list(self.agent),
        )


@dataclass(frozen=True)
class Query:
    start: datetime
    end: datetime
    tz: ZoneInfo
    bucket: wire.Bucket = wire.Bucket.day
    filters: Filters = Filters()
    top: int = 10

    @property
    def previous(self) -> tuple[datetime, datetime]:
        return self.start - (self.end - self.start), self.start


def _bad(message: str) -> ApiProblem:
    return ApiProblem(422, ErrorCode.invalid_request, message)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError) as exc:
        raise _bad(f"unknown time zone {name!r} (use an IANA name such as Asia/Shanghai)") from exc


def make_query(
    start: datetime | None,
    end: datetime | None,
    tz_name: str = "UTC",
    bucket: wire.Bucket = wire.Bucket.day,
    filters: Filters | None = None,
    top: int = 10,
    now: datetime | None = None,
) -> Query:
    """A report query; naive times are wall-clock times in ``tz_name``. The
    default period is the 30 days up to now."""
    tz = zone(tz_name)

    def aware(v: datetime) -> datetime:
        return (v.replace(tzinfo=tz) if v.tzinfo is None else v).astimezone(UTC)

    end_ = aware(end) if end is not None else (now or tickets.now())
    start_ = aware(start) if start is not None else end_ - timedelta(days=30)
    if start_ >= end_:
        raise _bad("the period must end after it starts")
    if end_ - start_ > MAX_PERIOD:
        raise _bad("a report covers at most ten years")
    q = Query(start_, end_, tz, bucket, filters or Filters(), top)
    if len(buckets(q)) > MAX_BUCKETS:
        raise _bad(f"more than {MAX_BUCKETS} buckets: choose a longer bucket or shorter period")
    return q


def _next_boundary(local: datetime, bucket: wire.Bucket, tz: ZoneInfo) -> datetime:
    d = local.date()
    if bucket == wire.Bucket.day:
        nxt = d + timedelta(days=1)
    elif bucket == wire.Bucket.week:
        nxt = d + timedelta(days=7 - d.weekday())
    else:
        nxt = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return datetime.combine(nxt, time(0), tzinfo=tz)


def _label(local: datetime, bucket: wire.Bucket) -> str:
    if bucket == wire.Bucket.day:
        return local.date().isoformat()
    if bucket == wire.Bucket.week:
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{local.year}-{local.month:02d}"


def buckets(q: Query) -> list[tuple[str, datetime, datetime]]:
    """(label, start, end) in UTC, cut to the period."""
    out: list[tuple[str, datetime, datetime]] = []
    cursor = q.start
    while cursor < q.end and len(out) <= MAX_BUCKETS:
        local = cursor.astimezone(q.tz)
        nxt = min(_next_boundary(local, q.bucket, q.tz).astimezone(UTC), q.end)
        out.append((_label(local, q.bucket), cursor, nxt))
        cursor = nxt
    return out


@dataclass(frozen=True)
class _Split:
    """A period as whole UTC days (rollups) and the raw ranges around them."""

    days: tuple[date, date] | None
    raw: tuple[tuple[datetime, datetime], ...]


def _split(start: datetime, end: datetime, frontier: date | None = None) -> _Split:
    first = utc_day(start)
    if day_start(first) < start:
        first += timedelta(days=1)
    last = utc_day(end)  # exclusive
    if frontier is not None:
        last = min(last, max(frontier, first))
    if first >= last:
        return _Split(None, ((start, end),))
    raw = []
    if start < day_start(first):
        raw.append((start, day_start(first)))
    if day_start(last) < end:
        raw.append((day_start(last), end))
    return _Split((first, last), tuple(raw))


def _in(start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    return [T.created_at >= start, T.created_at < end]


# --- ticket metrics -------------------------------------------------------------------


def _frontier(db: Session) -> date | None:
    """The first day whose rollups may not hold (see ``ReportDay``)."""
    return db.scalar(select(func.min(R.day)).where(R.settles_at.is_not(None)))


def counters_by_agent(
    db: Session, start: datetime, end: datetime, filters: Filters, at: datetime
) -> dict[int, Counters]:
    """Counters of the tickets created in ``[start, end)`` per assignee key."""
    out: dict[int, Counters] = {}

    def merge(rows: Iterable[Any]) -> None:
        for r in rows:
            out.setdefault(int(r.key), Counters()).add(Counters.of(r))

    split = _Split(None, ((start, end),)) if filters else _split(start, end, _frontier(db))
    if split.days is not None:
        sums = [func.coalesce(func.sum(getattr(R, n)), 0).label(n) for n in COUNTER_NAMES]
        merge(
            db.execute(
                select(R.assignee_key.label("key"), *sums)
                .where(R.day >= split.days[0], R.day < split.days[1])
                .group_by(R.assignee_key)
            )
        )
    for lo, hi in split.raw:
        merge(
            db.execute(
                select(func.coalesce(T.assignee_id, 0).label("key"), *counter_columns(at))
                .where(*_in(lo, hi), *filters.clauses())
                .group_by(T.assignee_id)
            )
        )
    return out


def interpolate(lower: float, upper: float, frac: float) -> float:
    return lower + (upper - lower) * frac


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (``percentile_cont``)."""
    if not sorted_values:
        return None
    h = (len(sorted_values) - 1) * p
    i = math.floor(h)
    upper = sorted_values[min(i + 1, len(sorted_values) - 1)]
    return interpolate(sorted_values[i], upper, h - i)


class _Walker:
    """Percentiles by walking an index in value order. The statements are
    built once per report and run with parameters, so the per-agent walks
    cost SQLite's work and little else."""

    def __init__(self, db: Session, q: Query) -> None:
        self.db = db
        self.q = q
        self._stmts: dict[tuple[str, str, bool], Any] = {}
        self._values: dict[str, dict[int | None, list[int]]] | None = None

    def _filtered_values(self) -> dict[str, dict[int | None, list[int]]]:
        """With a filter, a walk would fetch a ticket row per index entry to
        test it; reading the period's matching rows once is far cheaper."""
        if self._values is None:
            out: dict[str, dict[int | None, list[int]]] = {
                "first_response_s": {},
                "resolution_s": {},
            }
            rows = self.db.execute(
                select(func.coalesce(T.assignee_id, 0), T.first_response_s, T.resolution_s).where(
                    *_in(self.q.start, self.q.end), *self.q.filters.clauses()
                )
            )
            for key, *seconds in rows:
                for column, v in zip(out, seconds, strict=True):
                    if v is not None:
                        out[column].setdefault(key, []).append(v)
                        out[column].setdefault(None, []).append(v)
            for per_key in out.values():
                for values in per_key.values():
                    values.sort()
            self._values = out
        return self._values

    def _stmt(self, column: str, who: str, descending: bool) -> Any:
        key = (column, who, descending)
        if key not in self._stmts:
            col = getattr(T, column)
            created: ColumnElement[datetime] = T.created_at.expression
            if self.db.get_bind().dialect.name == "sqlite":
                # Unary plus keeps SQLite (which has no statistics) off the
                # created_at indexes, so it walks (assignee, seconds,
                # created_at) in order and stops after offset + 2 entries
                # instead of sorting them all.
                created = UnaryExpression(
                    T.created_at.expression,
                    operator=operators.custom_op("+"),
                    type_=models.UTCDateTime(),
                )
            stmt = select(col).where(
                col.is_not(None), created >= self.q.start, created < self.q.end
            )
            stmt = stmt.where(*self.q.filters.clauses())
            if who == "agent":
                stmt = stmt.where(T.assignee_id == bindparam("agent"))
            elif who == "nobody":
                stmt = stmt.where(T.assignee_id.is_(None))
            order = col.desc() if descending else col
            stmt = stmt.order_by(order).limit(2).offset(bindparam("skip", type_=Integer))
            self._stmts[key] = stmt
        return self._stmts[key]

    def _pair(self, column: str, key: int | None, skip: int, descending: bool) -> list[float]:
        who = "all" if key is None else "nobody" if key == 0 else "agent"
        stmt = self._stmt(column, who, descending)
        return [float(v) for v in self.db.scalars(stmt, {"agent": key, "skip": skip})]

    def percentile(self, column: str, key: int | None, n: int, p: float) -> float | None:
        """The ``p`` percentile of ``column`` over the ``n`` tickets with a
        value, reading about min(p, 1 - p) * n index entries."""
        if n <= 0:
            return None
        if self.q.filters:
            return percentile(self._filtered_values()[column].get(key, []), p)
        h = (n - 1) * p
        i = math.floor(h)
        frac = h - i
        if p <= 0.5:
            pair = self._pair(column, key, i, descending=False)
            if not pair:
                return None
            return interpolate(pair[0], pair[-1], frac) if frac else pair[0]
        # From the top: x[i] is the (n-1-i)th largest, x[i+1] the one before.
        if i >= n - 1:
            pair = self._pair(column, key, 0, descending=True)
            return pair[0] if pair else None
        pair = self._pair(column, key, n - 2 - i, descending=True)
        if len(pair) < 2:
            return pair[0] if pair else None
        upper, lower = pair
        return interpolate(lower, upper, frac)

    def durations(self, column: str, key: int | None, n: int) -> wire.DurationStats:
        return wire.DurationStats(
            count=n,
            median_s=self.percentile(column, key, n, 0.5),
            p90_s=self.percentile(column, key, n, 0.9),
        )


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _counter_metrics(c: Counters) -> dict[str, Any]:
    return {
        "created": c.created,
        "resolved": c.resolved,
        "resolution_rate": _ratio(c.resolved, c.created),
        "ever_resolved": c.ever_resolved,
        "reopened": c.reopened,
        "reopen_rate": _ratio(c.reopened, c.ever_resolved),
        "csat": wire.CsatStats(
            count=c.csat_n,
            average=_ratio(c.csat_sum, c.csat_n),
            positive_rate=_ratio(c.csat_positive, c.csat_n),
        ),
        "breached": c.breached,
        "breach_rate": _ratio(c.breached, c.created),
    }


def _metrics(walker: _Walker, key: int | None, c: Counters) -> dict[str, Any]:
    return {
        "created": c.created,
        "resolved": c.resolved,
        "resolution_rate": _ratio(c.resolved, c.created),
        "ever_resolved": c.ever_resolved,
        "reopened": c.reopened,
        "reopen_rate": _ratio(c.reopened, c.ever_resolved),
        "first_response": walker.durations("first_response_s", key, c.first_response_n),
        "resolution_time": walker.durations("resolution_s", key, c.resolution_n),
        "csat": wire.CsatStats(
            count=c.csat_n,
            average=_ratio(c.csat_sum, c.csat_n),
            positive_rate=_ratio(c.csat_positive, c.csat_n),
        ),
        "breached": c.breached,
        "breach_rate": _ratio(c.breached, c.created),
    }


# --- volumes --------------------------------------------------------------------------


def _hour_floor(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _hour_counts(
    db: Session, start: datetime, end: datetime, filters: Filters
) -> dict[datetime, int]:
    """Tickets created per whole UTC hour inside ``[start, end)``."""
    first = _hour_floor(start)
    if first < start:
        first += timedelta(hours=1)
    last = _hour_floor(end)
    out: dict[datetime, int] = {}
    if first >= last:
        return out
    if filters:
        conn = db.connection()
        day, hour = _day_of(conn), _hour_of(conn)
        rows: Iterable[Any] = db.execute(
            select(day, hour, func.count())
            .where(*_in(first, last), *filters.clauses())
            .group_by(day, hour)
        )
    else:
        rows = db.execute(
            select(D.day, D.value, D.created).where(
                D.dimension == HOUR, D.day >= first.date(), D.day <= last.date()
            )
        )
    for d, h, n in rows:
        at = datetime.combine(d, time(int(h)), tzinfo=UTC)
        if first <= at < last:
            out[at] = out.get(at, 0) + int(n)
    return out


def _volume(db: Session, q: Query) -> list[wire.VolumePoint]:
    """Tickets per bucket: whole UTC hours from the hour counts (so any time
    zone with whole-hour offsets needs no ticket rows), partial hours at the
    edges from the tickets."""
    spans = buckets(q)
    hours = _hour_counts(db, q.start, q.end, q.filters)
    clauses = q.filters.clauses()
    out = []
    for label, lo, hi in spans:
        first = _hour_floor(lo)
        if first < lo:
            first += timedelta(hours=1)
        last = max(first, _hour_floor(hi))
        n, at = 0, first
        while at < last:
            n += hours.get(at, 0)
            at += timedelta(hours=1)
        for a, b in ((lo, min(first, hi)), (max(last, lo), hi)):
            if a < b:
                n += db.scalar(select(func.count()).select_from(T).where(*_in(a, b), *clauses)) or 0
        out.append(wire.VolumePoint(label=label, start=lo, end=hi, created=n))
    return out


def _by_dimension(
    db: Session, start: datetime, end: datetime, filters: Filters
) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = {d: Counter() for d in DIMENSIONS}
    split = _Split(None, ((start, end),)) if filters else _split(start, end)
    if split.days is not None:
        for dim, value, n in db.execute(
            select(D.dimension, D.value, func.sum(D.created))
            .where(D.day >= split.days[0], D.day < split.days[1], D.dimension.in_(DIMENSIONS))
            .group_by(D.dimension, D.value)
        ):
            out[dim][value] += int(n)
    cols = [_DIM_COLUMNS[d] for d in DIMENSIONS]
    for lo, hi in split.raw:
        # One pass over the tickets for all four dimensions.
        for *values, n in db.execute(
            select(*cols, func.count()).where(*_in(lo, hi), *filters.clauses()).group_by(*cols)
        ):
            for dim, value in zip(DIMENSIONS, values, strict=True):
                out[dim][value or ""] += int(n)
    return out


def _top(current: Counter[str], previous: Counter[str], n: int) -> list[wire.TopItem]:
    ranked = sorted(((v, c) for v, c in current.items() if c > 0), key=lambda vc: (-vc[1], vc[0]))
    return [
        wire.TopItem(
            value=v,
            count=c,
            previous=previous.get(v, 0),
            change=c - previous.get(v, 0),
            change_rate=_ratio(c - previous.get(v, 0), previous.get(v, 0)),
        )
        for v, c in ranked[:n]
    ]


# --- chats and quality ----------------------------------------------------------------


def _conversations(q: Query) -> list[ColumnElement[bool]]:
    C = models.Conversation
    out = [C.created_at >= q.start, C.created_at < q.end]
    if q.filters.product:
        out.append(C.product.in_(q.filters.product))
    if q.filters.scope is not None:
        out.append(C.assignee_id.in_(q.filters.scope.agents))
    return out


def _chats(db: Session, q: Query) -> tuple[wire.ChatMetrics, dict[int, int]]:
    C = models.Conversation
    M = models.ChatMessage
    where = _conversations(q)
    total, with_agent = db.execute(
        select(func.count(), func.count(C.assigned_at)).where(*where)
    ).one()
    per_agent = {
        int(a or 0): int(n)
        for a, n in db.execute(
            select(C.assignee_id, func.count())
            .where(*where, C.assignee_id.is_not(None))
            .group_by(C.assignee_id)
        )
    }
    first = (
        select(
            func.coalesce(C.queued_at, C.created_at).label("asked"),
            func.min(M.created_at).label("answered"),
        )
        .join(M, M.conversation_id == C.id)
        .where(*where, M.sender_kind == "agent", M.internal.is_(False))
        .group_by(C.id, C.queued_at, C.created_at)
    )
    waits = sorted(
        max(0, seconds_between(asked, answered) or 0) for asked, answered in db.execute(first)
    )
    stats = wire.DurationStats(
        count=len(waits), median_s=percentile(waits, 0.5), p90_s=percentile(waits, 0.9)
    )
    return wire.ChatMetrics(
        conversations=total, with_agent=with_agent, first_response=stats
    ), per_agent


def _quality_by_agent(db: Session, q: Query) -> dict[int, tuple[int, float]]:
    S = models.QualityScore
    C = models.Conversation
    rows = db.execute(
        select(S.agent_id, func.count(), func.avg(S.percent))
        .join(C, C.id == S.conversation_id)
        .where(*_conversations(q))
        .group_by(S.agent_id)
    )
    return {int(a): (int(n), float(avg)) for a, n, avg in rows}


# --- the dashboard --------------------------------------------------------------------


def _groups(
    db: Session,
    q: Query,
    per_key: dict[int, Counters],
    chat_counts: dict[int, int],
    quality: dict[int, tuple[int, float]],
) -> list[wire.GroupReport]:
    """Each group's members' numbers added up; medians and p90 from the
    period's tickets of its members (read, not walked: several assignees)."""
    G, M = models.AgentGroup, models.GroupMember
    stmt = select(G.id, G.name, M.agent_id).outerjoin(M, M.group_id == G.id)
    if q.filters.scope is not None:
        stmt = stmt.where(G.id.in_(q.filters.scope.groups))
    groups: dict[int, tuple[str, set[int]]] = {}
    for gid, name, agent_id in db.execute(stmt.order_by(G.name, G.id)):
        members = groups.setdefault(gid, (name, set()))[1]
        if agent_id is not None:
            members.add(agent_id)
    out = []
    for gid, (name, members) in groups.items():
        c = Counters()
        for m in members:
            c.add(per_key.get(m, Counters()))
        values: dict[str, list[int]] = {"first_response_s": [], "resolution_s": []}
        if members and (c.first_response_n or c.resolution_n):
            for fr, rs in db.execute(
                select(T.first_response_s, T.resolution_s).where(
                    T.assignee_id.in_(members), *_in(q.start, q.end), *q.filters.clauses()
                )
            ):
                if fr is not None:
                    values["first_response_s"].append(fr)
                if rs is not None:
                    values["resolution_s"].append(rs)
        durations = {}
        for column, name_ in (
            ("first_response_s", "first_response"),
            ("resolution_s", "resolution_time"),
        ):
            vs = sorted(values[column])
            durations[name_] = wire.DurationStats(
                count=len(vs), median_s=percentile(vs, 0.5), p90_s=percentile(vs, 0.9)
            )
        scored = [quality[m] for m in members if m in quality]
        n = sum(k for k, _ in scored)
        out.append(
            wire.GroupReport(
                group_id=gid,
                group_name=name,
                members=len(members),
                chats=sum(chat_counts.get(m, 0) for m in members),
                quality_count=n,
                quality_average=sum(k * avg for k, avg in scored) / n if n else None,
                **{
                    **_counter_metrics(c),
                    **durations,
                },
            )
        )
    return out


@dataclass
class _Totals:
    """The half of a dashboard that does not depend on agents."""

    overall: wire.TicketMetrics | None
    volume: list[wire.VolumePoint]
    now_dims: dict[str, Counter[str]]
    prev_dims: dict[str, Counter[str]]


def _totals(db: Session, q: Query, overall: Counters) -> _Totals:
    return _Totals(
        # Filtered, the overall percentiles come from the rows the agents'
        # ones were read from (see _Walker); unfiltered, from their own walks.
        overall=None
        if q.filters
        else wire.TicketMetrics(**_metrics(_Walker(db, q), None, overall)),
        volume=_volume(db, q),
        now_dims=_by_dimension(db, q.start, q.end, q.filters),
        prev_dims=_by_dimension(db, *q.previous, q.filters),
    )


def _totals_apart(engine: Engine, q: Query, overall: Counters) -> _Totals:
    with Session(engine) as s:
        return _totals(s, q, overall)


# Report halves computed alongside the request's own thread (bounded, so
# many reports at once queue rather than crowd the machine).
_HELPERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="reports")


def dashboard(db: Session, q: Query, at: datetime | None = None) -> wire.Dashboard:
    """Every metric of the period, overall and per agent. Call :func:`settle`
    first (in a writing transaction) so that rollups are used where they can be.

    The overall walks, volumes and breakdowns run on a second connection in
    a helper thread while this one walks the per-agent percentiles (SQLite
    lets the GIL go while it works): close to half the time on two cores. The
    two connections may see a ticket or two apart if tickets arrive meanwhile.
    """
    at = at or tickets.now()
    per_key = counters_by_agent(db, q.start, q.end, q.filters, at)
    overall = Counters()
    for c in per_key.values():
        overall.add(c)
    bind = db.get_bind()
    helper: Future[_Totals] | None = None
    if isinstance(bind, Engine):
        helper = _HELPERS.submit(_totals_apart, bind, q, overall)
    chats: wire.ChatMetrics | None = None
    chat_counts: dict[int, int] = {}
    quality: dict[int, tuple[int, float]] = {}
    if not q.filters.tickets_only:
        chats, chat_counts = _chats(db, q)
        quality = _quality_by_agent(db, q)
    keys = set(per_key) | set(chat_counts) | set(quality)
    names = dict(
        db.execute(
            select(models.Agent.id, models.Agent.name).where(models.Agent.id.in_(keys - {0}))
        ).all()
    )
    walker = _Walker(db, q)
    agents = []
    for key in keys:
        n, avg = quality.get(key, (0, None))
        agents.append(
            wire.AgentReport(
                agent_id=key or None,
                agent_name=names.get(key, "") if key else "",
                chats=chat_counts.get(key, 0),
                quality_count=n,
                quality_average=avg,
                **_metrics(walker, key, per_key.get(key, Counters())),
            )
        )
    # Agents by name, the unassigned last.
    agents.sort(key=lambda a: (a.agent_id is None, a.agent_name.casefold(), a.agent_id or 0))
    groups = _groups(db, q, per_key, chat_counts, quality)
    totals = helper.result() if helper is not None else _totals(db, q, overall)
    overall_metrics = totals.overall or wire.TicketMetrics(**_metrics(walker, None, overall))
    prev_start, prev_end = q.previous
    return wire.Dashboard(
        period=wire.ReportPeriod(
            start=q.start,
            end=q.end,
            previous_start=prev_start,
            previous_end=prev_end,
            timezone=q.tz.key,
            bucket=q.bucket,
        ),
        filters=q.filters.wire(),
        generated_at=at,
        overall=overall_metrics,
        agents=agents,
        groups=groups,
        volume=totals.volume,
        by_product=_top(totals.now_dims["product"], totals.prev_dims["product"], q.top),
        by_module=_top(totals.now_dims["module"], totals.prev_dims["module"], q.top),
        by_version=_top(totals.now_dims["version"], totals.prev_dims["version"], q.top),
        by_category=_top(totals.now_dims["category"], totals.prev_dims["category"], q.top),
        chats=chats,
    )


# --- CSV ------------------------------------------------------------------------------


def flatten(model: BaseModel) -> dict[str, Any]:
    """``{"first_response": {"median_s": 3}}`` -> ``{"first_response_median_s": 3}``."""
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}_{k}" if prefix else k, v)
        else:
            out[prefix] = value

    walk("", model.model_dump(mode="json"))
    return out


def table_rows(board: wire.Dashboard, name: wire.ReportTable) -> list[dict[str, Any]]:
    T_ = wire.ReportTable
    if name == T_.summary:
        return [flatten(board.overall)]
    if name == T_.agents:
        return [flatten(a) for a in board.agents]
    if name == T_.groups:
        return [flatten(g) for g in board.groups]
    if name == T_.volume:
        return [flatten(v) for v in board.volume]
    items = {
        T_.products: board.by_product,
        T_.modules: board.by_module,
        T_.versions: board.by_version,
        T_.categories: board.by_category,
    }[name]
    return [flatten(i) for i in items]


_EMPTY_COLUMNS: dict[wire.ReportTable, type[BaseModel]] = {
    wire.ReportTable.summary: wire.TicketMetrics,
    wire.ReportTable.agents: wire.AgentReport,
    wire.ReportTable.groups: wire.GroupReport,
    wire.ReportTable.volume: wire.VolumePoint,
    wire.ReportTable.products: wire.TopItem,
    wire.ReportTable.modules: wire.TopItem,
    wire.ReportTable.versions: wire.TopItem,
    wire.ReportTable.categories: wire.TopItem,
    wire.ReportTable.scores: wire.QualityScore,
}


def _columns_of(model: type[BaseModel], prefix: str = "") -> list[str]:
    out: list[str] = []
    for name, info in model.model_fields.items():
        sub = info.annotation
        if get_origin(sub) in (Union, UnionType):  # X | None
            inner = [a for a in get_args(sub) if a is not type(None)]
            sub = inner[0] if len(inner) == 1 else None
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            out.extend(_columns_of(sub, f"{prefix}{name}_"))
        else:
            out.append(f"{prefix}{name}")
    return out


def columns(name: wire.ReportTable) -> list[str]:
    return _columns_of(_EMPTY_COLUMNS[name])


def to_csv(header: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    """UTF-8 text with a byte-order mark (spreadsheets then read it as UTF-8)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(row.get(c)) for c in header])
    return "\ufeff" + buf.getvalue()


# --- conversation quality review ------------------------------------------------------


def rubric_out(db: Session, r: models.QualityRubric) -> wire.Rubric:
    scored = db.scalar(
        select(func.count())
        .select_from(models.QualityScore)
        .where(models.QualityScore.rubric_id == r.id)
    )
    return wire.Rubric(
        id=r.id,
        name=r.name,
        description=r.description,
        criteria=[wire.Criterion.model_validate(c) for c in r.criteria],
        active=r.active,
        scored=scored or 0,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


def scope_for(db: Session, access: Access) -> Scope | None:
    """None for readers of every ticket; else the tickets ``access`` may read
    (``server.permissions.ticket_clause``) and its groups' agents."""
    if access.has("tickets.read.all"):
        return None
    clause = permissions.ticket_clause(access)
    if isinstance(clause, True_):
        return None
    agents = permissions.group_members(db, access.group_ids) | {access.agent_id}
    return Scope(tickets=clause, agents=frozenset(agents), groups=access.group_ids)


def narrow(db: Session, filters: Filters, reader: Scope | None) -> Filters:
    """``filters`` with the scope the report covers: the reader's own
    (:func:`scope_for`) narrowed by the group and agent filters.

    A group keeps the tickets of ``server.permissions.group_ticket_clause``
    (assigned to a member, or asked by a customer of one of the group's
    products: the rule of ``tickets.read.group``), the conversations of its
    members, its members' rows and the group itself. An agent keeps the
    tickets and conversations assigned to them, their row and the groups they
    are in. Several groups (or agents) add up; groups and agents together
    keep what both keep.

    Unknown ids are refused with 422; a reader limited to their groups asking
    for a group not theirs, or an agent outside their groups, with 403.
    """
    if not filters.group and not filters.agent:
        return filters if reader is None else replace(filters, scope=reader)
    for label, model, wanted in (
        ("group", models.AgentGroup, filters.group),
        ("agent", models.Agent, filters.agent),
    ):
        found = set(db.scalars(select(model.id).where(model.id.in_(wanted))))
        missing = [str(i) for i in wanted if i not in found]
        if missing:
            raise _bad(f"no {label} {', '.join(missing)}")
    if reader is not None:
        for label, wanted, allowed in (
            ("group", filters.group, reader.groups),
            ("agent", filters.agent, reader.agents),
        ):
            outside = [str(i) for i in wanted if i not in allowed]
            if outside:
                raise ApiProblem(
                    403,
                    ErrorCode.forbidden,
                    f"{label} {', '.join(outside)} is outside your groups",
                )
    scope = reader
    if filters.group:
        by_group = Scope(
            tickets=permissions.group_ticket_clause(filters.group),
            agents=frozenset(permissions.group_members(db, filters.group)),
            groups=frozenset(filters.group),
        )
        scope = by_group if scope is None else scope & by_group
    if filters.agent:
        M = models.GroupMember
        theirs = db.scalars(select(M.group_id).where(M.agent_id.in_(filters.agent)))
        by_agent = Scope(
            tickets=T.assignee_id.in_(filters.agent),
            agents=frozenset(filters.agent),
            groups=frozenset(theirs),
        )
        scope = by_agent if scope is None else scope & by_agent
    return replace(filters, scope=scope)


def get_rubric(db: Session, rubric_id: int) -> models.QualityRubric:
    r = db.get(models.QualityRubric, rubric_id)
    if r is None:
        raise ApiProblem(404, ErrorCode.not_found, f"no rubric {rubric_id}")
    return r


def create_rubric(db: Session, body: wire.RubricIn, by: models.Agent) -> models.QualityRubric:
    at = tickets.now()
    r = models.QualityRubric(
        name=body.name.strip(),
        description=body.description,
        criteria=[c.model_dump() for c in body.criteria],
        active=body.active,
        created_by=by.id,
        created_at=at,
        updated_at=at,
    )
    db.add(r)
    db.flush()
    return r


def update_rubric(db: Session, r: models.QualityRubric, body: wire.RubricIn) -> None:
    criteria = [c.model_dump() for c in body.criteria]
    if criteria != r.criteria and rubric_out(db, r).scored:
        raise ApiProblem(
            409,
            ErrorCode.conflict,
            "conversations were scored with this rubric: its criteria stay; make a new rubric",
        )
    r.name = body.name.strip()
    r.description = body.description
    r.criteria = criteria
    r.active = body.active
    r.updated_at = tickets.now()


def delete_rubric(db: Session, r: models.QualityRubric) -> None:
    if rubric_out(db, r).scored:
        raise ApiProblem(
            409, ErrorCode.conflict, "conversations were scored with this rubric: deactivate it"
        )
    db.delete(r)


def weighted_percent(criteria: Sequence[wire.Criterion], scores: dict[str, int]) -> float:
    total = sum(c.weight for c in criteria)
    got = sum(c.weight * scores[c.name] / c.max_score for c in criteria)
    return 100.0 * got / total


def score_conversation(
    db: Session,
    conversation_id: int,
    body: wire.ScoreIn,
    reviewer: models.Agent,
    scope: Scope | None = None,
) -> tuple[models.QualityScore, bool]:
    """Store the reviewer's score of a closed conversation (or revise theirs);
    a reviewer limited to their groups scores their members' conversations."""
    conv = db.get(models.Conversation, conversation_id)
    if conv is None:
        raise ApiProblem(404, ErrorCode.not_found, f"no conversation {conversation_id}")
    if scope is not None and conv.assignee_id not in scope.agents:
        raise ApiProblem(403, ErrorCode.forbidden, "the conversation is outside your groups")
    if conv.status != ConversationStatus.closed:
        raise ApiProblem(409, ErrorCode.conflict, "only a closed conversation can be scored")
    if conv.assignee_id is None:
        raise ApiProblem(409, ErrorCode.conflict, "no agent took part in this conversation")
    if conv.assignee_id == reviewer.id:
        raise ApiProblem(403, ErrorCode.forbidden, "nobody scores their own conversation")
    rubric = get_rubric(db, body.rubric_id)
    if not rubric.active:
        raise _bad(f"rubric {rubric.id} is not active")
    criteria = [wire.Criterion.model_validate(c) for c in rubric.criteria]
    by_name = {c.name.casefold(): c for c in criteria}
    scores: dict[str, int] = {}
    for s in body.scores:
        c = by_name.get(s.criterion.strip().casefold())
        if c is None:
            raise _bad(f"the rubric has no criterion {s.criterion!r}")
        if c.name in scores:
            raise _bad(f"{c.name!r} is scored twice")
        if s.score > c.max_score:
            raise _bad(f"{c.name!r} is scored 0 to {c.max_score}")
        scores[c.name] = s.score
    missing = [c.name for c in criteria if c.name not in scores]
    if missing:
        raise _bad("score every criterion; missing: " + ", ".join(missing))
    at = tickets.now()
    row = db.scalar(
        select(models.QualityScore).where(
            models.QualityScore.conversation_id == conv.id,
            models.QualityScore.reviewer_id == reviewer.id,
        )
    )
    created = row is None
    if row is None:
        row = models.QualityScore(conversation_id=conv.id, reviewer_id=reviewer.id, created_at=at)
        db.add(row)
    row.rubric_id = rubric.id
    row.agent_id = conv.assignee_id
    row.scores = scores
    row.comment = body.comment
    row.percent = weighted_percent(criteria, scores)
    row.updated_at = at
    db.flush()
    return row, created


def score_out(db: Session, s: models.QualityScore) -> wire.QualityScore:
    return scores_out(db, [s])[0]


def scores_out(db: Session, rows: Sequence[models.QualityScore]) -> list[wire.QualityScore]:
    agent_ids = {s.reviewer_id for s in rows} | {s.agent_id for s in rows}
    names = dict(
        db.execute(
            select(models.Agent.id, models.Agent.name).where(models.Agent.id.in_(agent_ids))
        ).all()
    )
    rubrics = dict(
        db.execute(
            select(models.QualityRubric.id, models.QualityRubric.name).where(
                models.QualityRubric.id.in_({s.rubric_id for s in rows})
            )
        ).all()
    )
    started = dict(
        db.execute(
            select(models.Conversation.id, models.Conversation.created_at).where(
                models.Conversation.id.in_({s.conversation_id for s in rows})
            )
        ).all()
    )
    return [
        wire.QualityScore(
            id=s.id,
            conversation_id=s.conversation_id,
            rubric_id=s.rubric_id,
            rubric_name=rubrics.get(s.rubric_id, ""),
            reviewer_id=s.reviewer_id,
            reviewer_name=names.get(s.reviewer_id, ""),
            agent_id=s.agent_id,
            agent_name=names.get(s.agent_id, ""),
            scores=[wire.CriterionScore(criterion=k, score=v) for k, v in s.scores.items()],
            comment=s.comment,
            percent=s.percent,
            conversation_started_at=started[s.conversation_id],
            created_at=s.created_at,
            updated_at=s.updated_at,
        )
        for s in rows
    ]


def score_query(
    *,
    conversation_id: int | None = None,
    agent_id: int | None = None,
    reviewer_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    product: Sequence[str] = (),
    scope: Scope | None = None,
) -> Any:
    S = models.QualityScore
    C = models.Conversation
    stmt = select(S).join(C, C.id == S.conversation_id)
    if conversation_id is not None:
        stmt = stmt.where(S.conversation_id == conversation_id)
    if agent_id is not None:
        stmt = stmt.where(S.agent_id == agent_id)
    if reviewer_id is not None:
        stmt = stmt.where(S.reviewer_id == reviewer_id)
    if start is not None:
        stmt = stmt.where(C.created_at >= start)
    if end is not None:
        stmt = stmt.where(C.created_at < end)
    if product:
        stmt = stmt.where(C.product.in_(product))
    if scope is not None:
        stmt = stmt.where(S.agent_id.in_(scope.agents))
    return stmt


def iter_scores(db: Session, q: Query) -> Iterator[dict[str, Any]]:
    """The scores of conversations started in the period, for CSV."""
    stmt = score_query(start=q.start, end=q.end, product=q.filters.product, scope=q.filters.scope)
    rows = db.scalars(stmt.order_by(models.QualityScore.id)).all()
    for s in scores_out(db, rows):
        flat = flatten(s)
        flat["scores"] = "; ".join(f"{x.criterion}={x.score}" for x in s.scores)
        yield flat
