"""The supervisors' reports (``reports.read``): a period, KPI tiles, volume
charts and the per-agent and per-group tables of ``/reports/dashboard``, and
CSV exports of its tables (``export``).

The group and agent filters go to the service (``group``/``agent`` of the
report query), which narrows the whole report: the tiles, the charts, the
tables and the chats are the chosen group's or agent's, and a CSV export
carries the same filters.

Every request runs on the worker pool; the view shows loading and errors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QDate, QStandardPaths, Qt, QTimeZone, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from client.agent import texts
from client.agent.charts import Chart
from client.agent.session import Console

if TYPE_CHECKING:
    from client.core.agent_api import AgentApi, ReportQuery
    from protocol.reports import Dashboard, TicketMetrics, TopItem

log = logging.getLogger(__name__)

STYLE = """
#KpiTile, #ChartBox { background: #ffffff; border: 1px solid #e5e7eb; border-radius: 10px; }
#KpiTitle { color: #6b7280; font-weight: 600; }
#KpiValue { font-size: 20px; font-weight: 700; color: #111827; }
#ChartTitle { font-weight: 700; }
"""

PERIODS = (7, 30, 90)
"""The preset periods, in days (ending today)."""


def local_timezone() -> str:
    """The IANA name of this computer's time zone (UTC when unknown)."""
    name = bytes(QTimeZone.systemTimeZoneId().data()).decode(errors="ignore")
    return name if "/" in name or name == "UTC" else "UTC"


def period_dates(days: int, today: date) -> tuple[date, date]:
    """The last ``days`` days up to and including ``today``: [start, end)."""
    end = today + timedelta(days=1)
    return end - timedelta(days=days), end


def percent(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.1f} %"


