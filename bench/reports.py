"""Supervisor report benchmark: the dashboard over a year of a million tickets.

    python bench/reports.py --tickets 1000000 --json

Builds a year of synthetic support history (deterministic seed) in a fresh
SQLite database brought up by the real migrations: customers with tiers,
products and versions; agents of uneven load; tickets with weekday and
office-hour seasonality, products, modules, versions and categories of
skewed popularity (newer versions taking over during the year), priorities
from urgency and impact, SLA deadlines from the default policy, first
responses and resolutions with long-tailed delays (so some breach), reopens,
closes, satisfaction ratings, and the timeline events for all of it. Rows
go in with ``sqlite3`` ``executemany``; the report columns and rollups are
then filled by ``server.reports.rebuild`` (what the migration runs).

Then it times what ``GET /api/v1/reports/dashboard`` does for the year
(settle, then every metric overall and per agent, volume over time, top
products/modules/versions/categories with the previous period) across time
zones and buckets, and separately with a product or module filter.

Prints one JSON line with ``--json``: ``{"tickets", "p50_ms", "p95_ms",
"build_s", ...}``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from protocol.reports import Bucket
from server import reports, tickets
from server.db import Database, sqlite_url

SEED = 20261123
DAY_S = 86400

PRODUCTS = {
    # product: (weight, versions oldest first, modules)
    "LedgerPro": (
        34,
        ["5.2", "6.0", "6.1", "6.2", "7.0"],
        ["Invoices", "Ledger", "Reports", "Bank feeds", "Tax", "Import", "Printing", "Users"],
    ),
    "PayrollCloud": (
        22,
        ["3.4", "3.5", "4.0", "4.1"],
        ["Payslips", "Employees", "Leave", "Pensions", "Filing", "Import"],
    ),
    "InventoryHub": (
        18,
        ["2.8", "2.9", "3.0"],
        ["Stock", "Orders", "Barcodes", "Warehouses", "Sync", "Reports"],
    ),
    "TaxDesk": (
        14,
        ["2024.2", "2025.1", "2025.2"],
        ["Returns", "E-filing", "Clients", "Documents"],
    ),
    "POS Lite": (
        12,
        ["1.9", "2.0", "2.1", "2.2"],
        ["Checkout", "Printers", "Cards", "Offline", "Menus"],
    ),
}
CATEGORIES = [
    "installation",
    "login",
    "billing",
    "bug",
    "how-to",
    "performance",
    "data",
    "printing",
    "integration",
]
CATEGORY_WEIGHTS = [8, 10, 12, 22, 20, 7, 9, 6, 6]
LEVELS = ["high", "medium", "low"]
TIERS = ["normal", "vip", "svip"]


def _fmt(us: np.ndarray) -> list[str | None]:
    """Microseconds since the epoch as SQLAlchemy stores them in SQLite; -1 is NULL."""
    text = np.datetime_as_string(us.astype("datetime64[us]"), unit="us")
    return [
        None if u < 0 else f"{s[:10]} {s[11:]}"
        for s, u in zip(text.tolist(), us.tolist(), strict=True)
    ]


def build(path: Path, n: int, agents_n: int, now: datetime) -> dict[str, float]:
    rng = np.random.default_rng(SEED)
    t0 = time.perf_counter()
    db = Database(sqlite_url(path))
    db.upgrade()
    db.dispose()
    conn = sqlite3.connect(path / "helpbridge.sqlite3")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    now_us = int(now.timestamp() * 1_000_000)
    start_us = now_us - 365 * DAY_S * 1_000_000
    stamp = f"{now:%Y-%m-%d %H:%M:%S.%f}"

    # Agents, with uneven shares of the work.
    conn.executemany(
        "INSERT INTO agents (id, email, name, password_hash, role, active, created_at) "
        "VALUES (?, ?, ?, 'x', 'agent', 1, ?)",
        [(i, f"agent{i}@vendor.example", f"Agent {i:02d}", stamp) for i in range(1, agents_n + 1)],
    )
    agent_w = rng.lognormal(0, 0.4, agents_n)
    agent_w /= agent_w.sum()

    # Customers: tier, product, the version they run.
    names = list(PRODUCTS)
    pw = np.array([PRODUCTS[p][0] for p in names], float)
    customers_n = max(1000, n // 20)
    c_tier = rng.choice(3, customers_n, p=[0.8, 0.15, 0.05])
    c_prod = rng.choice(len(names), customers_n, p=pw / pw.sum())
    conn.executemany(
        "INSERT INTO customers (id, external_id, name, tier, product, product_version, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                i + 1,
                f"c-{i}",
                f"Customer {i}",
                TIERS[c_tier[i]],
                names[c_prod[i]],
                PRODUCTS[names[c_prod[i]]][1][-2],
                stamp,
                stamp,
            )
            for i in range(customers_n)
        ],
    )

    # Creation times: weekday and office-hour seasonality, some growth.
    day_w = np.array(
        [(0.35 if (d % 7) in (5, 6) else 1.0) * (0.8 + 0.4 * d / 365) for d in range(365)]
    )
    hour_w = np.array(
        [1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 12, 9, 12, 14, 13, 11, 8, 5, 4, 3, 2, 2, 1], float
    )
    day = rng.choice(365, n, p=day_w / day_w.sum())
    hour = rng.choice(24, n, p=hour_w / hour_w.sum())
    created = np.sort(start_us + (day * DAY_S + hour * 3600 + rng.integers(0, 3600, n)) * 1_000_000)
    created = np.minimum(created, now_us - 1_000_000)
    age_days = (now_us - created) / (DAY_S * 1_000_000)
    year_frac = 1 - age_days / 365

    cust = rng.zipf(1.3, n) % customers_n
    tier = c_tier[cust]
    prod = np.where(rng.random(n) < 0.9, c_prod[cust], rng.choice(len(names), n, p=pw / pw.sum()))
    urgency = rng.choice(3, n, p=[0.15, 0.5, 0.35])
    impact = rng.choice(3, n, p=[0.1, 0.45, 0.45])
    prio = urgency + impact  # 0 = P1
    sla_first = np.zeros((3, 5))
    sla_res = np.zeros((3, 5))
    for ti, t in enumerate(TIERS):
        for pi in range(5):
            sla_first[ti, pi], sla_res[ti, pi] = tickets.DEFAULT_SLA[t][f"P{pi + 1}"]
    first_min = sla_first[tier, prio]
    res_min = sla_res[tier, prio]
    first_due = created + (first_min * 60e6).astype(np.int64)
    res_due = created + (res_min * 60e6).astype(np.int64)

    assigned = rng.random(n) < 0.96
    assignee = np.where(assigned, rng.choice(agents_n, n, p=agent_w) + 1, 0)
    answer_at = created + (first_min * 60e6 * rng.lognormal(np.log(0.3), 0.75, n)).astype(np.int64)
    answered = assigned & (rng.random(n) < 0.97) & (answer_at < now_us)
    resolve_at = np.maximum(
        answer_at + 60_000_000,
        created + (res_min * 60e6 * rng.lognormal(np.log(0.3), 0.8, n)).astype(np.int64),
    )
    done = (rng.random(n) < np.where(age_days > 14, 0.985, 0.6)) & (resolve_at < now_us)
    done &= answered | (rng.random(n) < 0.3)  # some customers solve it themselves
    reopened = done & (rng.random(n) < 0.06)
    reopen_at = resolve_at + (rng.exponential(2 * DAY_S, n) * 1e6).astype(np.int64)
    final_res = reopen_at + (rng.exponential(DAY_S, n) * 1e6).astype(np.int64)
    reopened &= final_res < now_us
    resolved_at = np.where(done, np.where(reopened, final_res, resolve_at), -1)
    close_at = resolved_at + 3 * DAY_S * 1_000_000
    closed = done & (close_at < now_us)
    pending = ~done & answered & (rng.random(n) < 0.3)
    status = np.where(
        closed,
        "closed",
        np.where(
            done,
            "resolved",
            np.where(pending, "pending_customer", np.where(answered, "open", "new")),
        ),
    )
    rated = done & (rng.random(n) < 0.3)
    rating = np.where(rated, rng.choice(5, n, p=[0.05, 0.05, 0.1, 0.3, 0.5]) + 1, 0)

    # Versions: the newer ones take over as the year goes by.
    ver = np.zeros(n, int)
    mod = np.zeros(n, int)
    for pi, p in enumerate(names):
        m = prod == pi
        versions, modules = PRODUCTS[p][1], PRODUCTS[p][2]
        k = len(versions)
        centre = (k - 2) + year_frac[m] * 1.2
        ver[m] = np.clip(np.rint(rng.normal(centre, 0.9)), 0, k - 1).astype(int)
        mw = 1 / np.arange(1, len(modules) + 1)
        mod[m] = rng.choice(len(modules), int(m.sum()), p=mw / mw.sum())
    cat = rng.choice(len(CATEGORIES), n, p=np.array(CATEGORY_WEIGHTS) / sum(CATEGORY_WEIGHTS))
    has_context = rng.random(n) < 0.85

    s_created = _fmt(created)
    s_answer = _fmt(np.where(answered, answer_at, -1))
    s_first_due = _fmt(first_due)
    s_res_due = _fmt(res_due)
    s_resolved = _fmt(resolved_at)
    s_closed = _fmt(np.where(closed, close_at, -1))
    s_reopen = _fmt(np.where(reopened, reopen_at, -1))
    s_first_res = _fmt(np.where(reopened, resolve_at, -1))
    s_rated = _fmt(np.where(rated, resolved_at + 3_600_000_000, -1))
    levels = np.array(LEVELS)
    u_s, i_s = levels[urgency].tolist(), levels[impact].tolist()
    status_l = status.tolist()
    rows = []
    for i in range(n):
        p = names[prod[i]]
        ctx = (
            json.dumps(
                {"product": p, "version": PRODUCTS[p][1][ver[i]], "module": PRODUCTS[p][2][mod[i]]}
            )
            if has_context[i]
            else "{}"
        )
        rows.append(
            (
                i + 1,
                f"k{i:07d}",
                int(cust[i]) + 1,
                int(assignee[i]) or None,
                f"Problem {i}",
                CATEGORIES[cat[i]],
                u_s[i],
                i_s[i],
                f"P{prio[i] + 1}",
                status_l[i],
                ctx,
                s_created[i],
                s_created[i],
                s_answer[i],
                s_first_due[i],
                s_res_due[i],
                s_resolved[i],
                s_closed[i],
                s_created[i],
                int(rating[i]) or None,
                s_rated[i],
            )
        )
    conn.executemany(
        "INSERT INTO tickets (id, client_key, requester_id, assignee_id, subject, body, category, "
        "urgency, impact, priority, status, context, created_at, updated_at, first_responded_at, "
        "first_response_due, resolution_due, resolved_at, closed_at, customer_seen_at, "
        "csat_rating, csat_comment, csat_at) "
        "VALUES (?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
        rows,
    )
    del rows

    def events() -> Any:
        for i in range(n):
            tid = i + 1
            yield (tid, "created", "customer", None, s_created[i], None, None)
            if answered[i]:
                a = int(assignee[i]) or None
                yield (tid, "comment", "agent", a, s_answer[i], None, None)
                yield (tid, "status", "agent", a, s_answer[i], "new", "open")
            if done[i]:
                before = "open" if answered[i] else "new"
                if reopened[i]:
                    yield (tid, "status", "agent", None, s_first_res[i], before, "resolved")
                    yield (tid, "comment", "customer", None, s_reopen[i], None, None)
                    yield (tid, "status", "system", None, s_reopen[i], "resolved", "open")
                    before = "open"
                yield (tid, "status", "agent", None, s_resolved[i], before, "resolved")
                if closed[i]:
                    yield (tid, "status", "system", None, s_closed[i], "resolved", "closed")
                if rated[i]:
                    yield (tid, "csat", "customer", None, s_rated[i], None, None)

    conn.executemany(
        "INSERT INTO ticket_events (ticket_id, kind, author_type, author_id, author_name, body, "
        "internal, created_at, status_from, status_to) VALUES (?, ?, ?, ?, '', '', 0, ?, ?, ?)",
        events(),
    )
    conn.commit()
    conn.close()
    inserted = time.perf_counter() - t0

    t1 = time.perf_counter()
    db = Database(sqlite_url(path))
    with db.engine.begin() as c:
        reports.rebuild(c, now)
    db.dispose()
    return {"insert_s": inserted, "rebuild_s": time.perf_counter() - t1}


def measure(path: Path, now: datetime, runs: int) -> dict[str, Any]:
    db = Database(sqlite_url(path))
    variants = [
        ("UTC", Bucket.day),
        ("Asia/Shanghai", Bucket.day),
        ("Asia/Shanghai", Bucket.week),
        ("Europe/Berlin", Bucket.month),
    ]
    start = now - timedelta(days=365)

    def once(tz: str, bucket: Bucket, filters: reports.Filters | None = None) -> float:
        t = time.perf_counter()
        at = tickets.now()
        with db.session() as s:
            reports.settle(s, at)
        q = reports.make_query(start, now, tz, bucket, filters)
        with db.session(serialize=False) as s:
            board = reports.dashboard(s, q, at)
        assert board.overall.created > 0
        return (time.perf_counter() - t) * 1000

    for tz, bucket in variants[:2]:  # warm the page cache
        once(tz, bucket)
    times: list[float] = []
    by_variant: dict[str, list[float]] = {}
    for i in range(runs):
        tz, bucket = variants[i % len(variants)]
        ms = once(tz, bucket)
        times.append(ms)
        by_variant.setdefault(f"{tz}/{bucket.value}", []).append(ms)
    filtered = {
        "product": once("Asia/Shanghai", Bucket.week, reports.Filters(product=("LedgerPro",))),
        "module": once("Asia/Shanghai", Bucket.week, reports.Filters(module=("Invoices",))),
        "version": once("Asia/Shanghai", Bucket.week, reports.Filters(version=("6.1",))),
    }
    with db.session() as s:
        board = reports.dashboard(
            s, reports.make_query(start, now, "UTC", Bucket.month), tickets.now()
        )
    db.dispose()
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[min(len(times) - 1, round(0.95 * (len(times) - 1)))], 1),
        "max_ms": round(times[-1], 1),
        "runs": runs,
        "by_variant_p50_ms": {k: round(statistics.median(v), 1) for k, v in by_variant.items()},
        "filtered_ms": {k: round(v, 1) for k, v in filtered.items()},
        "agents_in_report": len(board.agents),
        "overall": {
            "created": board.overall.created,
            "resolution_rate": round(board.overall.resolution_rate or 0, 4),
            "first_response_median_s": board.overall.first_response.median_s,
            "breach_rate": round(board.overall.breach_rate or 0, 4),
            "reopen_rate": round(board.overall.reopen_rate or 0, 4),
            "csat_average": round(board.overall.csat.average or 0, 3),
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--agents", type=int, default=40)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--keep", type=Path, help="build into (or reuse) this directory")
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    args = ap.parse_args()
    now = datetime.now(UTC)
    work = args.keep or Path(tempfile.mkdtemp(prefix="helpbridge-reports-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        reused = (work / "helpbridge.sqlite3").exists()
        built: dict[str, float] = {}
        if not reused:
            t = time.perf_counter()
            built = build(work, args.tickets, args.agents, now)
            built["build_s"] = time.perf_counter() - t
        else:
            # A kept database was built earlier: measure over its own year.
            con = sqlite3.connect(work / "helpbridge.sqlite3")
            last = con.execute("SELECT max(created_at) FROM tickets").fetchone()[0]
            con.close()
            now = datetime.fromisoformat(last).replace(tzinfo=UTC) + timedelta(seconds=1)
        result = measure(work, now, args.runs)
        size_mb = sum(f.stat().st_size for f in work.glob("helpbridge.sqlite3*")) / 1e6
        out = {
            "tickets": args.tickets if not reused else result["overall"]["created"],
            "p95_ms": result["p95_ms"],
            "p50_ms": result["p50_ms"],
            "build_s": round(built.get("build_s", 0.0), 1),
            "rebuild_s": round(built.get("rebuild_s", 0.0), 1),
            "reused": reused,
            "db_mb": round(size_mb, 1),
            **{k: v for k, v in result.items() if k not in ("p50_ms", "p95_ms")},
        }
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(out))
        return
    print(
        f"{out['tickets']} tickets, built in {out['build_s']} s (rollups {out['rebuild_s']} s), "
        f"{out['db_mb']} MB"
    )
    print(
        f"dashboard for a year: p50 {out['p50_ms']} ms, p95 {out['p95_ms']} ms "
        f"over {out['runs']} runs"
    )
    for k, v in out["by_variant_p50_ms"].items():
        print(f"  {k:<22} p50 {v} ms")
    for k, v in out["filtered_ms"].items():
        print(f"  filtered by {k:<10} {v} ms")
    print(f"overall: {out['overall']}")


if __name__ == "__main__":
    main()
