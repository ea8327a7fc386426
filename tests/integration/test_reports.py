"""Supervisor reports against a real service: a small history made through
the API (then moved back in time through the database), every metric
checked against values worked out by hand, CSV against JSON, permissions,
period boundaries, time zones, and conversation quality review."""

from __future__ import annotations

import csv
import io
import statistics
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from protocol.models import Role
from server import models
from tests.databases import BACKENDS, database_url
from tests.servers import LiveServer, start_live_server

SHANGHAI = ZoneInfo("Asia/Shanghai")
PERIOD = {"from": "2025-03-03", "to": "2025-03-10", "tz": "Asia/Shanghai"}


def local(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


class Client:
    def __init__(self, server: LiveServer, token: str) -> None:
        self.base = f"{server.url}/api/v1"
        self.h = {"Authorization": f"Bearer {token}"}

    def req(self, method: str, path: str, **kw: Any) -> requests.Response:
        return requests.request(method, self.base + path, headers=self.h, timeout=30, **kw)

    def ok(self, method: str, path: str, **kw: Any) -> Any:
        r = self.req(method, path, **kw)
        assert r.status_code in (200, 201), r.text
        return r.json()


def customer(server: LiveServer, sub: str, **claims: Any) -> Client:
    r = requests.post(
        f"{server.url}/api/v1/auth/identity", json={"token": server.sign(sub, **claims)}, timeout=10
    )
    r.raise_for_status()
    return Client(server, r.json()["access_token"])


def staff(server: LiveServer, email: str, role: Role) -> Client:
    server.create_agent(email, role=role)
    return Client(server, server.agent_token(email))


@dataclass
class Plan:
    """When a ticket happened (seconds after creation) and its SLA deadlines."""

    created: datetime
    first: int | None = None
    resolved: int | None = None
    closed: int | None = None
    first_due: int = 3600
    resolution_due: int = 8 * 3600


@dataclass
class World:
    server: LiveServer
    sup: Client
    lead: Client
    plain_sup: Client
    admin: Client
    ann: Client
    bob: Client
    ids: dict[str, int]
    agent_ids: dict[str, int]
    conversations: dict[str, int]


def _ticket(c: Client, **body: Any) -> int:
    body.setdefault("client_key", uuid.uuid4().hex)
    body.setdefault("subject", "Something is wrong")
    return int(c.ok("POST", "/tickets", json=body)["id"])


def _reply(a: Client, tid: int) -> None:
    a.ok(
        "POST",
        f"/agent/tickets/{tid}/comments",
        json={"client_key": uuid.uuid4().hex, "body": "On it"},
    )


def _status(a: Client, tid: int, status: str) -> None:
    a.ok("POST", f"/agent/tickets/{tid}/status", json={"status": status})


def build_world(server: LiveServer) -> World:
    sup = staff(server, "sup@vendor.example", Role.supervisor)
    lead = staff(server, "lead@vendor.example", Role.supervisor)
    plain_sup = staff(server, "plain@vendor.example", Role.supervisor)
    admin = staff(server, "root@vendor.example", Role.admin)
    ann = staff(server, "ann@vendor.example", Role.agent)
    bob = staff(server, "bob@vendor.example", Role.agent)
    with server.db.session() as s:
        ids_by_name = {a.name: a.id for a in s.query(models.Agent)}
        # sup may export; lead sees only the tickets of their group.
        s.add(models.AgentGrant(agent_id=ids_by_name["sup"], permission="export", allowed=True))
        s.add_all(
            [
                models.AgentGrant(
                    agent_id=ids_by_name["lead"], permission="tickets.read.all", allowed=False
                ),
                models.AgentGrant(
                    agent_id=ids_by_name["lead"], permission="tickets.read.group", allowed=True
                ),
            ]
        )
        ledger_team = models.AgentGroup(name="Ledger team")
        payroll_team = models.AgentGroup(name="Payroll team")
        s.add_all([ledger_team, payroll_team])
        s.flush()
        s.add_all(
            [
                models.GroupMember(group_id=ledger_team.id, agent_id=ids_by_name["ann"]),
                models.GroupMember(group_id=ledger_team.id, agent_id=ids_by_name["lead"]),
                models.GroupMember(group_id=payroll_team.id, agent_id=ids_by_name["bob"]),
            ]
        )
    alice = customer(server, "alice")
    # Bo's host sends no product: it comes from his identity.
    bo = customer(server, "bo", product="PayrollCloud", product_version="4.0")

    ledger = {"product": "LedgerPro", "version": "6.1"}
    ids = {
        "T1": _ticket(alice, category="billing", context={**ledger, "module": "Invoices"}),
        "T2": _ticket(alice, category="bug", context={**ledger, "module": "Reports"}),
        "T3": _ticket(bo, category="login", context={"module": "Payslips"}),
        "T4": _ticket(bo, category="bug", context={"module": "Payslips"}),
        "T5": _ticket(
            alice,
            category="how-to",
            context={"product": "LedgerPro", "version": "6.0", "module": "=SUM(A1)"},
        ),
        "T6": _ticket(alice, category="billing", context={**ledger, "module": "Invoices"}),
        "T7": _ticket(bo, category="bug", context={"module": "Payslips"}),
        "T8": _ticket(alice, category="billing", context={**ledger, "module": "Invoices"}),
        "T9": _ticket(bo, category="login", context={"module": "Leave"}),
        "T10": _ticket(bo, category="login", context={"module": "Leave"}),
    }
    # T1: answered, resolved, rated 5, closed.
    _reply(ann, ids["T1"])
    _status(ann, ids["T1"], "resolved")
    alice.ok("POST", f"/tickets/{ids['T1']}/csat", json={"rating": 5})
    _status(ann, ids["T1"], "closed")
    # T2: resolved, reopened by the customer, resolved again, rated 2.
    _reply(ann, ids["T2"])
    _status(ann, ids["T2"], "resolved")
    alice.ok("POST", f"/tickets/{ids['T2']}/reopen")
    _status(ann, ids["T2"], "resolved")
    alice.ok("POST", f"/tickets/{ids['T2']}/csat", json={"rating": 2})
    # T3: answered late, still open.
    _reply(bob, ids["T3"])
    # T4: resolved, rated 4.
    _reply(bob, ids["T4"])
    _status(bob, ids["T4"], "resolved")
    bo.ok("POST", f"/tickets/{ids['T4']}/csat", json={"rating": 4})
    # T5: the customer solved it alone; nobody answered.
    alice.ok("POST", f"/tickets/{ids['T5']}/resolve")
    # T6: answered and closed within minutes.
    _reply(ann, ids["T6"])
    _status(ann, ids["T6"], "resolved")
    _status(ann, ids["T6"], "closed")
    for a, name in ((bob, "T7"), (ann, "T8"), (bob, "T9")):
        _reply(a, ids[name])

    plans = {
        "T1": Plan(local(3, 9), first=600, resolved=7200, closed=9000),
        "T2": Plan(local(4, 10), first=1800, resolved=86400),
        "T3": Plan(local(6, 7), first=5400),  # 06 in Shanghai, 05 in UTC
        "T4": Plan(local(7, 12), first=300, resolved=3600),
        "T5": Plan(local(8, 20), resolved=1800),
        "T6": Plan(local(3, 0), first=60, resolved=120, closed=180),  # the very start
        "T7": Plan(local(10, 0), first=60),  # the very end: not in the period
        "T8": Plan(local(27, 10, month=2), first=60),  # the previous week
        "T9": Plan(local(28, 10, month=2), first=60),
        "T10": Plan(local(28, 11, month=2)),
    }
    # History is made through the ORM, as the service itself writes.
    with server.db.session() as s:
        for name, p in plans.items():
            t = s.get(models.Ticket, ids[name])
            assert t is not None
            t.created_at = p.created
            t.first_response_due = p.created + timedelta(seconds=p.first_due)
            t.resolution_due = p.created + timedelta(seconds=p.resolution_due)
            t.first_responded_at = p.created + timedelta(seconds=p.first) if p.first else None
            t.resolved_at = p.created + timedelta(seconds=p.resolved) if p.resolved else None
            t.closed_at = p.created + timedelta(seconds=p.closed) if p.closed else None
        agents = {a.name: a.id for a in s.query(models.Agent)}
        customers = {c.external_id: c.id for c in s.query(models.Customer)}
        conversations = {}
        for name, who, started, waited, status in (
            ("A", "ann", local(4, 10), 120, "closed"),
            ("B", "bob", local(5, 11), 300, "closed"),
            ("C", "bob", local(6, 9), None, "assigned"),
            ("D", "sup", local(6, 10), 60, "closed"),
            ("E", "ann", local(20, 10, month=2), 60, "closed"),  # before the period
        ):
            conv = models.Conversation(
                customer_id=customers["alice"],
                status=status,
                assignee_id=agents[who],
                product="LedgerPro",
                created_at=started,
                updated_at=started,
                queued_at=started + timedelta(seconds=30),
                assigned_at=started + timedelta(seconds=60),
                closed_at=started + timedelta(hours=1) if status == "closed" else None,
                last_seq=1,
            )
            s.add(conv)
            s.flush()
            conversations[name] = conv.id
            if waited is not None:
                s.add(
                    models.ChatMessage(
                        conversation_id=conv.id,
                        seq=1,
                        client_id=f"m-{name}",
                        sender_kind="agent",
                        sender_id=agents[who],
                        sender_name=who,
                        text="Hello",
                        created_at=started + timedelta(seconds=30 + waited),
                    )
                )
    return World(server, sup, lead, plain_sup, admin, ann, bob, ids, agents, conversations)


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The same history on SQLite and (when a test cluster is there) PostgreSQL."""
    data_dir = tmp_path_factory.mktemp("reports")
    with database_url(request.param, data_dir) as url:
        server = start_live_server(data_dir, seed_kb=False, database_url=url)
        try:
            yield build_world(server)
        finally:
            server.stop()
            server.db.dispose()


def board(w: World, **params: Any) -> dict[str, Any]:
    result: dict[str, Any] = w.sup.ok("GET", "/reports/dashboard", params={**PERIOD, **params})
    return result


def agent_row(b: dict[str, Any], name: str | None) -> dict[str, Any]:
    return next(a for a in b["agents"] if (a["agent_name"] or None) == name)


def approx(v: float | None) -> Any:
    return pytest.approx(v, rel=1e-12, abs=1e-9)


def test_every_metric_for_a_week_in_shanghai(world: World) -> None:
    b = board(world, bucket="day")
    assert b["period"]["start"] == "2025-03-02T16:00:00Z"
    assert b["period"]["end"] == "2025-03-09T16:00:00Z"
    assert b["period"]["previous_start"] == "2025-02-23T16:00:00Z"
    o = b["overall"]
    # T1-T6; T6 at the start is in, T7 at the end is not.
    assert o["created"] == 6
    assert o["resolved"] == 5 and o["resolution_rate"] == approx(5 / 6)
    assert o["ever_resolved"] == 5 and o["reopened"] == 1 and o["reopen_rate"] == approx(0.2)
    # First responses 60, 300, 600, 1800, 5400 s.
    assert o["first_response"] == {"count": 5, "median_s": 600.0, "p90_s": approx(3960.0)}
    # Resolutions 120, 1800, 3600, 7200, 86400 s.
    assert o["resolution_time"] == {"count": 5, "median_s": 3600.0, "p90_s": approx(54720.0)}
    assert o["csat"] == {"count": 3, "average": approx(11 / 3), "positive_rate": approx(2 / 3)}
    # T2 resolved late, T3 answered late, T5 never answered.
    assert o["breached"] == 3 and o["breach_rate"] == approx(0.5)

    ann = agent_row(b, "ann")
    assert ann["agent_id"] == world.agent_ids["ann"]
    assert (ann["created"], ann["resolved"], ann["reopened"], ann["breached"]) == (3, 3, 1, 1)
    assert ann["reopen_rate"] == approx(1 / 3)
    assert ann["first_response"] == {"count": 3, "median_s": 600.0, "p90_s": approx(1560.0)}
    assert ann["resolution_time"] == {"count": 3, "median_s": 7200.0, "p90_s": approx(70560.0)}
    assert ann["csat"] == {"count": 2, "average": approx(3.5), "positive_rate": approx(0.5)}
    bob = agent_row(b, "bob")
    assert (bob["created"], bob["resolved"], bob["resolution_rate"]) == (2, 1, 0.5)
    assert bob["first_response"] == {"count": 2, "median_s": 2850.0, "p90_s": approx(4890.0)}
    assert bob["resolution_time"] == {"count": 1, "median_s": 3600.0, "p90_s": 3600.0}
    assert bob["csat"] == {"count": 1, "average": 4.0, "positive_rate": 1.0}
    assert bob["breach_rate"] == approx(0.5)
    nobody = b["agents"][-1]
    assert nobody["agent_id"] is None and nobody["created"] == 1 and nobody["breached"] == 1
    assert nobody["first_response"] == {"count": 0, "median_s": None, "p90_s": None}
    assert nobody["resolution_time"]["median_s"] == 1800.0

    # Groups add up their members (members as they are now).
    ledger, payroll = b["groups"]
    assert (ledger["group_name"], ledger["members"], ledger["created"]) == ("Ledger team", 2, 3)
    assert ledger["first_response"] == ann["first_response"]
    assert ledger["resolution_time"] == ann["resolution_time"]
    assert (ledger["csat"], ledger["breached"], ledger["chats"]) == (ann["csat"], 1, 1)
    assert (payroll["group_name"], payroll["created"], payroll["breach_rate"]) == (
        "Payroll team",
        2,
        approx(0.5),
    )
    assert payroll["first_response"] == bob["first_response"]

    assert [(v["label"], v["created"]) for v in b["volume"]] == [
        ("2025-03-03", 2),
        ("2025-03-04", 1),
        ("2025-03-05", 0),
        ("2025-03-06", 1),
        ("2025-03-07", 1),
        ("2025-03-08", 1),
        ("2025-03-09", 0),
    ]
    assert b["volume"][0]["start"] == "2025-03-02T16:00:00Z"

    def top(key: str) -> list[tuple[str, int, int, int, float | None]]:
        return [
            (i["value"], i["count"], i["previous"], i["change"], i["change_rate"]) for i in b[key]
        ]

    assert top("by_product") == [("LedgerPro", 4, 1, 3, 3.0), ("PayrollCloud", 2, 2, 0, 0.0)]
    assert top("by_module") == [
        ("Invoices", 2, 1, 1, 1.0),
        ("Payslips", 2, 0, 2, None),
        ("=SUM(A1)", 1, 0, 1, None),
        ("Reports", 1, 0, 1, None),
    ]
    assert top("by_version") == [
        ("6.1", 3, 1, 2, 2.0),
        ("4.0", 2, 2, 0, 0.0),
        ("6.0", 1, 0, 1, None),
    ]
    assert top("by_category") == [
        ("billing", 2, 1, 1, 1.0),
        ("bug", 2, 0, 2, None),
        ("how-to", 1, 0, 1, None),
        ("login", 1, 2, -1, -0.5),
    ]
    assert board(world, top=2)["by_category"][1]["value"] == "bug"

    # Chats: A, B, C, D started in the week; C has no agent answer yet.
    assert b["chats"] == {
        "conversations": 4,
        "with_agent": 4,
        "first_response": {"count": 3, "median_s": 120.0, "p90_s": approx(264.0)},
    }
    assert (ann["chats"], bob["chats"]) == (1, 2)


def test_time_zone_and_buckets(world: World) -> None:
    # The same dates read as UTC days: T6 (16:00 UTC the day before) drops
    # out, T7 (16:00 UTC on the 9th) comes in, T3 moves to the 5th.
    b = board(world, tz="UTC")
    assert b["overall"]["created"] == 6
    assert [v["created"] for v in b["volume"]] == [1, 1, 1, 0, 1, 1, 1]
    # Explicit offsets win over tz; tz still draws the buckets.
    b = board(world, **{"from": "2025-03-02T16:00:00Z", "to": "2025-03-09T16:00:00+00:00"})
    assert b["overall"]["created"] == 6 and b["overall"]["breached"] == 3
    weeks = board(world, bucket="week")["volume"]
    assert [(v["label"], v["created"]) for v in weeks] == [("2025-W10", 6)]
    months = board(world, bucket="month", **{"from": "2025-02-20", "to": "2025-03-10"})["volume"]
    assert [(v["label"], v["created"]) for v in months] == [("2025-02", 3), ("2025-03", 6)]
    assert months[0]["start"] == "2025-02-19T16:00:00Z"
    assert months[1]["start"] == "2025-02-28T16:00:00Z"
    # Half a day, inside one UTC day: read from the tickets alone.
    half = board(world, **{"from": "2025-03-03T00:00:00+08:00", "to": "2025-03-03T12:00:00+08:00"})
    assert half["overall"]["created"] == 2
    assert half["overall"]["first_response"]["median_s"] == 330.0


def test_filters(world: World) -> None:
    b = board(world, product="PayrollCloud")
    assert b["filters"]["product"] == ["PayrollCloud"]
    assert b["overall"]["created"] == 2
    assert [a["agent_name"] for a in b["agents"]] == ["bob"]
    assert b["overall"]["first_response"]["median_s"] == 2850.0
    assert [(i["value"], i["count"], i["previous"]) for i in b["by_module"]] == [("Payslips", 2, 0)]
    assert b["chats"]["conversations"] == 0  # the chats were about LedgerPro
    b = board(world, module=["Invoices", "=SUM(A1)"])
    assert b["overall"]["created"] == 3 and b["overall"]["breached"] == 1
    assert b["chats"] is None
    b = board(world, version="6.1", category="bug")
    assert b["overall"]["created"] == 1
    assert b["overall"]["reopened"] == 1


def test_csv_matches_json(world: World) -> None:
    b = board(world)
    tables = {
        "summary": [b["overall"]],
        "agents": b["agents"],
        "groups": b["groups"],
        "volume": b["volume"],
        "products": b["by_product"],
        "modules": b["by_module"],
        "versions": b["by_version"],
        "categories": b["by_category"],
    }

    def flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in d.items():
            if isinstance(v, dict):
                out.update(flat(v, f"{prefix}{k}_"))
            else:
                out[prefix + k] = v
        return out

    for name, rows in tables.items():
        r = world.sup.req("GET", f"/reports/{name}.csv", params=PERIOD)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/csv")
        assert r.content.startswith(b"\xef\xbb\xbf")
        assert f"helpbridge-{name}-20250303-20250310.csv" in r.headers["content-disposition"]
        parsed = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert len(parsed) == len(rows), name
        for got, want in zip(parsed, rows, strict=True):
            want_flat = flat(want)
            assert set(got) == set(want_flat), name
            for col, value in want_flat.items():
                cell = got[col]
                if value is None:
                    assert cell == "", (name, col)
                elif isinstance(value, bool):
                    assert cell == str(value).lower()
                elif isinstance(value, int | float):
                    assert float(cell) == pytest.approx(value), (name, col)
                elif str(value).startswith("="):
                    assert cell == "'" + value  # never a formula in a spreadsheet
                else:
                    assert cell == value, (name, col)
    # A negative change stays a number.
    r = world.sup.req("GET", "/reports/categories.csv", params=PERIOD)
    assert "login,1,2,-1,-0.5" in r.content.decode("utf-8-sig")

    # Exports are audited.
    entries = world.admin.ok(
        "GET",
        "/admin/audit",
        params={"action": "report.export", "outcome": "ok", "per_page": 100},
    )["entries"]
    assert {e["target"] for e in entries} >= set(tables)
    assert all(e["actor_name"] == "sup@vendor.example" for e in entries)
    assert entries[0]["detail"]["start"] == "2025-03-02T16:00:00+00:00"


def test_agents_are_refused(world: World) -> None:
    for method, path, needs in (
        ("GET", "/reports/dashboard", "reports.read"),
        ("GET", "/reports/agents.csv", "reports.read"),
        ("GET", "/reports/quality/rubrics", "reports.read"),
        ("GET", "/reports/quality/scores", "reports.read"),
        ("POST", "/reports/quality/rubrics", "conversations.score"),
        (
            "PUT",
            f"/reports/quality/conversations/{world.conversations['A']}/score",
            "conversations.score",
        ),
    ):
        r = world.ann.req(method, path, params=PERIOD, json={})
        assert r.status_code == 403, (path, r.text)
        assert r.json()["error"]["code"] == "forbidden"
        assert needs in r.json()["error"]["message"]
    r = requests.get(f"{world.server.url}/api/v1/reports/dashboard", timeout=10)
    assert r.status_code == 401
    assert world.admin.req("GET", "/reports/dashboard", params=PERIOD).status_code == 200
    # A supervisor reads reports but exports only when granted "export".
    assert world.plain_sup.req("GET", "/reports/dashboard", params=PERIOD).status_code == 200
    r = world.plain_sup.req("GET", "/reports/agents.csv", params=PERIOD)
    assert r.status_code == 403 and "export" in r.json()["error"]["message"]
    entries = world.admin.ok(
        "GET", "/admin/audit", params={"action": "report.export", "outcome": "denied"}
    )["entries"]
    assert {e["actor_name"] for e in entries} == {"ann@vendor.example", "plain@vendor.example"}


def test_a_supervisor_of_one_group_sees_that_group(world: World) -> None:
    b = world.lead.ok("GET", "/reports/dashboard", params=PERIOD)
    # Only the tickets ann (their group) has: T1, T2, T6.
    assert b["overall"]["created"] == 3
    assert [a["agent_name"] for a in b["agents"]] == ["ann"]
    assert [g["group_name"] for g in b["groups"]] == ["Ledger team"]
    assert b["overall"]["first_response"]["median_s"] == 600.0
    assert [(i["value"], i["count"]) for i in b["by_product"]] == [("LedgerPro", 3)]
    assert sum(v["created"] for v in b["volume"]) == 3
    assert b["chats"]["conversations"] == 1  # ann's
    # They score their group's conversations only.
    rubric = world.lead.ok(
        "POST", "/reports/quality/rubrics", json={"name": "Lead's", "criteria": [{"name": "Tone"}]}
    )
    body = {"rubric_id": rubric["id"], "scores": [{"criterion": "Tone", "score": 5}]}
    conv = world.conversations
    r = world.lead.req("PUT", f"/reports/quality/conversations/{conv['B']}/score", json=body)
    assert r.status_code == 403
    r = world.lead.req("PUT", f"/reports/quality/conversations/{conv['E']}/score", json=body)
    assert r.status_code == 201
    mine = world.lead.ok("GET", "/reports/quality/scores")["scores"]
    assert {s["agent_name"] for s in mine} == {"ann"}


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"tz": "Mars/Olympus"}, "time zone"),
        ({"from": "2025-03-10", "to": "2025-03-03"}, "end after"),
        ({"from": "2015-01-01", "to": "2025-03-03"}, "at most ten years"),
        ({"from": "2020-01-01", "to": "2025-03-03"}, "1000 buckets"),
        ({"bucket": "hour"}, ""),
        ({"top": 0}, ""),
        ({"from": "yesterday"}, ""),
    ],
)
def test_bad_queries_are_refused_clearly(
    world: World, params: dict[str, str], fragment: str
) -> None:
    r = world.sup.req("GET", "/reports/dashboard", params={**PERIOD, **params})
    assert r.status_code == 422
    assert fragment in r.json()["error"]["message"]
    assert world.sup.req("GET", "/reports/nothing.csv", params=PERIOD).status_code == 422


def test_quality_review(world: World) -> None:
    sup, admin = world.sup, world.admin
    conv = world.conversations
    rubric = sup.ok(
        "POST",
        "/reports/quality/rubrics",
        json={
            "name": "Chat quality",
            "criteria": [
                {"name": "Greeting", "weight": 1, "max_score": 5},
                {"name": "Accuracy", "weight": 3, "max_score": 5},
                {"name": "Tone", "weight": 1, "max_score": 5},
            ],
        },
    )
    rid = rubric["id"]
    assert rubric["scored"] == 0 and rubric["active"] is True
    dup = sup.req(
        "POST",
        "/reports/quality/rubrics",
        json={"name": "x", "criteria": [{"name": "Tone"}, {"name": "tone"}]},
    )
    assert dup.status_code == 422

    def score(c: Client, name: str, greeting: int, accuracy: int, tone: int) -> requests.Response:
        return c.req(
            "PUT",
            f"/reports/quality/conversations/{conv[name]}/score",
            json={
                "rubric_id": rid,
                "comment": '=HYPERLINK("x")',
                "scores": [
                    {"criterion": "Greeting", "score": greeting},
                    {"criterion": "accuracy", "score": accuracy},
                    {"criterion": "Tone", "score": tone},
                ],
            },
        )

    first = score(sup, "A", 5, 4, 3)
    assert first.status_code == 201, first.text
    # (1*5/5 + 3*4/5 + 1*3/5) / 5 = 80 %
    assert first.json()["percent"] == approx(80.0)
    assert first.json()["agent_name"] == "ann" and first.json()["reviewer_name"] == "sup"
    assert score(admin, "A", 5, 5, 5).json()["percent"] == approx(100.0)
    revised = score(sup, "A", 2, 3, 4)  # (0.4 + 1.8 + 0.8) / 5 = 60 %
    assert revised.status_code == 200 and revised.json()["percent"] == approx(60.0)
    assert revised.json()["id"] == first.json()["id"]
    assert score(sup, "B", 5, 5, 0).json()["percent"] == approx(80.0)

    assert score(sup, "C", 5, 5, 5).status_code == 409  # still open
    assert score(sup, "D", 5, 5, 5).status_code == 403  # their own chat
    assert score(sup, "A", 6, 5, 5).status_code == 422
    partial = sup.req(
        "PUT",
        f"/reports/quality/conversations/{conv['B']}/score",
        json={"rubric_id": rid, "scores": [{"criterion": "Tone", "score": 1}]},
    )
    assert partial.status_code == 422 and "Greeting" in partial.json()["error"]["message"]
    assert (
        sup.req(
            "PUT",
            "/reports/quality/conversations/999999/score",
            json={"rubric_id": rid, "scores": [{"criterion": "Tone", "score": 1}]},
        ).status_code
        == 404
    )

    # The scores show in the agents' report (conversations started in the week).
    b = board(world)
    assert agent_row(b, "ann")["quality_count"] == 2
    assert agent_row(b, "ann")["quality_average"] == approx(80.0)  # (60 + 100) / 2
    assert agent_row(b, "bob")["quality_average"] == approx(80.0)
    before = board(world, **{"from": "2025-02-21", "to": "2025-03-01"})
    assert all(a["quality_count"] == 0 for a in before["agents"])

    week = {"from": "2025-03-02T16:00:00Z", "to": "2025-03-09T16:00:00Z"}
    listed = sup.ok(
        "GET", "/reports/quality/scores", params={"agent_id": world.agent_ids["ann"], **week}
    )
    assert listed["total"] == 2
    assert {s["reviewer_name"] for s in listed["scores"]} == {"sup", "root"}
    assert listed["scores"][0]["scores"][1] == {"criterion": "Accuracy", "score": 3}
    by_conv = sup.ok("GET", "/reports/quality/scores", params={"conversation_id": conv["B"]})
    assert by_conv["total"] == 1
    assert (
        sup.req("GET", "/reports/quality/scores", params={"from": "2025-03-01"}).status_code == 422
    )

    r = sup.req("GET", "/reports/scores.csv", params=PERIOD)
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == 3
    assert {row["comment"] for row in rows} == {'\'=HYPERLINK("x")'}
    assert "Greeting=2; Accuracy=3; Tone=4" in {row["scores"] for row in rows}

    # A used rubric keeps its criteria, can be renamed and retired, not deleted.
    changed = {
        "name": "Chat quality v1",
        "criteria": [{"name": "Greeting", "weight": 2, "max_score": 5}],
    }
    assert sup.req("PUT", f"/reports/quality/rubrics/{rid}", json=changed).status_code == 409
    renamed = sup.ok(
        "PUT",
        f"/reports/quality/rubrics/{rid}",
        json={**rubric_body(rubric), "name": "Chat quality v1", "active": False},
    )
    assert renamed["name"] == "Chat quality v1" and renamed["scored"] == 3
    assert sup.req("DELETE", f"/reports/quality/rubrics/{rid}").status_code == 409
    assert rid not in [r["id"] for r in sup.ok("GET", "/reports/quality/rubrics")["rubrics"]]
    listed_all = sup.ok("GET", "/reports/quality/rubrics", params={"include_inactive": True})
    assert rid in [r["id"] for r in listed_all["rubrics"]]
    assert score(sup, "B", 1, 1, 1).status_code == 422  # inactive
    spare = sup.ok(
        "POST", "/reports/quality/rubrics", json={"name": "Spare", "criteria": [{"name": "Tone"}]}
    )
    assert sup.req("DELETE", f"/reports/quality/rubrics/{spare['id']}").status_code == 204
    assert sup.req("GET", f"/reports/quality/rubrics/{spare['id']}").status_code == 404
    actions = {
        e["action"]
        for e in admin.ok("GET", "/admin/audit", params={"action": "quality."})["entries"]
    }
    assert actions == {"quality.rubric_create", "quality.rubric_update", "quality.rubric_delete"}


def rubric_body(r: dict[str, Any]) -> dict[str, Any]:
    return {k: r[k] for k in ("name", "description", "criteria", "active")}


def test_live_changes_reach_the_report(world: World) -> None:
    """A ticket changed now moves between rollup rows at once."""
    s = world.server
    today = datetime.now(UTC)
    params = {
        "from": (today - timedelta(days=2)).date().isoformat(),
        "to": (today + timedelta(days=1)).date().isoformat(),
        "tz": "UTC",
    }
    before = board(world, **params)["overall"]["created"]
    cust = customer(s, "carol")
    tid = _ticket(cust, category="printing", context={"product": "POS Lite"})
    now = board(world, **params)
    assert now["overall"]["created"] == before + 1
    assert ("POS Lite", 1) in [(i["value"], i["count"]) for i in now["by_product"]]
    _reply(world.bob, tid)
    _status(world.bob, tid, "resolved")
    after = board(world, **params)
    assert agent_row(after, "bob")["resolved"] == 1
    assert agent_row(after, "bob")["first_response"]["count"] == 1


# --- group and agent filters ----------------------------------------------------------


def _group_id(w: World, name: str) -> int:
    with w.server.db.session() as s:
        gid = s.query(models.AgentGroup.id).filter_by(name=name).scalar()
        assert gid is not None
        return int(gid)


def _expected(
    w: World, keep: Callable[[models.Ticket, str], bool], agents: set[int]
) -> dict[str, Any]:
    """What a dashboard over PERIOD should say of the tickets ``keep`` keeps
    (given each ticket and its requester's product) and the conversations of
    ``agents``, worked out from the rows themselves."""
    start, end = local(3, 0), local(10, 0)
    prev_start = start - (end - start)
    now: list[models.Ticket] = []
    before: list[models.Ticket] = []
    with w.server.db.session() as s:
        products = {c.id: c.product or "" for c in s.query(models.Customer)}
        for t in s.query(models.Ticket):
            if not keep(t, products.get(t.requester_id or 0, "")):
                continue
            if start <= t.created_at < end:
                now.append(t)
            elif prev_start <= t.created_at < start:
                before.append(t)
        chats = Counter(
            c.assignee_id
            for c in s.query(models.Conversation)
            if start <= c.created_at < end and c.assignee_id in agents
        )
        s.expunge_all()
    firsts = [t.first_response_s for t in now if t.first_response_s is not None]
    ratings = [t.csat_rating for t in now if t.csat_rating is not None]
    days = Counter(t.created_at.astimezone(SHANGHAI).date().isoformat() for t in now)
    return {
        "created": len(now),
        "resolved": sum(t.status in ("resolved", "closed") for t in now),
        "reopened": sum(bool(t.reopened) for t in now),
        "first_response_median": statistics.median(firsts) if firsts else None,
        "csat": (len(ratings), sum(ratings) / len(ratings) if ratings else None),
        "per_agent": Counter(t.assignee_id for t in now),
        "days": days,
        "products": Counter(t.product for t in now),
        "previous_products": Counter(t.product for t in before),
        "categories": Counter(t.category for t in now),
        "chats": chats,
    }


def _check(b: dict[str, Any], want: dict[str, Any]) -> None:
    o = b["overall"]
    assert o["created"] == want["created"]
    assert o["resolved"] == want["resolved"]
    assert o["reopened"] == want["reopened"]
    assert o["first_response"]["median_s"] == approx(want["first_response_median"])
    assert (o["csat"]["count"], o["csat"]["average"]) == (
        want["csat"][0],
        approx(want["csat"][1]),
    )
    assert {a["agent_id"]: a["created"] for a in b["agents"] if a["created"]} == {
        k: n for k, n in want["per_agent"].items()
    }
    assert {v["label"]: v["created"] for v in b["volume"] if v["created"]} == dict(want["days"])
    assert {i["value"]: (i["count"], i["previous"]) for i in b["by_product"]} == {
        p: (n, want["previous_products"].get(p, 0)) for p, n in want["products"].items()
    }
    assert {i["value"]: i["count"] for i in b["by_category"]} == dict(want["categories"])
    assert b["chats"]["conversations"] == sum(want["chats"].values())
    assert {a["agent_id"]: a["chats"] for a in b["agents"] if a["chats"]} == dict(want["chats"])


def test_an_agent_filter_narrows_every_part(world: World) -> None:
    bob = world.agent_ids["bob"]
    b = board(world, agent=bob)
    assert b["filters"]["agent"] == [bob] and "group" not in b["filters"]
    _check(b, _expected(world, lambda t, _p: t.assignee_id == bob, {bob}))
    # T3 and T4 (T7 is past the end); their figures are bob's row unfiltered.
    assert b["overall"]["created"] == 2
    unfiltered = agent_row(board(world), "bob")
    for name in ("created", "resolved", "first_response", "resolution_time", "csat", "breached"):
        assert b["overall"][name] == unfiltered[name], name
    assert [a["agent_name"] for a in b["agents"]] == ["bob"]
    assert [g["group_name"] for g in b["groups"]] == ["Payroll team"]
    assert b["chats"]["conversations"] == 2  # B and C
    # Two agents add up; an agent of no tickets in the period has none.
    both = board(world, agent=[bob, world.agent_ids["ann"]])
    assert both["overall"]["created"] == 5
    assert board(world, agent=world.agent_ids["plain"])["overall"]["created"] == 0


def test_a_group_filter_follows_the_group_ticket_rule(world: World) -> None:
    """A group's tickets are its members' and those of customers of its
    products (as for tickets.read.group): a Ledger team that also serves
    PayrollCloud gets bo's tickets, bob's included, and bob's row; its
    conversations stay its members'."""
    ledger, payroll = _group_id(world, "Ledger team"), _group_id(world, "Payroll team")
    members = {world.agent_ids["ann"], world.agent_ids["lead"]}
    b = board(world, group=ledger)
    assert b["filters"]["group"] == [ledger]
    _check(b, _expected(world, lambda t, _p: t.assignee_id in members, members))
    assert b["overall"]["created"] == 3
    assert [g["group_name"] for g in b["groups"]] == ["Ledger team"]
    with world.server.db.session() as s:
        s.add(models.GroupProduct(group_id=ledger, product="PayrollCloud"))
    try:
        b = board(world, group=ledger)
        want = _expected(
            world, lambda t, p: t.assignee_id in members or p == "PayrollCloud", members
        )
        _check(b, want)
        assert b["overall"]["created"] == 5  # T1, T2, T6 (ann); T3, T4 (bo's, bob has them)
        assert {a["agent_name"] for a in b["agents"]} == {"ann", "bob"}
        assert b["chats"]["conversations"] == 1  # ann's A; bob's are not the group's
        # The same tickets a supervisor limited to that group reads.
        mine = world.lead.ok("GET", "/reports/dashboard", params=PERIOD)
        for key in ("overall", "volume", "by_product", "by_category", "chats"):
            assert mine[key] == b[key], key
        # Group and agent together: what both keep.
        both = board(world, group=ledger, agent=world.agent_ids["bob"])
        assert both["overall"]["created"] == 2
        assert both["chats"]["conversations"] == 0  # bob is not a member
        assert board(world, group=[ledger, payroll])["overall"]["created"] == 5
    finally:
        with world.server.db.session() as s:
            s.query(models.GroupProduct).filter_by(group_id=ledger).delete()
    assert board(world, group=payroll)["overall"]["created"] == 2


def test_a_group_limited_supervisor_is_refused_other_groups_and_agents(world: World) -> None:
    ledger, payroll = _group_id(world, "Ledger team"), _group_id(world, "Payroll team")
    own = world.lead.ok("GET", "/reports/dashboard", params={**PERIOD, "group": ledger})
    assert own["overall"]["created"] == 3
    ann = world.lead.ok(
        "GET", "/reports/dashboard", params={**PERIOD, "agent": world.agent_ids["ann"]}
    )
    assert ann["overall"]["created"] == 3 and [a["agent_name"] for a in ann["agents"]] == ["ann"]
    for params, message in (
        ({"group": payroll}, f"group {payroll} is outside your groups"),
        ({"group": [ledger, payroll]}, f"group {payroll} is outside your groups"),
        ({"agent": world.agent_ids["bob"]}, f"agent {world.agent_ids['bob']} is outside"),
    ):
        r = world.lead.req("GET", "/reports/dashboard", params={**PERIOD, **params})
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "forbidden"
        assert message in r.json()["error"]["message"]
    entries = world.admin.ok(
        "GET",
        "/admin/audit",
        params={"action": "permission.denied", "actor": "lead@", "per_page": 100},
    )["entries"]
    refused = [e for e in entries if e["target"] == "GET /api/v1/reports/dashboard"]
    assert len(refused) == 3
    assert all(e["outcome"] == "denied" for e in refused)
    assert {e["detail"]["group"] for e in refused} == {str(payroll), f"{ledger},{payroll}", ""}
    assert "outside your groups" in refused[0]["detail"]["reason"]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"group": 999999}, "no group 999999"),
        ({"agent": 999999}, "no agent 999999"),
        ({"agent": [999998, 999999]}, "no agent 999998, 999999"),
        ({"group": "ledger"}, ""),
        ({"agent": list(range(1, 60))}, "at most 50"),
    ],
)
def test_unknown_groups_and_agents_are_refused(
    world: World, params: dict[str, Any], fragment: str
) -> None:
    for path in ("/reports/dashboard", "/reports/agents.csv"):
        r = world.sup.req("GET", path, params={**PERIOD, **params})
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "invalid_request"
        assert fragment in r.json()["error"]["message"]


