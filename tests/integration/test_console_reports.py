"""The console's Reports view against a real service with tickets made
through the API over several days: the tiles and tables show the service's
figures, the charts have the volumes, the group and agent filters go to the
service and narrow tiles, charts and tables alike, CSV exports carry them
and land where asked (and are audited), and the tab and the export only
show for the permissions they need."""

from __future__ import annotations

import csv
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from client.agent.reports import percent, seconds_text
from protocol.models import Role
from server import models
from server import tickets as ticket_rules
from tests.integration.test_agent_console import (
    PASSWORD,
    ConsoleHarness,
    harness,  # noqa: F401  (fixture)
    memory_keyring,  # noqa: F401  (fixture)
    open_console,
)
from tests.integration.test_tickets_api import customer, key
from tests.servers import LiveServer, start_live_server

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

CATEGORIES = ("Printing", "Installation", "Billing", "Export")
MODULES = ("Editor", "Export", "Sync", "Licensing")


class Seeded:
    def __init__(self, live: LiveServer) -> None:
        self.live = live
        self.ids: dict[str, int] = {}
        self.groups: dict[str, int] = {}
        self.tickets = 0
        self.by_product: Counter[str] = Counter()
        self.by_agent: Counter[str] = Counter()
        self.by_agent_product: Counter[tuple[str, str]] = Counter()

    def h(self, email: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.live.agent_token(email, PASSWORD)}"}


def _at(moment: datetime) -> Any:
    """Make the service's ticket clock read ``moment`` (the service runs in
    this process)."""
    return lambda: moment


def seed(live: LiveServer, *, days: int = 6, per_day: int = 4) -> Seeded:
    """A team in two groups and tickets over the last ``days`` days: some
    answered, resolved, rated, reopened, of two products, several modules,
    versions and categories."""
    out = Seeded(live)
    people = {
        "boss@example.com": Role.admin,
        "sue@example.com": Role.supervisor,
        "ann@example.com": Role.agent,
        "bob@example.com": Role.agent,
        "cy@example.com": Role.agent,
    }
    for email, role in people.items():
        live.create_agent(email, PASSWORD, role)
    with live.db.session() as s:
        for a in s.query(models.Agent).all():
            out.ids[a.email.split("@")[0]] = a.id
        for email, name in (("ann", "Ann Lee"), ("bob", "Bob Stone"), ("cy", "Cy Wong")):
            agent = s.get(models.Agent, out.ids[email])
            assert agent is not None
            agent.name = name
    boss = out.h("boss@example.com")
    api = f"{live.url}/api/v1"
    for name, products, members in (
        ("PhotoTool", ["PhotoTool"], ["ann", "bob", "sue"]),
        ("LedgerPro", ["LedgerPro"], ["cy"]),
    ):
        r = requests.post(
            f"{api}/team/groups",
            json={"name": name, "products": products},
            headers=boss,
            timeout=10,
        )
        assert r.status_code == 201, r.text
        out.groups[name] = r.json()["id"]
        for m in members:
            r = requests.put(
                f"{api}/team/groups/{out.groups[name]}/members/{out.ids[m]}",
                headers=boss,
                timeout=10,
            )
            assert r.status_code == 200, r.text
    customers = {
        ("PhotoTool", "5.2"): customer(
            live, "rep-photo-52", product="PhotoTool", product_version="5.2"
        ),
        ("PhotoTool", "5.1"): customer(
            live, "rep-photo-51", product="PhotoTool", product_version="5.1"
        ),
        ("LedgerPro", "3.0"): customer(
            live, "rep-ledger", product="LedgerPro", product_version="3.0"
        ),
    }
    agents = {"PhotoTool": ["ann", "bob"], "LedgerPro": ["cy"]}
    tokens = {name: out.h(f"{name}@example.com") for name in ("ann", "bob", "cy")}
    today = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    original = ticket_rules.now
    n = 0
    try:
        for d in range(days - 1, -1, -1):
            base = today - timedelta(days=d)
            count = per_day + (d * 7) % 3
            for i in range(count):
                n += 1
                (product, _version), client = list(customers.items())[n % len(customers)]
                created = base + timedelta(minutes=17 * i)
                ticket_rules.now = _at(created)
                r = client.create(
                    subject=f"Problem {n}",
                    category=CATEGORIES[n % len(CATEGORIES)],
                    context={"module": MODULES[(n * 3) % len(MODULES)]},
                )
                assert r.status_code == 201, r.text
                tid = r.json()["id"]
                who = agents[product][n % len(agents[product])]
                out.by_product[product] += 1
                out.by_agent[who] += 1
                out.by_agent_product[(who, product)] += 1
                h = tokens[who]
                r = requests.post(
                    f"{api}/agent/tickets/{tid}/assign",
                    json={"agent_id": out.ids[who]},
                    headers=h,
                    timeout=10,
                )
                assert r.status_code == 200, r.text
                if n % 5 == 4:
                    continue  # nobody answered yet
                ticket_rules.now = _at(created + timedelta(minutes=5 + 11 * (n % 7)))
                r = requests.post(
                    f"{api}/agent/tickets/{tid}/comments",
                    json={"client_key": key(), "body": "Looking into it"},
                    headers=h,
                    timeout=10,
                )
                assert r.status_code == 201, r.text
                if n % 3 == 0:
                    continue  # still open
                ticket_rules.now = _at(created + timedelta(hours=1 + n % 9))
                r = requests.post(
                    f"{api}/agent/tickets/{tid}/status",
                    json={"status": "resolved"},
                    headers=h,
                    timeout=10,
                )
                assert r.status_code == 200, r.text
                if n % 4 == 1:
                    r = client.req(
                        "POST", f"/tickets/{tid}/csat", json={"rating": 3 + n % 3, "comment": ""}
                    )
                    assert r.status_code == 200, r.text
                elif n % 7 == 2:
                    r = client.req("POST", f"/tickets/{tid}/reopen")
                    assert r.status_code == 200, r.text
    finally:
        ticket_rules.now = original
    out.tickets = n
    return out


