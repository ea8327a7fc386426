"""Report arithmetic against a plain-Python reference over random histories:
rollups kept by the flush hooks equal a rebuild, and the dashboard (rollups,
raw edges, index walks) equals metrics computed ticket by ticket with
``is_breached`` and numpy's percentiles. Also: buckets across DST, query
validation, CSV cells, and the migration's backfill."""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import sqlalchemy as sa
from alembic import command

from protocol.reports import Bucket
from protocol.tickets import TicketStatus
from server import models, reports, tickets
from server.csvtext import safe_cell
from server.db import Database, alembic_config, sqlite_url
from server.errors import ApiProblem
from tests.databases import BACKENDS, database_url

REPO = Path(__file__).resolve().parents[2]

PRODUCTS = ["LedgerPro", "PayrollCloud", "TaxDesk"]
MODULES = ["Invoices", "Reports", "Import", ""]
VERSIONS = ["6.0", "6.1", "7.0"]
CATEGORIES = ["billing", "bug", "login", ""]
ZONES = ["UTC", "Asia/Shanghai", "America/New_York", "Asia/Kolkata", "Australia/Adelaide"]


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database: SQLite, and PostgreSQL when a test cluster is given."""
    with database_url(request.param, tmp_path) as url:
        database = Database(url)
        try:
            database.upgrade()
            yield database
        finally:
            database.dispose()


def _seed(db: Database, n: int, seed: int) -> datetime:
    """Random tickets over the last 60 days, written through the ORM (so the
    flush hooks keep the rollups). Some recent ones have deadlines still to
    come; some were reopened."""
    rnd = random.Random(seed)
    now = tickets.now()
    with db.session() as s:
        customers = [
            models.Customer(external_id=f"c{i}", product="TaxDesk", product_version="2025.1")
            for i in range(5)
        ]
        agents = [
            models.Agent(email=f"a{i}@x.example", name=f"Agent {i}", password_hash="x")
            for i in range(3)
        ]
        s.add_all([*customers, *agents])
        s.flush()
        for i in range(n):
            created = now - timedelta(seconds=rnd.randrange(3600, 60 * 86400))
            first = created + timedelta(seconds=rnd.randrange(60, 2 * 86400))
            resolved = first + timedelta(seconds=rnd.randrange(60, 4 * 86400))
            status = rnd.choice(list(TicketStatus))
            answered = rnd.random() < 0.8 and first < now
            done = status in (TicketStatus.resolved, TicketStatus.closed) and resolved < now
            if status in (TicketStatus.resolved, TicketStatus.closed) and not done:
                status = TicketStatus.open
            context = {}
            if rnd.random() < 0.9:  # else: the customer's product and version
                context = {
                    "product": rnd.choice(PRODUCTS),
                    "module": rnd.choice(MODULES),
                    "version": rnd.choice(VERSIONS),
                }
            t = models.Ticket(
                client_key=f"k{i}",
                requester_id=rnd.choice(customers).id,
                assignee_id=rnd.choice([*(a.id for a in agents), None]),
                subject="s",
                category=rnd.choice(CATEGORIES),
                urgency="medium",
                impact="medium",
                priority="P3",
                status=status.value,
                context=context,
                created_at=created,
                updated_at=created,
                first_responded_at=first if answered else None,
                first_response_due=created + timedelta(seconds=rnd.randrange(600, 3 * 86400)),
                resolution_due=created + timedelta(seconds=rnd.randrange(3600, 10 * 86400)),
                resolved_at=resolved if done else None,
                closed_at=resolved if status == TicketStatus.closed else None,
                csat_rating=rnd.randint(1, 5) if done and rnd.random() < 0.5 else None,
            )
            s.add(t)
            s.flush()
            if done and rnd.random() < 0.2:
                s.add_all(
                    [
                        models.TicketEvent(
                            ticket_id=t.id,
                            kind="status",
                            author_type="customer",
                            status_from="resolved",
                            status_to=rnd.choice(["open", "pending_customer"]),
                            created_at=resolved,
                        ),
                        models.TicketEvent(
                            ticket_id=t.id,
                            kind="status",
                            author_type="agent",
                            status_from="open",
                            status_to="resolved",
                            created_at=resolved,
                        ),
                    ]
                )
            s.flush()
    return now


Snapshot = tuple[dict[tuple[date, int], dict[str, Any]], list[tuple[Any, ...]]]


def _snapshot(db: Database) -> Snapshot:
    with db.engine.connect() as c:
        days = c.execute(sa.select(models.ReportDay)).mappings().all()
        counts = c.execute(
            sa.select(models.ReportDayCount.__table__)
            .where(models.ReportDayCount.created != 0)
            .order_by(
                models.ReportDayCount.day,
                models.ReportDayCount.dimension,
                models.ReportDayCount.value,
            )
        ).all()
    rows = {(r["day"], r["assignee_key"]): dict(r) for r in days if r["created"]}
    return rows, [tuple(r) for r in counts]


def _same_rollups(kept: Snapshot, rebuilt: Snapshot) -> None:
    """Counters equal; a kept row's ``settles_at`` is never earlier than the
    rebuilt one's (it only moves later between recomputes), and breach
    counts agree wherever the rebuilt row is settled."""
    assert kept[1] == rebuilt[1]
    assert set(kept[0]) == set(rebuilt[0])
    for key, want in rebuilt[0].items():
        got = kept[0][key]
        for name in reports.COUNTER_NAMES:
            if name != "breached":
                assert got[name] == want[name], (key, name)
        if want["settles_at"] is None:
            assert got["breached"] == want["breached"], key
        else:
            assert got["settles_at"] is not None and got["settles_at"] >= want["settles_at"]


def _rebuild(db: Database, at: datetime) -> None:
    with db.engine.begin() as c:
        reports.rebuild(c, at)


def _expected_dims(t: models.Ticket, customers: dict[int, models.Customer]) -> dict[str, str]:
    c = customers[t.requester_id]
    return {
        "product": t.context.get("product") or c.product or "",
        "module": t.context.get("module", ""),
        "version": t.context.get("version") or c.product_version or "",
        "category": t.category,
    }


def _reference(
    db: Database, q: reports.Query, at: datetime
) -> tuple[dict[int | None, dict[str, Any]], Counter[tuple[str, str]], Counter[tuple[str, str]]]:
    """Metrics ticket by ticket, with no SQL beyond loading them."""
    with db.session() as s:
        all_tickets = s.scalars(sa.select(models.Ticket)).all()
        customers = {c.id: c for c in s.scalars(sa.select(models.Customer))}
        reopened = set(
            s.scalars(
                sa.select(models.TicketEvent.ticket_id).where(
                    models.TicketEvent.status_from == "resolved",
                    models.TicketEvent.status_to.in_(["new", "open", "pending_customer"]),
                )
            )
        )
    f = q.filters

    def chosen(t: models.Ticket) -> bool:
        dims = _expected_dims(t, customers)
        return all(not getattr(f, d) or dims[d] in getattr(f, d) for d in reports.DIMENSIONS)

    groups: dict[int | None, list[models.Ticket]] = {}
    now_dims: Counter[tuple[str, str]] = Counter()
    prev_dims: Counter[tuple[str, str]] = Counter()
    prev_start, prev_end = q.previous
    for t in all_tickets:
        if not chosen(t):
            continue
        dims = _expected_dims(t, customers)
        if q.start <= t.created_at < q.end:
            groups.setdefault(t.assignee_id, []).append(t)
            now_dims.update(dims.items())
        elif prev_start <= t.created_at < prev_end:
            prev_dims.update(dims.items())
    groups[0] = [t for ts in list(groups.values()) for t in ts]  # 0: everyone

    def pct(values: list[int], p: float) -> float | None:
        return float(np.percentile(values, p * 100)) if values else None

    out: dict[int | None, dict[str, Any]] = {}
    for key, ts in groups.items():
        done = [t for t in ts if t.status in ("resolved", "closed")]
        ever = [t for t in ts if t.resolved_at is not None or t.id in reopened]
        rated = [t.csat_rating for t in ts if t.csat_rating is not None]
        fr = [reports.seconds_between(t.created_at, t.first_responded_at) for t in ts]
        rs = [reports.seconds_between(t.created_at, t.resolved_at) for t in ts]
        frs = [v for v in fr if v is not None]
        rss = [v for v in rs if v is not None]
        out[key] = {
            "created": len(ts),
            "resolved": len(done),
            "ever_resolved": len(ever),
            "reopened": sum(1 for t in ts if t.id in reopened),
            "breached": sum(1 for t in ts if tickets.is_breached(t, at)),
            "csat": (len(rated), sum(rated), sum(1 for r in rated if r >= 4)),
            "first_response": (len(frs), pct(frs, 0.5), pct(frs, 0.9)),
            "resolution_time": (len(rss), pct(rss, 0.5), pct(rss, 0.9)),
            "volume": [t.created_at for t in ts],
        }
    return out, now_dims, prev_dims


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) < 1e-6


def _check(db: Database, q: reports.Query, at: datetime) -> None:
    with db.session() as s:
        reports.settle(s, at)
    with db.session() as s:
        board = reports.dashboard(s, q, at)
    ref, now_dims, prev_dims = _reference(db, q, at)
    rows: dict[int | None, Any] = {0: board.overall}
    rows.update({a.agent_id: a for a in board.agents})
    assert set(rows) == set(ref) | {0}
    for key, want in ref.items():
        got = rows[key]
        assert got.created == want["created"], key
        assert (got.resolved, got.ever_resolved, got.reopened) == (
            want["resolved"],
            want["ever_resolved"],
            want["reopened"],
        ), key
        assert got.breached == want["breached"], key
        n, total, positive = want["csat"]
        assert got.csat.count == n
        assert _close(got.csat.average, total / n if n else None)
        assert _close(got.csat.positive_rate, positive / n if n else None)
        for name in ("first_response", "resolution_time"):
            stats = getattr(got, name)
            count, median, p90 = want[name]
            assert stats.count == count, (key, name)
            assert _close(stats.median_s, median), (key, name, stats, want[name])
            assert _close(stats.p90_s, p90), (key, name, stats, want[name])
    # Buckets: contiguous, cut to the period, starting at local midnights.
    assert board.volume[0].start == q.start and board.volume[-1].end == q.end
    for a, b in zip(board.volume, board.volume[1:], strict=False):
        assert a.end == b.start
        local = b.start.astimezone(q.tz)
        assert (local.hour, local.minute) == (0, 0)
        if q.bucket == Bucket.week:
            assert local.weekday() == 0
        if q.bucket == Bucket.month:
            assert local.day == 1
    created = ref.get(0, {"volume": []})["volume"]
    assert [v.created for v in board.volume] == [
        sum(1 for c in created if v.start <= c < v.end) for v in board.volume
    ]
    for dim, items in (
        ("product", board.by_product),
        ("module", board.by_module),
        ("version", board.by_version),
        ("category", board.by_category),
    ):
        want_now = {v: n for (d, v), n in now_dims.items() if d == dim}
        ranked = sorted(want_now.items(), key=lambda vn: (-vn[1], vn[0]))[: q.top]
        assert [(i.value, i.count) for i in items] == ranked, dim
        for i in items:
            assert i.previous == prev_dims.get((dim, i.value), 0)
            assert i.change == i.count - i.previous


def test_hooks_keep_rollups_equal_to_a_rebuild(db: Database) -> None:
    _seed(db, 300, seed=1)
    kept = _snapshot(db)
    assert kept[0], "rollups were written"
    # Move tickets between days and agents, reopen, rate, delete.
    with db.session() as s:
        ts = s.scalars(sa.select(models.Ticket).order_by(models.Ticket.id).limit(40)).all()
        agent_ids = s.scalars(sa.select(models.Agent.id)).all()
        for i, t in enumerate(ts):
            if i % 4 == 0:
                t.created_at -= timedelta(days=3, hours=5)
            elif i % 4 == 1:
                t.assignee_id = agent_ids[i % len(agent_ids)] if t.assignee_id is None else None
            elif i % 4 == 2:
                t.context = {**t.context}
                t.category = "moved"
            else:
                s.delete(t)
        s.flush()
        # Attributes never loaded before being set: their old values come
        # from the database.
        s.expire_all()
        last = s.scalars(sa.select(models.Ticket).order_by(models.Ticket.id.desc())).first()
        assert last is not None
        s.expire(last)
        last.assignee_id = agent_ids[-1]
        last.created_at = tickets.now() - timedelta(days=40)
    kept = _snapshot(db)
    _rebuild(db, tickets.now())
    _same_rollups(kept, _snapshot(db))


@pytest.mark.parametrize("seed", [2, 3])
def test_dashboard_equals_a_ticket_by_ticket_reference(db: Database, seed: int) -> None:
    now = _seed(db, 400, seed=seed)
    rnd = random.Random(seed)
    for _ in range(6):
        tz = ZoneInfo(rnd.choice(ZONES))
        start = now - timedelta(days=rnd.uniform(5, 45))
        end = min(now + timedelta(hours=1), start + timedelta(days=rnd.uniform(0.3, 40)))
        q = reports.make_query(
            start, end, tz.key, rnd.choice(list(Bucket)), top=rnd.choice([2, 10])
        )
        _check(db, q, tickets.now())
    # Whole UTC days, where only rollups and the recent days are read.
    start = datetime.combine(now.date() - timedelta(days=30), datetime.min.time(), UTC)
    _check(db, reports.make_query(start, start + timedelta(days=29)), tickets.now())
    # Filters read the tickets themselves.
    for filters in (
        reports.Filters(product=("LedgerPro",)),
        reports.Filters(module=("Invoices", ""), category=("bug",)),
        reports.Filters(version=("2025.1", "7.0")),
    ):
        q = reports.make_query(now - timedelta(days=50), now, "Asia/Shanghai", Bucket.week, filters)
        _check(db, q, tickets.now())


def test_breaches_that_come_with_time_are_counted(db: Database) -> None:
    now = _seed(db, 200, seed=4)
    with db.session() as s:
        pending = s.scalar(
            sa.select(sa.func.count())
            .select_from(models.ReportDay)
            .where(models.ReportDay.settles_at.is_not(None))
        )
    assert pending, "some rows wait on deadlines still to come"
    later = now + timedelta(days=12)
    q = reports.make_query(now - timedelta(days=60), now)
    _check(db, q, later)  # settles, then counts as of twelve days on
    with db.session() as s:
        assert reports.settle(s, later) == 0
        left = s.scalar(
            sa.select(sa.func.count())
            .select_from(models.ReportDay)
            .where(models.ReportDay.settles_at <= later)
        )
    assert left == 0


def test_percentile_matches_numpy() -> None:
    rnd = random.Random(5)
    for n in (1, 2, 3, 10, 11, 57):
        values = sorted(rnd.randrange(10_000) for _ in range(n))
        for p in (0.5, 0.9):
            assert reports.percentile(values, p) == pytest.approx(np.percentile(values, p * 100))
    assert reports.percentile([], 0.5) is None
    assert reports.percentile([60, 120, 300, 600], 0.5) == 210


def test_buckets_follow_local_midnights_across_dst() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    q = reports.make_query(
        datetime(2025, 3, 29, tzinfo=berlin), datetime(2025, 4, 1, tzinfo=berlin), "Europe/Berlin"
    )
    spans = reports.buckets(q)
    assert [label for label, _, _ in spans] == ["2025-03-29", "2025-03-30", "2025-03-31"]
    assert [(b - a).total_seconds() / 3600 for _, a, b in spans] == [24, 23, 24]
    # Naive times are wall-clock times in the report's zone.
    naive = reports.make_query(datetime(2025, 3, 29), datetime(2025, 4, 1), "Europe/Berlin")
    assert (naive.start, naive.end) == (q.start, q.end)
    weeks = reports.buckets(
        reports.make_query(datetime(2025, 12, 24), datetime(2026, 1, 14), "UTC", Bucket.week)
    )
    assert [label for label, _, _ in weeks] == ["2025-W52", "2026-W01", "2026-W02", "2026-W03"]
    assert weeks[1][1] == datetime(2025, 12, 29, tzinfo=UTC)
    months = reports.buckets(
        reports.make_query(datetime(2025, 11, 15), datetime(2026, 2, 1), "UTC", Bucket.month)
    )
    assert [label for label, _, _ in months] == ["2025-11", "2025-12", "2026-01"]
    assert months[1][1] == datetime(2025, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((datetime(2025, 1, 2), datetime(2025, 1, 1)), "end after"),
        ((datetime(2025, 1, 1), datetime(2025, 1, 1)), "end after"),
        ((datetime(2000, 1, 1), datetime(2025, 1, 1)), "ten years"),
        ((datetime(2020, 1, 1), datetime(2025, 1, 1)), "1000 buckets"),
    ],
)
def test_bad_periods_are_refused(args: tuple[datetime, datetime], message: str) -> None:
    with pytest.raises(ApiProblem) as err:
        reports.make_query(*args)
    assert err.value.status == 422 and message in str(err.value.message)
    with pytest.raises(ApiProblem, match="time zone"):
        reports.make_query(None, None, "Not/AZone")
    q = reports.make_query(None, None, now=datetime(2025, 6, 1, tzinfo=UTC))
    assert (q.start, q.end) == (datetime(2025, 5, 2, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC))


def test_csv_cells_never_run_as_formulas() -> None:
    assert safe_cell("=1+2") == "'=1+2"
    for text in ("+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(text) == "'" + text
    assert safe_cell(-1) == "-1" and safe_cell(-0.5) == "-0.5"
    assert safe_cell(None) == "" and safe_cell("LedgerPro") == "LedgerPro"
    text = reports.to_csv(["a", "b"], [{"a": "=x", "b": "中文"}])
    assert text.startswith("\ufeffa,b\r\n") and "'=x,中文" in text


def test_migration_backfills_existing_tickets(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path))
    cfg = alembic_config(str(db.engine.url))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005")
    created = "2025-03-03 01:00:00.000000"
    with db.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO customers (id, external_id, tier, product, product_version, "
            "created_at, updated_at) VALUES (1, 'c', 'normal', 'TaxDesk', '2025.1', ?, ?)",
            (created, created),
        )
        for tid, context, status, first, resolved in (
            (
                1,
                '{"product": "LedgerPro", "module": "Invoices", "version": "6.1"}',
                "resolved",
                "2025-03-03 01:10:00.000000",
                "2025-03-03 03:00:00.000000",
            ),
            (2, "{}", "open", None, None),
        ):
            conn.exec_driver_sql(
                "INSERT INTO tickets (id, client_key, requester_id, subject, body, category, "
                "urgency, impact, priority, status, context, created_at, updated_at, "
                "first_responded_at, first_response_due, resolution_due, resolved_at) VALUES "
                "(?, ?, 1, 's', '', 'bug', 'medium', 'medium', 'P3', ?, ?, ?, ?, ?, "
                "'2025-03-03 02:00:00.000000', '2025-03-04 01:00:00.000000', ?)",
                (tid, f"k{tid}", status, context, created, created, first, resolved),
            )
        conn.exec_driver_sql(
            "INSERT INTO ticket_events (ticket_id, kind, author_type, author_name, body, "
            "internal, status_from, status_to, created_at) VALUES "
            "(1, 'status', 'customer', '', '', 0, 'resolved', 'open', ?)",
            (created,),
        )
    db.upgrade()
    with db.session() as s:
        one, two = s.scalars(sa.select(models.Ticket).order_by(models.Ticket.id)).all()
        assert (one.product, one.module, one.version) == ("LedgerPro", "Invoices", "6.1")
        assert (one.first_response_s, one.resolution_s, one.reopened) == (600, 7200, True)
        assert (two.product, two.module, two.version) == ("TaxDesk", "", "2025.1")
        assert (two.first_response_s, two.resolution_s, two.reopened) == (None, None, False)
        row = s.get(models.ReportDay, (date(2025, 3, 3), 0))
        assert row is not None
        assert (row.created, row.resolved, row.reopened, row.first_response_n) == (2, 1, 1, 1)
        assert row.breached == 1 and row.settles_at is None  # ticket 2, long overdue
        counts = dict(
            s.execute(
                sa.select(models.ReportDayCount.value, models.ReportDayCount.created).where(
                    models.ReportDayCount.dimension == "product"
                )
            ).all()
        )
    assert counts == {"LedgerPro": 1, "TaxDesk": 1}


def test_a_process_that_only_writes_tickets_keeps_the_rollups(tmp_path: Path) -> None:
    """The hooks come with server.tickets, not only with the web app (the
    command line releases a disabled agent's tickets, for one)."""
    Database(sqlite_url(tmp_path)).upgrade()  # here: the migration imports server.reports
    code = f"""
import sys
from pathlib import Path
from protocol import tickets as wire
from server import models, tickets
from server.db import Database, sqlite_url
db = Database(sqlite_url(Path({str(tmp_path)!r})))
with db.session() as s:
    c = models.Customer(external_id="c", product="TaxDesk")
    s.add(c)
    s.flush()
    body = wire.TicketCreate(client_key="k-000001", subject="s", category="bug")
    tickets.create_ticket(s, c, body, 1 << 20)
assert "server.api.reports" not in sys.modules
with db.session() as s:
    print(s.query(models.ReportDay).one().created, s.get(models.Ticket, 1).product)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "TaxDesk"]
