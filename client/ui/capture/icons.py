"""Toolbar icons of the annotation editor, drawn with QPainter so they are
sharp at any scale and need no image files."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPainterPath, QPen, QPixmap, QPolygonF

INK = QColor("#374151")
SIZE = 24


def _canvas(draw: Callable[[QPainter], None]) -> QIcon:
    icon = QIcon()
    for scale in (1, 2, 3):
        pixmap = QPixmap(SIZE * scale, SIZE * scale)
        pixmap.setDevicePixelRatio(scale)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(INK, 1.8)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        draw(painter)
        painter.end()
        icon.addPixmap(pixmap)
    return icon


def _select(p: QPainter) -> None:
    p.setBrush(INK)
    p.drawPolygon(
        QPolygonF(
            [
                QPointF(7, 4),
                QPointF(7, 19),
                QPointF(10.5, 15.5),
                QPointF(13, 20.5),
                QPointF(15.3, 19.4),
                QPointF(12.8, 14.5),
                QPointF(17.5, 14.2),
            ]
        )
    )


def _rect(p: QPainter) -> None:
    p.drawRoundedRect(QRectF(4, 6, 16, 12), 2, 2)


def _arrow(p: QPainter) -> None:
    p.drawLine(QPointF(5, 19), QPointF(17, 7))
    p.setBrush(INK)
    p.drawPolygon(QPolygonF([QPointF(19.5, 4.5), QPointF(18.3, 12), QPointF(12, 5.7)]))


def _pen(p: QPainter) -> None:
    path = QPainterPath(QPointF(4, 16))
    path.cubicTo(QPointF(7, 6), QPointF(10, 6), QPointF(12, 12))
    path.cubicTo(QPointF(14, 18), QPointF(17, 18), QPointF(20, 8))
    p.drawPath(path)


def _text(p: QPainter) -> None:
    font = QFont()
    font.setPixelSize(17)
    font.setBold(True)
    p.setFont(font)
    p.drawText(QRectF(0, 0, SIZE, SIZE), Qt.AlignmentFlag.AlignCenter, "T")


def _marker(p: QPainter) -> None:
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(INK)
    p.drawEllipse(QPointF(12, 12), 8.5, 8.5)
    font = QFont()
    font.setPixelSize(11)
    font.setBold(True)
    p.setFont(font)
    p.setPen(QColor("white"))
    p.drawText(QRectF(0, 0, SIZE, SIZE), Qt.AlignmentFlag.AlignCenter, "1")


def _crop(p: QPainter) -> None:
    p.drawPolyline(QPolygonF([QPointF(7, 3), QPointF(7, 17), QPointF(21, 17)]))
    p.drawPolyline(QPolygonF([QPointF(3, 7), QPointF(17, 7), QPointF(17, 21)]))


def _redact(p: QPainter) -> None:
    p.setPen(Qt.PenStyle.NoPen)
    shades = ("#4b5563", "#9ca3af", "#d1d5db", "#6b7280")
    for i, (x, y) in enumerate(((4, 4), (12, 4), (4, 12), (12, 12))):
        p.setBrush(QColor(shades[i]))
        p.drawRect(QRectF(x, y, 8, 8))


def _curve(p: QPainter, mirrored: bool) -> None:
    if mirrored:
        p.translate(SIZE, 0)
        p.scale(-1, 1)
    path = QPainterPath(QPointF(7, 10))
    path.cubicTo(QPointF(11, 5), QPointF(20, 6), QPointF(19, 14))
    path.cubicTo(QPointF(18.5, 18), QPointF(15, 19.5), QPointF(12, 19.5))
    p.drawPath(path)
    p.setBrush(INK)
    p.drawPolygon(QPolygonF([QPointF(4, 6), QPointF(10, 6.5), QPointF(5.5, 12)]))


def _undo(p: QPainter) -> None:
    _curve(p, False)


def _redo(p: QPainter) -> None:
    _curve(p, True)


def _fit(p: QPainter) -> None:
    for sx, sy in ((1, 1), (-1, 1), (1, -1), (-1, -1)):
        cx, cy = 12 - sx * 7.5, 12 - sy * 7.5
        p.drawPolyline(
            QPolygonF([QPointF(cx, cy + sy * 5), QPointF(cx, cy), QPointF(cx + sx * 5, cy)])
        )


def _actual(p: QPainter) -> None:
    font = QFont()
    font.setPixelSize(11)
    font.setBold(True)
    p.setFont(font)
    p.drawText(QRectF(0, 0, SIZE, SIZE), Qt.AlignmentFlag.AlignCenter, "1:1")


def _delete(p: QPainter) -> None:
    p.drawLine(QPointF(5, 7), QPointF(19, 7))
    p.drawLine(QPointF(10, 4.5), QPointF(14, 4.5))
    p.drawRoundedRect(QRectF(7, 7, 10, 13), 1.5, 1.5)


_DRAWERS: dict[str, Callable[[QPainter], None]] = {
    "select": _select,
    "rect": _rect,
    "arrow": _arrow,
    "pen": _pen,
    "text": _text,
    "marker": _marker,
    "crop": _crop,
    "redact": _redact,
    "undo": _undo,
    "redo": _redo,
    "fit": _fit,
    "actual": _actual,
    "delete": _delete,
}


@cache
def tool_icon(name: str) -> QIcon:
    drawer = _DRAWERS.get(name)
    return _canvas(drawer) if drawer is not None else QIcon()


def swatch_icon(colour: QColor) -> QIcon:
    """A filled disc showing the current annotation colour."""

    def draw(p: QPainter) -> None:
        p.setPen(QPen(QColor("#9ca3af"), 1))
        p.setBrush(colour)
        p.drawEllipse(QPointF(12, 12), 8, 8)

    return _canvas(draw)