@pytest.fixture(scope="module")
def reports_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Seeded]]:
    live = start_live_server(tmp_path_factory.mktemp("reports"), seed_kb=False)
    seeded = seed(live)
    yield live, seeded
    live.stop()


def _dashboard(
    live: LiveServer, seeded: Seeded, start: date, end: date, **filters: Any
) -> dict[str, Any]:
    r = requests.get(
        f"{live.url}/api/v1/reports/dashboard",
        params={"from": start.isoformat(), "to": end.isoformat(), "tz": "UTC", **filters},
        headers=seeded.h("boss@example.com"),
        timeout=10,
    )
    assert r.status_code == 200, r.text
    board: dict[str, Any] = r.json()
    return board


def _signed_in(
    made: list[ConsoleHarness], qtbot: QtBot, live: LiveServer, tmp_path: Path, email: str
) -> ConsoleHarness:
    h = open_console(made, qtbot, live, tmp_path)
    h.sign_in(email)
    return h


def test_reports_view_shows_the_services_figures_filters_and_exports(
    qtbot: QtBot,
    tmp_path: Path,
    harness: list[ConsoleHarness],  # noqa: F811
    reports_server: tuple[LiveServer, Seeded],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    live, seeded = reports_server
    monkeypatch.setattr("client.agent.reports.local_timezone", lambda: "UTC")
    h = _signed_in(harness, qtbot, live, tmp_path, "boss@example.com")
    w = h.window
    qtbot.waitUntil(lambda: w.tabs.isTabVisible(w.reports_index), timeout=10000)
    page = w.reports_page
    qtbot.waitUntil(lambda: page.board is not None, timeout=15000)
    assert page.export_button.isVisibleTo(page)

    # A fixed custom period: the last 6 days up to today.
    today = datetime.now(UTC).date()
    start = today - timedelta(days=5)
    with qtbot.waitSignal(page.loaded, timeout=15000):
        page.set_period(start, today)
    board = _dashboard(live, seeded, start, today + timedelta(days=1))
    overall = board["overall"]
    assert overall["created"] == seeded.tickets
    tiles = page.tiles
    assert tiles["resolution_rate"].value.text() == percent(overall["resolution_rate"])
    assert tiles["reopen_rate"].value.text() == percent(overall["reopen_rate"])
    assert tiles["breach_rate"].value.text() == percent(overall["breach_rate"])
    assert tiles["first_response"].value.text() == seconds_text(
        overall["first_response"]["median_s"]
    )
    assert tiles["csat"].value.text() == f"{overall['csat']['average']:.2f} / 5"
    # Charts: one point per day, the top products with their counts.
    volume = page.volume.chart.points
    assert [label for label, _ in volume] == [p["label"] for p in board["volume"]]
    assert sum(v for _, v in volume) == seeded.tickets
    products = dict(page.top_charts["products"].chart.points)
    assert products == {p["value"]: p["count"] for p in board["by_product"]}
    assert set(products) == {"PhotoTool", "LedgerPro"}
    assert {label for label, _ in page.top_charts["categories"].chart.points} == set(CATEGORIES)
    # The tables: every agent with tickets, both groups.
    agent_rows = {row[0]: row for row in page.table_rows(page.agent_table)}
    assert {"Ann Lee", "Bob Stone", "Cy Wong"} <= set(agent_rows)
    by_name = {a["agent_name"]: a for a in board["agents"]}
    assert agent_rows["Cy Wong"][1] == str(by_name["Cy Wong"]["created"])
    assert {row[0] for row in page.table_rows(page.group_table)} == {"PhotoTool", "LedgerPro"}

    # The group filter goes to the service: tiles, charts and tables are the
    # group's (LedgerPro's tickets, all Cy's).
    ledger = seeded.groups["LedgerPro"]
    with qtbot.waitSignal(page.loaded, timeout=15000):
        page.group_combo.setCurrentIndex(page.group_combo.findData(ledger))
    assert page.board is not None and page.board.filters.group == [ledger]
    mine = _dashboard(live, seeded, start, today + timedelta(days=1), group=ledger)
    assert mine["overall"]["created"] == seeded.by_product["LedgerPro"] < seeded.tickets
    assert tiles["resolution_rate"].value.text() == percent(mine["overall"]["resolution_rate"])
    assert tiles["first_response"].value.text() == seconds_text(
        mine["overall"]["first_response"]["median_s"]
    )
    points = page.volume.chart.points
    assert points == [(p["label"], float(p["created"])) for p in mine["volume"]]
    assert sum(v for _, v in points) == seeded.by_product["LedgerPro"]
    assert dict(page.top_charts["products"].chart.points) == {
        "LedgerPro": seeded.by_product["LedgerPro"]
    }
    assert [row[0] for row in page.table_rows(page.agent_table)] == ["Cy Wong"]
    assert [row[0] for row in page.table_rows(page.group_table)] == ["LedgerPro"]
    assert "LedgerPro" in page.scope_label.text()
    # Every group and agent is still offered while one is chosen.
    assert page.group_combo.count() == 3 and page.agent_combo.count() >= 4
    with qtbot.waitSignal(page.loaded, timeout=15000):
        page.group_combo.setCurrentIndex(0)
    assert page.board is not None and page.board.overall.created == seeded.tickets
    # The agent filter: Ann's tickets (PhotoTool's, shared with Bob).
    ann = by_name["Ann Lee"]
    with qtbot.waitSignal(page.loaded, timeout=15000):
        page.agent_combo.setCurrentIndex(page.agent_combo.findData(ann["agent_id"]))
    hers = _dashboard(live, seeded, start, today + timedelta(days=1), agent=ann["agent_id"])
    assert hers["overall"]["created"] == seeded.by_agent["ann"]
    assert tiles["resolution_rate"].value.text() == percent(ann["resolution_rate"])
    assert tiles["resolution_rate"].value.text() == percent(hers["overall"]["resolution_rate"])
    assert sum(v for _, v in page.volume.chart.points) == seeded.by_agent["ann"]
    assert dict(page.top_charts["products"].chart.points) == {
        "PhotoTool": seeded.by_agent_product[("ann", "PhotoTool")]
    }
    categories = dict(page.top_charts["categories"].chart.points)
    assert categories == {i["value"]: i["count"] for i in hers["by_category"]}
    assert [row[0] for row in page.table_rows(page.agent_table)] == ["Ann Lee"]
    assert [row[0] for row in page.table_rows(page.group_table)] == ["PhotoTool"]
    # The CSV export carries the filter.
    dest = tmp_path / "ann" / "volume.csv"
    dest.parent.mkdir()
    with qtbot.waitSignal(page.exported, timeout=15000):
        page.export("volume", dest)
    with dest.open(encoding="utf-8-sig", newline="") as f:
        assert sum(int(r["created"]) for r in csv.DictReader(f)) == seeded.by_agent["ann"]
    with qtbot.waitSignal(page.loaded, timeout=15000):
        page.agent_combo.setCurrentIndex(0)
    # Bars or a line: the same points.
    page.volume_style.setCurrentIndex(1)
    assert page.volume.chart.kind == "line" and page.volume.chart.points == volume

    # CSV export on the worker pool, saved where asked.
    dest = tmp_path / "out" / "agents.csv"
    dest.parent.mkdir()
    with qtbot.waitSignal(page.exported, timeout=15000) as saved:
        page.export("agents", dest)
    assert saved.args == [str(dest)]
    with dest.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["agent_name"] for r in rows} >= {"Ann Lee", "Bob Stone", "Cy Wong"}
    with live.db.session() as s:
        exports = s.query(models.AuditEntry).filter_by(action="report.export", target="agents")
        assert exports.filter_by(actor_name="boss@example.com").count() >= 1