def test_csv_exports_carry_the_filters(world: World) -> None:
    bob = world.agent_ids["bob"]
    payroll = _group_id(world, "Payroll team")

    def rows(name: str, **params: Any) -> list[dict[str, str]]:
        r = world.sup.req("GET", f"/reports/{name}.csv", params={**PERIOD, **params})
        assert r.status_code == 200, r.text
        return list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))

    b = board(world, agent=bob)
    assert [r["agent_name"] for r in rows("agents", agent=bob)] == ["bob"]
    assert rows("summary", agent=bob)[0]["created"] == str(b["overall"]["created"]) == "2"
    assert [
        (r["label"], r["created"]) for r in rows("volume", agent=bob) if r["created"] != "0"
    ] == [(v["label"], str(v["created"])) for v in b["volume"] if v["created"]]
    assert [r["value"] for r in rows("products", group=payroll)] == ["PayrollCloud"]
    assert [r["group_name"] for r in rows("groups", group=payroll)] == ["Payroll team"]
    entries = world.admin.ok(
        "GET",
        "/admin/audit",
        params={"action": "report.export", "outcome": "ok", "per_page": 100},
    )["entries"]
    filters = [e["detail"]["filters"] for e in entries if e["target"] in ("agents", "groups")]
    assert f'{{"agent":[{bob}]}}' in filters
    assert f'{{"group":[{payroll}]}}' in filters
