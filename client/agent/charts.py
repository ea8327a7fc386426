"""Small charts drawn with QPainter: vertical bars or a line over time, and
horizontal bars for "top N" lists. (The Qt wheel the console ships has no
QtCharts.)

A chart holds a list of ``(label, value)`` points and draws them to fit its
size; it has an empty state with a message, and a tooltip per point.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFontMetrics,
    QHelpEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

ChartKind = Literal["bars", "line", "hbars"]

ACCENT = QColor("#2563eb")
ACCENT_SOFT = QColor("#bfdbfe")
GRID = QColor("#e5e7eb")
TEXT = QColor("#374151")
MUTED = QColor("#6b7280")


def nice_ceiling(value: float) -> float:
    """A round number at or above ``value`` for the top of the axis (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    base = 10.0**exponent
    for step in (1.0, 2.0, 5.0, 10.0):
        if value <= step * base + 1e-9:
            return step * base
    return 10.0 * base


def _plain(value: float) -> str:
    return f"{value:,.0f}" if abs(value - round(value)) < 1e-9 else f"{value:,.1f}"


class Chart(QWidget):
    """One chart. ``kind``: ``bars`` or ``line`` (labels along the bottom),
    ``hbars`` (labels on the left, one row per point)."""

    def __init__(self, kind: ChartKind = "bars", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind: ChartKind = kind
        self.points: list[tuple[str, float]] = []
        self.format: Callable[[float], str] = _plain
        self.empty_text = self.tr("No data for this period")
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(140)
        self._hits: list[tuple[QRectF, str]] = []

    def set_points(
        self,
        points: Sequence[tuple[str, float]],
        *,
        kind: ChartKind | None = None,
        fmt: Callable[[float], str] | None = None,
    ) -> None:
        self.points = [(str(label), float(value)) for label, value in points]
        if kind is not None:
            self.kind = kind
        if fmt is not None:
            self.format = fmt
        if self.kind == "hbars":
            self.setMinimumHeight(max(120, 26 * len(self.points) + 16))
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(420, 220)

    # -- drawing ---------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._hits = []
        area = QRectF(self.rect()).adjusted(8, 8, -8, -8)
        if not self.points:
            painter.setPen(MUTED)
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, self.empty_text)
            painter.end()
            return
        if self.kind == "hbars":
            self._draw_hbars(painter, area)
        else:
            self._draw_columns(painter, area)
        painter.end()

    def _draw_columns(self, painter: QPainter, area: QRectF) -> None:
        fm = QFontMetrics(self.font())
        top = nice_ceiling(max(v for _, v in self.points))
        if all(v == int(v) for _, v in self.points) and top % 4:
            top = float(max(4, math.ceil(max(v for _, v in self.points) / 4) * 4))
        axis_w = fm.horizontalAdvance(self.format(top)) + 8
        plot = QRectF(area.left() + axis_w, area.top() + 4, area.width() - axis_w, 0)
        plot.setBottom(area.bottom() - fm.height() - 6)
        # Grid lines with their values.
        for i in range(5):
            value = top * i / 4
            y = plot.bottom() - plot.height() * i / 4
            painter.setPen(QPen(GRID, 1))
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(MUTED)
            painter.drawText(
                QRectF(area.left(), y - fm.height() / 2, axis_w - 6, fm.height()),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                self.format(value),
            )
        n = len(self.points)
        slot = plot.width() / n
        # Labels: as many as fit without overlapping.
        widest = max(fm.horizontalAdvance(label) for label, _ in self.points) + 10
        every = max(1, math.ceil(widest / max(slot, 1)))
        painter.setPen(MUTED)
        for i, (label, _) in enumerate(self.points):
            if i % every:
                continue
            x = plot.left() + slot * (i + 0.5)
            painter.drawText(
                QRectF(x - widest / 2, plot.bottom() + 4, widest, fm.height()),
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                label,
            )
        if self.kind == "line":
            path = QPainterPath()
            dots = []
            for i, (_, value) in enumerate(self.points):
                x = plot.left() + slot * (i + 0.5)
                y = plot.bottom() - plot.height() * value / top
                dots.append(QPointF(x, y))
                if i == 0:
                    path.moveTo(x, y)
                else:
                    path.lineTo(x, y)
            fill = QPainterPath(path)
            fill.lineTo(dots[-1].x(), plot.bottom())
            fill.lineTo(dots[0].x(), plot.bottom())
            fill.closeSubpath()
            soft = QColor(ACCENT_SOFT)
            soft.setAlpha(110)
            painter.fillPath(fill, soft)
            painter.setPen(QPen(ACCENT, 2))
            painter.drawPath(path)
            painter.setBrush(ACCENT)
            for dot, (label, value) in zip(dots, self.points, strict=True):
                if n <= 60:
                    painter.drawEllipse(dot, 2.5, 2.5)
                self._hits.append(
                    (
                        QRectF(dot.x() - slot / 2, plot.top(), slot, plot.height()),
                        f"{label}: {self.format(value)}",
                    )
                )
            return
        gap = min(8.0, slot * 0.25)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(ACCENT)
        for i, (label, value) in enumerate(self.points):
            h = plot.height() * value / top
            bar = QRectF(plot.left() + slot * i + gap / 2, plot.bottom() - h, slot - gap, h)
            painter.drawRoundedRect(bar, 2, 2)
            self._hits.append(
                (
                    QRectF(bar.left(), plot.top(), bar.width(), plot.height()),
                    f"{label}: {self.format(value)}",
                )
            )

    def _draw_hbars(self, painter: QPainter, area: QRectF) -> None:
        fm = QFontMetrics(self.font())
        top = max(v for _, v in self.points) or 1.0
        label_w = min(
            area.width() * 0.4, max(fm.horizontalAdvance(lb) for lb, _ in self.points) + 10
        )
        value_w = max(fm.horizontalAdvance(self.format(v)) for _, v in self.points) + 10
        row_h = min(28.0, area.height() / len(self.points))
        bar_h = max(6.0, row_h * 0.62)
        bar_w = max(10.0, area.width() - label_w - value_w)
        for i, (label, value) in enumerate(self.points):
            y = area.top() + row_h * i
            painter.setPen(TEXT)
            shown = fm.elidedText(label, Qt.TextElideMode.ElideRight, int(label_w - 8))
            painter.drawText(
                QRectF(area.left(), y, label_w - 8, row_h),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                shown,
            )
            track = QRectF(area.left() + label_w, y + (row_h - bar_h) / 2, bar_w, bar_h)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(GRID)
            painter.drawRoundedRect(track, 3, 3)
            painter.setBrush(ACCENT)
            painter.drawRoundedRect(
                QRectF(track.left(), track.top(), max(2.0, bar_w * value / top), bar_h), 3, 3
            )
            painter.setPen(TEXT)
            painter.drawText(
                QRectF(track.right() + 6, y, value_w, row_h),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                self.format(value),
            )
            self._hits.append(
                (QRectF(area.left(), y, area.width(), row_h), f"{label}: {self.format(value)}")
            )

    # -- tooltips ----------------------------------------------------------------

    def tooltip_at(self, x: float, y: float) -> str:
        for rect, text in self._hits:
            if rect.contains(QPointF(x, y)):
                return text
        return ""

    def event(self, e: QEvent) -> bool:
        if e.type() == QEvent.Type.ToolTip and isinstance(e, QHelpEvent):
            text = self.tooltip_at(e.pos().x(), e.pos().y())
            if text:
                QToolTip.showText(e.globalPos(), text, self)
            else:
                QToolTip.hideText()
            return True
        return super().event(e)