def seconds_text(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 60:
        return QCoreApplication.translate("ReportsPage", "%1 s").replace("%1", str(round(value)))
    return texts.duration_text(timedelta(seconds=value))


def csat_text(m: TicketMetrics) -> str:
    return "—" if m.csat.average is None else f"{m.csat.average:.2f} / 5"


def quality_text(average: float | None, count: int) -> str:
    return "—" if average is None else f"{average:.0f} ({count})"


class KpiTile(QFrame):
    """One figure: title, value, a line under it."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("KpiTile")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(2)
        self.title = QLabel(title, self)
        self.title.setObjectName("KpiTitle")
        self.value = QLabel("—", self)
        self.value.setObjectName("KpiValue")
        self.note = QLabel("", self)
        self.note.setObjectName("Hint")
        for w in (self.title, self.value, self.note):
            layout.addWidget(w)

    def show_value(self, value: str, note: str = "") -> None:
        self.value.setText(value)
        self.note.setText(note)


class ChartBox(QFrame):
    """A titled chart."""

    def __init__(self, title: str, chart: Chart, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ChartBox")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        self.title = QLabel(title, self)
        self.title.setObjectName("ChartTitle")
        self.header = QHBoxLayout()
        self.header.addWidget(self.title)
        self.header.addStretch(1)
        layout.addLayout(self.header)
        self.chart = chart
        layout.addWidget(chart, 1)


class ReportsPage(QWidget):
    """The Reports tab.

    Signals:
        loaded(): a dashboard arrived and is shown (tests wait on it).
        exported(str): a CSV file was saved at this path.
    """

    loaded = Signal()
    exported = Signal(str)

    def __init__(self, console: Console, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ReportsPage")
        self.setStyleSheet(STYLE)
        self.console = console
        self.board: Dashboard | None = None
        self.group_choices: dict[int, str] = {}
        self.agent_choices: dict[int, str] = {}
        """What the filters offer: the groups and agents of the reports seen
        without a group or agent filter (a filtered report lists fewer)."""
        self.can_export = False
        self.today: Callable[[], date] = date.today
        self._started = False

        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 10, 12, 6)
        bar = QHBoxLayout()
        title = QLabel(self.tr("Reports"), self)
        title.setObjectName("PageTitle")
        bar.addWidget(title)
        bar.addSpacing(12)
        self.period_combo = QComboBox(self)
        self.period_combo.setObjectName("PeriodCombo")
        for days in PERIODS:
            self.period_combo.addItem(self.tr("Last %1 days").replace("%1", str(days)), days)
        self.period_combo.addItem(self.tr("Custom…"), 0)
        self.period_combo.setCurrentIndex(1)
        bar.addWidget(self.period_combo)
        self.from_edit = QDateEdit(self)
        self.from_edit.setObjectName("FromDate")
        self.to_edit = QDateEdit(self)
        self.to_edit.setObjectName("ToDate")
        for edit in (self.from_edit, self.to_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        bar.addWidget(self.from_edit)
        bar.addWidget(QLabel("–", self))
        bar.addWidget(self.to_edit)
        self.bucket_combo = QComboBox(self)
        self.bucket_combo.setObjectName("BucketCombo")
        for value, label in (
            ("day", self.tr("By day")),
            ("week", self.tr("By week")),
            ("month", self.tr("By month")),
        ):
            self.bucket_combo.addItem(label, value)
        bar.addWidget(self.bucket_combo)
        bar.addSpacing(12)
        self.group_combo = QComboBox(self)
        self.group_combo.setObjectName("GroupFilter")
        self.group_combo.addItem(self.tr("All groups"), None)
        bar.addWidget(self.group_combo)
        self.agent_combo = QComboBox(self)
        self.agent_combo.setObjectName("AgentFilter")
        self.agent_combo.addItem(self.tr("All agents"), None)
        self.agent_combo.setMinimumContentsLength(14)
        bar.addWidget(self.agent_combo)
        bar.addStretch(1)
        self.refresh_button = QPushButton(self.tr("Refresh"), self)
        self.refresh_button.clicked.connect(self.reload)
        bar.addWidget(self.refresh_button)
        self.export_button = QToolButton(self)
        self.export_button.setObjectName("ExportButton")
        self.export_button.setText(self.tr("Export CSV"))
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_menu = QMenu(self.export_button)
        self.export_button.setMenu(self.export_menu)
        for table, label in self.table_labels().items():
            action = self.export_menu.addAction(label)
            action.setData(table)
            action.triggered.connect(lambda _=False, t=table: self.export(t))
        self.export_button.hide()
        bar.addWidget(self.export_button)
        outer.addLayout(bar)

        self.state_label = QLabel(self)
        self.state_label.setObjectName("ReportState")
        outer.addWidget(self.state_label)

        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget(scroll)
        body.setObjectName("ReportBody")
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.setSpacing(10)

        tiles = QGridLayout()
        tiles.setSpacing(8)
        self.tiles = {
            "first_response": KpiTile(self.tr("First response time"), body),
            "resolution_time": KpiTile(self.tr("Resolution time"), body),
            "resolution_rate": KpiTile(self.tr("Resolution rate"), body),
            "reopen_rate": KpiTile(self.tr("Reopen rate"), body),
            "csat": KpiTile(self.tr("CSAT"), body),
            "breach_rate": KpiTile(self.tr("SLA breach rate"), body),
        }
        for i, tile in enumerate(self.tiles.values()):
            tiles.addWidget(tile, 0, i)
        layout.addLayout(tiles)
        self.scope_label = QLabel(body)
        self.scope_label.setObjectName("Hint")
        layout.addWidget(self.scope_label)

        self.volume = ChartBox(self.tr("Tickets over time"), Chart("bars", body), body)
        self.volume.setMinimumHeight(240)
        self.volume_style = QComboBox(self.volume)
        self.volume_style.setObjectName("VolumeStyle")
        self.volume_style.addItem(self.tr("Bars"), "bars")
        self.volume_style.addItem(self.tr("Line"), "line")
        self.volume_style.currentIndexChanged.connect(self._on_volume_style)
        self.volume.header.addWidget(self.volume_style)
        layout.addWidget(self.volume)
        tops = QGridLayout()
        tops.setSpacing(8)
        self.top_charts = {
            "products": ChartBox(self.tr("By product"), Chart("hbars", body), body),
            "modules": ChartBox(self.tr("By module"), Chart("hbars", body), body),
            "versions": ChartBox(self.tr("By version"), Chart("hbars", body), body),
            "categories": ChartBox(self.tr("By category"), Chart("hbars", body), body),
        }
        for i, box in enumerate(self.top_charts.values()):
            tops.addWidget(box, i // 2, i % 2)
        layout.addLayout(tops)

        agents_title = QLabel(self.tr("Agents"), body)
        agents_title.setObjectName("PageTitle")
        layout.addWidget(agents_title)
        self.agent_table = self._table(
            [
                self.tr("Agent"),
                self.tr("Tickets"),
                self.tr("Resolved"),
                self.tr("Resolution rate"),
                self.tr("First response"),
                self.tr("Resolution time"),
                self.tr("Reopen rate"),
                self.tr("CSAT"),
                self.tr("SLA breach rate"),
                self.tr("Chats"),
                self.tr("Quality"),
            ],
            body,
        )
        layout.addWidget(self.agent_table)
        groups_title = QLabel(self.tr("Groups"), body)
        groups_title.setObjectName("PageTitle")
        layout.addWidget(groups_title)
        self.group_table = self._table(
            [
                self.tr("Group"),
                self.tr("Members"),
                self.tr("Tickets"),
                self.tr("Resolved"),
                self.tr("Resolution rate"),
                self.tr("First response"),
                self.tr("Resolution time"),
                self.tr("Reopen rate"),
                self.tr("CSAT"),
                self.tr("SLA breach rate"),
                self.tr("Chats"),
                self.tr("Quality"),
            ],
            body,
        )
        layout.addWidget(self.group_table)

        self.period_combo.currentIndexChanged.connect(self._on_period)
        self.from_edit.dateChanged.connect(self._on_custom_date)
        self.to_edit.dateChanged.connect(self._on_custom_date)
        self.bucket_combo.currentIndexChanged.connect(lambda _i: self.reload())
        self.group_combo.currentIndexChanged.connect(lambda _i: self.reload())
        self.agent_combo.currentIndexChanged.connect(lambda _i: self.reload())
        self._set_dates_for_period()

    def table_labels(self) -> dict[str, str]:
        return {
            "summary": self.tr("Summary"),
            "volume": self.tr("Tickets over time"),
            "agents": self.tr("Agents"),
            "groups": self.tr("Groups"),
            "products": self.tr("By product"),
            "modules": self.tr("By module"),
            "versions": self.tr("By version"),
            "categories": self.tr("By category"),
            "scores": self.tr("Quality scores"),
        }

    def _table(self, headers: list[str], parent: QWidget) -> QTableWidget:
        table = QTableWidget(0, len(headers), parent)
        table.setObjectName("QueueTable")
        table.setHorizontalHeaderLabels(headers)
        table.verticalHeader().hide()
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setShowGrid(False)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.setMinimumHeight(160)
        return table

    # -- period ------------------------------------------------------------------

    def _set_dates_for_period(self) -> None:
        days = int(self.period_combo.currentData() or 0)
        custom = days == 0
        self.from_edit.setEnabled(custom)
        self.to_edit.setEnabled(custom)
        if custom:
            return
        start, end = period_dates(days, self.today())
        for edit, value in ((self.from_edit, start), (self.to_edit, end - timedelta(days=1))):
            edit.blockSignals(True)
            edit.setDate(QDate(value.year, value.month, value.day))
            edit.blockSignals(False)
        self.bucket_combo.blockSignals(True)
        self.bucket_combo.setCurrentIndex(1 if days > 45 else 0)
        self.bucket_combo.blockSignals(False)

    def _on_period(self) -> None:
        self._set_dates_for_period()
        if self.period_combo.currentData():
            self.reload()

    def _on_custom_date(self) -> None:
        if not self.period_combo.currentData():
            self.reload()

    def set_period(self, start: date, last: date) -> None:
        """Choose a custom period from ``start`` to ``last`` (both included)."""
        self.period_combo.setCurrentIndex(self.period_combo.count() - 1)
        for edit, value in ((self.from_edit, start), (self.to_edit, last)):
            edit.blockSignals(True)
            edit.setDate(QDate(value.year, value.month, value.day))
            edit.blockSignals(False)
        self.reload()

    def query(self) -> ReportQuery | None:
        """The period, bucket, group and agent chosen, or None when the dates
        are reversed."""
        from client.core.agent_api import ReportQuery
        from protocol.reports import Bucket

        start = self.from_edit.date().toPython()
        last = self.to_edit.date().toPython()
        assert isinstance(start, date) and isinstance(last, date)
        if last < start:
            return None
        group, agent = self.group_combo.currentData(), self.agent_combo.currentData()
        return ReportQuery(
            start=start,
            end=last + timedelta(days=1),
            tz=local_timezone(),
            bucket=Bucket(str(self.bucket_combo.currentData())),
            group=() if group is None else (int(group),),
            agent=() if agent is None else (int(agent),),
        )

    # -- loading -------------------------------------------------------------------

    def set_permissions(self, held: set[str]) -> None:
        self.can_export = "export" in held
        self.export_button.setVisible(self.can_export)

    def start(self) -> None:
        if not self._started:
            self._started = True
            self.reload()

    def stop(self) -> None:
        self._started = False

    def reload(self) -> None:
        q = self.query()
        if q is None:
            self.show_state("error", self.tr("The period ends before it starts."))
            return
        self.show_state("loading", self.tr("Loading…"))
        self.refresh_button.setEnabled(False)

        def fetch(api: AgentApi) -> Dashboard:
            return api.dashboard(q)

        def done(board: Dashboard) -> None:
            self.refresh_button.setEnabled(True)
            self.board = board
            self._fill_filters()
            self.redraw()
            stamp = texts.format_datetime(board.generated_at)
            self.show_state("ok", self.tr("Updated %1").replace("%1", stamp))
            self.loaded.emit()

        def failed(exc: BaseException) -> None:
            self.refresh_button.setEnabled(True)
            self.show_state("error", texts.exception_message(exc))

        self.console.call(fetch, done, failed, latest="reports")

    def show_state(self, kind: str, text: str) -> None:
        self.state_label.setText(text)
        self.state_label.setProperty("state", kind)
        colour = {"error": "#b91c1c", "loading": "#1d4ed8"}.get(kind, "#6b7280")
        self.state_label.setStyleSheet(f"color: {colour};")

    def _fill_filters(self) -> None:
        board = self.board
        assert board is not None
        groups = {g.group_id: g.group_name for g in board.groups}
        agents = {a.agent_id: a.agent_name for a in board.agents if a.agent_id is not None}
        if board.filters.group or board.filters.agent:
            # A filtered report names fewer: keep offering the others.
            self.group_choices.update(groups)
            self.agent_choices.update(agents)
        else:
            self.group_choices, self.agent_choices = groups, agents
        for combo, items in (
            (self.group_combo, self.group_choices),
            (self.agent_combo, self.agent_choices),
        ):
            chosen = combo.currentData()
            combo.blockSignals(True)
            while combo.count() > 1:
                combo.removeItem(1)
            for item_id, name in sorted(items.items(), key=lambda x: x[1].casefold()):
                combo.addItem(name, item_id)
            index = combo.findData(chosen) if chosen is not None else 0
            combo.setCurrentIndex(max(0, index))
            combo.blockSignals(False)

    # -- showing ----------------------------------------------------------------------

    def redraw(self) -> None:
        board = self.board
        if board is None:
            return
        created = str(board.overall.created)
        names = [
            *(self.group_choices.get(g, str(g)) for g in board.filters.group),
            *(self.agent_choices.get(a, str(a)) for a in board.filters.agent),
        ]
        if names:
            scope = (
                self.tr("%1 tickets of %2 created in the period.")
                .replace("%1", created)
                .replace("%2", " · ".join(names))
            )
        else:
            scope = self.tr("%1 tickets created in the period.").replace("%1", created)
        self.scope_label.setText(scope)
        self.show_metrics(board.overall)
        volume_kind = str(self.volume_style.currentData())
        self.volume.chart.set_points(
            [(p.label, float(p.created)) for p in board.volume],
            kind="line" if volume_kind == "line" else "bars",
        )
        tops: dict[str, list[TopItem]] = {
            "products": board.by_product,
            "modules": board.by_module,
            "versions": board.by_version,
            "categories": board.by_category,
        }
        none = self.tr("(none)")
        for key, items in tops.items():
            self.top_charts[key].chart.set_points(
                [(i.value or none, float(i.count)) for i in items]
            )
        self._fill(
            self.agent_table,
            [
                [
                    a.agent_name or self.tr("(unassigned)"),
                    *self._metric_cells(a),
                    str(a.chats),
                    quality_text(a.quality_average, a.quality_count),
                ]
                for a in board.agents
            ],
        )
        self._fill(
            self.group_table,
            [
                [
                    g.group_name,
                    str(g.members),
                    *self._metric_cells(g),
                    str(g.chats),
                    quality_text(g.quality_average, g.quality_count),
                ]
                for g in board.groups
            ],
        )

    def _metric_cells(self, m: TicketMetrics) -> list[str]:
        return [
            str(m.created),
            str(m.resolved),
            percent(m.resolution_rate),
            seconds_text(m.first_response.median_s),
            seconds_text(m.resolution_time.median_s),
            percent(m.reopen_rate),
            csat_text(m),
            percent(m.breach_rate),
        ]

    def show_metrics(self, m: TicketMetrics) -> None:
        median = self.tr("median · p90 %1")
        self.tiles["first_response"].show_value(
            seconds_text(m.first_response.median_s),
            median.replace("%1", seconds_text(m.first_response.p90_s)),
        )
        self.tiles["resolution_time"].show_value(
            seconds_text(m.resolution_time.median_s),
            median.replace("%1", seconds_text(m.resolution_time.p90_s)),
        )
        self.tiles["resolution_rate"].show_value(
            percent(m.resolution_rate),
            self.tr("%1 of %2 tickets")
            .replace("%1", str(m.resolved))
            .replace("%2", str(m.created)),
        )
        self.tiles["reopen_rate"].show_value(
            percent(m.reopen_rate),
            self.tr("%1 reopened").replace("%1", str(m.reopened)),
        )
        self.tiles["csat"].show_value(
            csat_text(m),
            self.tr("%1 ratings · %2 positive")
            .replace("%1", str(m.csat.count))
            .replace("%2", percent(m.csat.positive_rate)),
        )
        self.tiles["breach_rate"].show_value(
            percent(m.breach_rate),
            self.tr("%1 breached").replace("%1", str(m.breached)),
        )

    def _fill(self, table: QTableWidget, rows: list[list[str]]) -> None:
        table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                if c > 0:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                table.setItem(r, c, item)
        table.setMinimumHeight(min(420, 34 + 30 * max(3, len(rows))))

    def _on_volume_style(self) -> None:
        self.redraw()

    def table_rows(self, table: QTableWidget) -> list[list[str]]:
        out = []
        for r in range(table.rowCount()):
            row = []
            for c in range(table.columnCount()):
                item = table.item(r, c)
                row.append(item.text() if item is not None else "")
            out.append(row)
        return out

    # -- export -----------------------------------------------------------------------

    def export(self, table: str, dest: Path | None = None) -> None:
        """Download one table as CSV on a worker; ``dest`` None asks where."""
        q = self.query()
        if q is None:
            return
        if dest is None:
            folder = QStandardPaths.writableLocation(
                QStandardPaths.StandardLocation.DocumentsLocation
            )
            name = f"helpbridge-{table}-{q.start}-{q.end}.csv"
            chosen, _ = QFileDialog.getSaveFileName(
                self,
                self.tr("Save CSV"),
                str(Path(folder) / name),
                self.tr("CSV files (*.csv)"),
            )
            if not chosen:
                return
            dest = Path(chosen)
        target = dest
        self.show_state("loading", self.tr("Exporting…"))

        def fetch(api: AgentApi) -> Path:
            return api.download_report(table, q, target)

        def done(path: Path) -> None:
            self.show_state("ok", self.tr("Saved %1").replace("%1", str(path)))
            self.exported.emit(str(path))

        def failed(exc: BaseException) -> None:
            self.show_state("error", texts.exception_message(exc))

        self.console.call(fetch, done, failed)


__all__ = ["PERIODS", "ReportsPage", "local_timezone", "period_dates"]