def test_reports_errors_and_a_reversed_period_are_shown(
    qtbot: QtBot,
    tmp_path: Path,
    harness: list[ConsoleHarness],  # noqa: F811
    reports_server: tuple[LiveServer, Seeded],
) -> None:
    live, _ = reports_server
    h = _signed_in(harness, qtbot, live, tmp_path, "sue@example.com")
    page = h.window.reports_page
    qtbot.waitUntil(lambda: page.board is not None, timeout=15000)
    today = datetime.now(UTC).date()
    page.set_period(today, today - timedelta(days=3))
    assert page.state_label.property("state") == "error"
    assert "before it starts" in page.state_label.text()
    # Refused by the service (the export permission was taken away meanwhile
    # is shown as an error line, not a traceback).
    page.export("agents", tmp_path / "nope.csv")
    qtbot.waitUntil(lambda: page.state_label.property("state") != "loading", timeout=15000)
    assert page.state_label.property("state") == "error"
    assert not (tmp_path / "nope.csv").exists()


def test_reports_tab_and_export_follow_permissions(
    qtbot: QtBot,
    tmp_path: Path,
    harness: list[ConsoleHarness],  # noqa: F811
    reports_server: tuple[LiveServer, Seeded],
) -> None:
    live, _ = reports_server
    # A supervisor reads reports but does not export by default.
    sup = _signed_in(harness, qtbot, live, tmp_path / "sup", "sue@example.com")
    w = sup.window
    qtbot.waitUntil(lambda: w.tabs.isTabVisible(w.reports_index), timeout=10000)
    assert not w.reports_page.export_button.isVisibleTo(w.reports_page)
    # A plain agent sees neither Reports nor Administration.
    plain = f"plain-{uuid.uuid4().hex[:6]}@example.com"
    live.create_agent(plain, PASSWORD, Role.agent)
    a = _signed_in(harness, qtbot, live, tmp_path / "agent", plain)
    qtbot.waitUntil(lambda: a.window.permissions != set(), timeout=10000)
    assert not a.window.tabs.isTabVisible(a.window.reports_index)
    assert not a.window.tabs.isTabVisible(a.window.admin_index)
