"""Choosing what to capture on a frozen screen: a rectangle or a window.

Every screen gets a frameless, always-on-top overlay showing its part of the
frozen desktop at its own devicePixelRatio, so the picture is pixel-exact
on HiDPI. Together the overlays cover the whole virtual desktop; one window
spanning monitors of different scale factors cannot be drawn correctly, and
macOS does not let a window span displays at all.

Selection lives in snapshot image pixels. Mouse positions are global logical
coordinates; :meth:`Snapshot.to_image` maps them through the screen they are
on, so a drag from one monitor to another gives the right pixels at both ends.

* region mode: drag a rectangle; a click without dragging takes that screen.
* window mode: the window under the cursor is outlined; a click takes it.
* Esc or the right mouse button cancels.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QCursor,
    QFont,
    QGuiApplication,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import QWidget

from client.ui.capture.snapshot import ScreenInfo, Snapshot

ACCENT = QColor("#3b82f6")
VEIL = QColor(0, 0, 0, 110)
CLICK_SLOP = 4
"""A press and release closer than this (logical px) is a click, not a drag."""


class _ScreenOverlay(QWidget):
    """Shows one screen's part of the snapshot and forwards input."""

    def __init__(self, selector: RegionSelector, info: ScreenInfo) -> None:
        flags = (
            Qt.WindowType.FramelessWindowHint
            | Qt.WindowType.WindowStaysOnTopHint
            | Qt.WindowType.Tool
        )
        if QGuiApplication.platformName() == "xcb":
            # Unmanaged (override-redirect) on X11: the window manager can
            # neither move it nor keep panels and docks above it. Keyboard
            # input then needs the grab that RegionSelector.start() takes.
            flags |= Qt.WindowType.BypassWindowManagerHint
        super().__init__(None, flags)
        self._selector = selector
        self.info = info
        self.setObjectName("CaptureOverlay")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMouseTracking(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setWindowTitle(self.tr("Screen capture"))
        piece = selector.snapshot.image.copy(info.physical)
        # Drawn at this ratio, one image pixel is one device pixel.
        piece.setDevicePixelRatio(info.ratio_x)
        self._piece: QImage = piece
        if info.screen is not None:
            self.setScreen(info.screen)
        self.setGeometry(info.logical)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.drawImage(QPointF(0, 0), self._piece)
        painter.fillRect(self.rect(), VEIL)
        area = self._selector.highlight()
        if area is not None:
            self._paint_area(painter, area)
        if self._selector.hint_screen() is self.info:
            self._paint_hint(painter)
        painter.end()

    def _local_rect(self, area: QRect) -> QRectF:
        top_left = self.info.to_local(area.x(), area.y())
        bottom_right = self.info.to_local(area.x() + area.width(), area.y() + area.height())
        return QRectF(top_left, bottom_right)

    def _paint_area(self, painter: QPainter, area: QRect) -> None:
        local = self._local_rect(area).intersected(QRectF(self.rect()))
        if local.isEmpty():
            return
        painter.save()
        painter.setClipRect(local)
        painter.drawImage(QPointF(0, 0), self._piece)
        painter.restore()
        painter.setPen(QPen(ACCENT, 2))
        painter.drawRect(local.adjusted(1, 1, -1, -1))
        label = f"{area.width()} × {area.height()}"
        font = QFont(self.font())
        font.setPointSizeF(max(9.0, font.pointSizeF()))
        painter.setFont(font)
        metrics = painter.fontMetrics()
        box = QRectF(0, 0, metrics.horizontalAdvance(label) + 12, metrics.height() + 6)
        box.moveTopLeft(local.topLeft() + QPointF(0, -box.height() - 4))
        if box.top() < 0:
            box.moveTopLeft(local.topLeft() + QPointF(4, 4))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(17, 24, 39, 220))
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(QColor("white"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, label)

    def _paint_hint(self, painter: QPainter) -> None:
        text = self._selector.hint_text()
        font = QFont(self.font())
        font.setPointSizeF(max(10.0, font.pointSizeF() + 1))
        painter.setFont(font)
        metrics = painter.fontMetrics()
        box = QRectF(0, 0, metrics.horizontalAdvance(text) + 32, metrics.height() + 16)
        box.moveCenter(QPointF(self.width() / 2, 24 + box.height() / 2))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(17, 24, 39, 225))
        painter.drawRoundedRect(box, 8, 8)
        painter.setPen(QColor("white"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    # -- input: everything goes to the selector in global coordinates --------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._selector.press(event.button(), event.globalPosition())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._selector.move(event.globalPosition())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._selector.release(event.button(), event.globalPosition())

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self._selector.cancel()
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._selector.take_screen(QPointF(QCursor.pos()))
        else:
            super().keyPressEvent(event)


class RegionSelector(QObject):
    """Lets the user pick a rectangle (``mode="region"``) or a window
    (``mode="window"``) on a frozen snapshot.

    Signals:
        selected(QRect): the chosen area in snapshot image pixels (never empty).
        cancelled(): Esc, right click, or :meth:`cancel`.
    """

    selected = Signal(QRect)
    cancelled = Signal()

    def __init__(self, snapshot: Snapshot, mode: str = "region", parent: QObject | None = None):
        super().__init__(parent)
        if mode not in ("region", "window"):
            raise ValueError(f"unknown capture mode {mode!r}")
        self.snapshot = snapshot
        self.mode = mode
        self.overlays: list[_ScreenOverlay] = []
        self._press_global: QPointF | None = None
        self._anchor: QPoint | None = None
        self._current: QPoint | None = None
        self._hover: QRect | None = None
        self._hint_screen: ScreenInfo | None = None
        self._done = False

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        """Show the overlays and take the keyboard."""
        cursor = QPointF(QCursor.pos())
        self._hint_screen = self.snapshot.screen_at(cursor)
        for info in self.snapshot.screens:
            overlay = _ScreenOverlay(self, info)
            self.overlays.append(overlay)
            overlay.show()
        if self.mode == "window":
            self._hover = self.snapshot.window_at(self.snapshot.to_image(cursor))
        active = self._overlay_for(self._hint_screen) or self.overlays[0]
        active.raise_()
        active.activateWindow()
        active.setFocus()
        # The window manager may not focus an always-on-top tool window; the
        # grab makes sure Esc still reaches us.
        active.grabKeyboard()
        app = QGuiApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        self._repaint()

    def _overlay_for(self, info: ScreenInfo | None) -> _ScreenOverlay | None:
        return next((o for o in self.overlays if o.info is info), None)

    def _close(self) -> None:
        self._done = True
        app = QGuiApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        for overlay in self.overlays:
            overlay.releaseKeyboard()
            overlay.close()
        self.overlays = []

    def cancel(self) -> None:
        if self._done:
            return
        self._close()
        self.cancelled.emit()

    def _finish(self, area: QRect) -> None:
        if self._done:
            return
        area = area.intersected(self.snapshot.image.rect())
        if area.isEmpty():
            self.cancel()
            return
        self._close()
        self.selected.emit(area)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # The application may lose the overlays' focus (another window
        # popped up); Esc must still work, so it is watched app-wide.
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Escape
            and not self._done
        ):
            self.cancel()
            return True
        return False

    # -- what the overlays draw -------------------------------------------------

    def highlight(self) -> QRect | None:
        """The area to show undimmed: the drag rectangle or the hovered window."""
        if self._anchor is not None and self._current is not None:
            return QRect(self._anchor, self._current).normalized().adjusted(0, 0, -1, -1)
        return self._hover

    def selection(self) -> QRect | None:
        """The current drag rectangle (exclusive end), if dragging."""
        if self._anchor is None or self._current is None:
            return None
        x0, y0 = self._anchor.x(), self._anchor.y()
        x1, y1 = self._current.x(), self._current.y()
        return QRect(min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0))

    def hint_screen(self) -> ScreenInfo | None:
        return self._hint_screen

    def hint_text(self) -> str:
        if self.mode == "window":
            return self.tr("Click a window to capture it  ·  Esc to cancel")
        return self.tr(
            "Drag to select an area  ·  Click to capture the whole screen  ·  Esc to cancel"
        )

    def _repaint(self) -> None:
        for overlay in self.overlays:
            overlay.update()

    # -- input ----------------------------------------------------------------------

    def press(self, button: Qt.MouseButton, pos: QPointF) -> None:
        if button == Qt.MouseButton.RightButton:
            self.cancel()
            return
        if button != Qt.MouseButton.LeftButton:
            return
        self._press_global = QPointF(pos)
        if self.mode == "region":
            self._anchor = self.snapshot.to_image(pos)
            self._current = QPoint(self._anchor)
        self._repaint()

    def move(self, pos: QPointF) -> None:
        if self.mode == "window":
            hover = self.snapshot.window_at(self.snapshot.to_image(pos))
            if hover != self._hover:
                self._hover = hover
                self._repaint()
            return
        if self._anchor is not None:
            self._current = self.snapshot.to_image(pos)
            self._repaint()

    def release(self, button: Qt.MouseButton, pos: QPointF) -> None:
        if button != Qt.MouseButton.LeftButton or self._press_global is None:
            return
        moved = (pos - self._press_global).manhattanLength()
        self._press_global = None
        if self.mode == "window":
            pixel = self.snapshot.to_image(pos)
            window = self.snapshot.window_at(pixel)
            self._finish(window if window is not None else self._screen_rect(pos))
            return
        self._current = self.snapshot.to_image(pos)
        area = self.selection()
        if moved < CLICK_SLOP or area is None or area.isEmpty():
            self.take_screen(pos)
        else:
            self._finish(area)

    def take_screen(self, pos: QPointF) -> None:
        """Select the whole screen under a global logical point."""
        self._finish(self._screen_rect(pos))

    def _screen_rect(self, pos: QPointF) -> QRect:
        return QRect(self.snapshot.screen_at(pos).physical)
