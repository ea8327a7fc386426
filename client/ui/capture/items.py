"""The annotation editor's vector items and undo commands.

Annotations stay QGraphicsItems until export, so they can be selected,
moved, deleted and undone. Redaction areas are items too, but only as
markers: their effect is applied to the pixel data (see
:func:`client.core.imaging.apply_redactions`) and they are never drawn
into the exported image.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from PySide6.QtCore import QLineF, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFocusEvent,
    QFont,
    QKeyEvent,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
    QPolygonF,
    QUndoCommand,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsTextItem,
    QStyleOptionGraphicsItem,
    QWidget,
)

from client.core.imaging import Box, Redaction, RedactionStyle

MOVABLE = (
    QGraphicsItem.GraphicsItemFlag.ItemIsSelectable | QGraphicsItem.GraphicsItemFlag.ItemIsMovable
)


def _pen(colour: QColor, width: float) -> QPen:
    pen = QPen(colour, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


class RectItem(QGraphicsRectItem):
    kind = "rect"

    def __init__(self, rect: QRectF, colour: QColor, width: float) -> None:
        super().__init__(rect)
        self.setPen(_pen(colour, width))
        self.setBrush(Qt.BrushStyle.NoBrush)
        self.setFlags(MOVABLE)


class ArrowItem(QGraphicsPathItem):
    """A filled arrow from ``line.p1()`` to its head at ``line.p2()``."""

    kind = "arrow"

    def __init__(self, line: QLineF, colour: QColor, width: float) -> None:
        super().__init__()
        self.width = width
        self.setPen(Qt.PenStyle.NoPen)
        self.setBrush(QBrush(colour))
        self.setFlags(MOVABLE)
        self.set_line(line)

    def set_line(self, line: QLineF) -> None:
        self.line = QLineF(line)
        self.setPath(arrow_path(line, self.width))


def arrow_path(line: QLineF, width: float) -> QPainterPath:
    path = QPainterPath()
    length = line.length()
    if length < 1:
        path.addEllipse(line.p1(), width / 2, width / 2)
        return path
    dx, dy = line.dx() / length, line.dy() / length
    nx, ny = -dy, dx
    head = min(length * 0.6, width * 4.5)
    spread = max(width * 3.4, 10.0)
    tip = line.p2()
    base = QPointF(tip.x() - dx * head, tip.y() - dy * head)

    def off(point: QPointF, amount: float) -> QPointF:
        return QPointF(point.x() + nx * amount, point.y() + ny * amount)

    tail = line.p1()
    polygon = QPolygonF(
        [
            off(tail, width / 2),
            off(base, width / 2),
            off(base, spread / 2),
            tip,
            off(base, -spread / 2),
            off(base, -width / 2),
            off(tail, -width / 2),
        ]
    )
    path.addPolygon(polygon)
    path.closeSubpath()
    return path


class PenItem(QGraphicsPathItem):
    """A freehand stroke."""

    kind = "pen"

    def __init__(self, start: QPointF, colour: QColor, width: float) -> None:
        super().__init__()
        path = QPainterPath(start)
        self.setPath(path)
        self.setPen(_pen(colour, width))
        self.setFlags(MOVABLE)

    def extend(self, point: QPointF) -> None:
        path = self.path()
        path.lineTo(point)
        self.setPath(path)

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(max(self.pen().widthF(), 8.0))
        return stroker.createStroke(self.path())


class TextItem(QGraphicsTextItem):
    """Text typed straight onto the image; Esc or clicking elsewhere ends editing."""

    kind = "text"

    def __init__(
        self,
        colour: QColor,
        pixel_size: int,
        on_finished: Callable[[TextItem], None] | None = None,
        on_started: Callable[[TextItem], None] | None = None,
    ) -> None:
        super().__init__()
        font = QFont()
        font.setPixelSize(pixel_size)
        font.setBold(True)
        self.setFont(font)
        self.setDefaultTextColor(colour)
        self.setFlags(MOVABLE | QGraphicsItem.GraphicsItemFlag.ItemIsFocusable)
        self._on_finished = on_finished
        self._on_started = on_started

    @property
    def editing(self) -> bool:
        return self.textInteractionFlags() != Qt.TextInteractionFlag.NoTextInteraction

    def start_editing(self) -> None:
        if self._on_started is not None and not self.editing:
            self._on_started(self)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextEditorInteraction)
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        cursor = self.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        self.setTextCursor(cursor)

    def finish_editing(self) -> None:
        if not self.editing:
            return
        self.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        cursor = self.textCursor()
        cursor.clearSelection()
        self.setTextCursor(cursor)
        self.clearFocus()
        if self._on_finished is not None:
            self._on_finished(self)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            # Ends the text, not the dialog.
            event.accept()
            self.finish_editing()
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        # Losing focus to a popup (the input method, a context menu) is not the end.
        if event.reason() != Qt.FocusReason.PopupFocusReason:
            self.finish_editing()

    def mouseDoubleClickEvent(self, event: object) -> None:
        self.start_editing()


class MarkerItem(QGraphicsItem):
    """A numbered disc: 1, 2, 3... in the order the steps happen."""

    kind = "marker"

    def __init__(self, number: int, colour: QColor, diameter: float) -> None:
        super().__init__()
        self.number = number
        self.colour = QColor(colour)
        self.diameter = diameter
        self.setFlags(MOVABLE)

    def boundingRect(self) -> QRectF:
        r = self.diameter / 2 + 2
        return QRectF(-r, -r, 2 * r, 2 * r)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addEllipse(QPointF(0, 0), self.diameter / 2, self.diameter / 2)
        return path

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        radius = self.diameter / 2
        painter.setPen(QPen(QColor("white"), max(1.5, self.diameter / 14)))
        painter.setBrush(self.colour)
        painter.drawEllipse(QPointF(0, 0), radius, radius)
        font = QFont()
        font.setBold(True)
        digits = len(str(self.number))
        font.setPixelSize(max(6, round(self.diameter * (0.58 if digits < 2 else 0.46))))
        painter.setFont(font)
        painter.setPen(text_colour_on(self.colour))
        painter.drawText(
            QRectF(-radius, -radius, 2 * radius, 2 * radius),
            Qt.AlignmentFlag.AlignCenter,
            str(self.number),
        )
        if self.isSelected():
            painter.setPen(QPen(QColor("#3b82f6"), 1.5, Qt.PenStyle.DashLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(QPointF(0, 0), radius + 1, radius + 1)


def text_colour_on(colour: QColor) -> QColor:
    """Black or white, whichever reads better on ``colour``."""
    luminance = 0.299 * colour.red() + 0.587 * colour.green() + 0.114 * colour.blue()
    return QColor("#111827") if luminance > 170 else QColor("white")


class RedactionItem(QGraphicsRectItem):
    """Where a redaction applies. Drawn as a thin dashed frame in the editor
    only; the pixels themselves are replaced in the background image."""

    kind = "redaction"

    def __init__(self, rect: QRect, style: RedactionStyle, block: int) -> None:
        super().__init__(QRectF(rect))
        self.style: RedactionStyle = style
        self.block = block
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        pen = QPen(QColor("#2563eb"), 1, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self.setPen(pen)
        self.setZValue(-50)

    def redaction(self) -> Redaction:
        rect = self.mapRectToScene(self.rect()).toAlignedRect()
        return Redaction(
            Box(rect.x(), rect.y(), rect.width(), rect.height()), self.style, self.block
        )


# -- undo commands --------------------------------------------------------------------


class AddItemCommand(QUndoCommand):
    """Adds an item; the first redo leaves an item that is already in the
    scene (it was drawn there interactively) where it is."""

    def __init__(
        self,
        scene: QGraphicsScene,
        item: QGraphicsItem,
        text: str,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(text)
        self.scene = scene
        self.item = item  # the command owns the item while it is undone
        self.on_change = on_change

    def redo(self) -> None:
        if self.item.scene() is not self.scene:
            self.scene.addItem(self.item)
        if self.on_change is not None:
            self.on_change()

    def undo(self) -> None:
        self.item.setSelected(False)
        self.scene.removeItem(self.item)
        if self.on_change is not None:
            self.on_change()


class RemoveItemsCommand(QUndoCommand):
    def __init__(
        self,
        scene: QGraphicsScene,
        items: Sequence[QGraphicsItem],
        text: str,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(text)
        self.scene = scene
        self.items = list(items)
        self.on_change = on_change

    def redo(self) -> None:
        for item in self.items:
            item.setSelected(False)
            if item.scene() is self.scene:
                self.scene.removeItem(item)
        if self.on_change is not None:
            self.on_change()

    def undo(self) -> None:
        for item in self.items:
            self.scene.addItem(item)
        if self.on_change is not None:
            self.on_change()


class MoveItemsCommand(QUndoCommand):
    """Records a drag the view already performed (the first redo does nothing)."""

    def __init__(
        self,
        moves: Sequence[tuple[QGraphicsItem, QPointF, QPointF]],
        text: str,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(text)
        self.moves = [(item, QPointF(old), QPointF(new)) for item, old, new in moves]
        self.on_change = on_change

    def redo(self) -> None:
        for item, _old, new in self.moves:
            item.setPos(new)
        if self.on_change is not None:
            self.on_change()

    def undo(self) -> None:
        for item, old, _new in self.moves:
            item.setPos(old)
        if self.on_change is not None:
            self.on_change()


class CallbackCommand(QUndoCommand):
    """An undoable change expressed as two callables (used for cropping)."""

    def __init__(self, text: str, do: Callable[[], None], undo: Callable[[], None]) -> None:
        super().__init__(text)
        self._do = do
        self._undo = undo

    def redo(self) -> None:
        self._do()

    def undo(self) -> None:
        self._undo()


def distance(a: QPointF, b: QPointF) -> float:
    return math.hypot(a.x() - b.x(), a.y() - b.y())
