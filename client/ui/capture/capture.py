"""Taking a screenshot from the portal: hide the portal, freeze the screen,
let the user choose, give the image back, show the portal again.

Sequence (nothing waits on the GUI thread):

1. Every visible top-level window of the portal is hidden.
2. A single-shot QTimer gives the compositor ``settle_ms`` (200 ms) to take
   the windows off the screen, including fade-out animations.
3. The desktop is frozen with :func:`grab_snapshot` (``mss``: a few ms).
4. Region and window modes show the :class:`RegionSelector` overlays; the
   screen mode crops the monitor under the cursor straight away.
5. The portal's windows are shown again and :attr:`ScreenCapture.captured`
   carries a QImage (``Format_RGB32``, physical pixels), or ``cancelled`` /
   ``failed(message)`` is emitted.

A modal dialog cannot be hidden without ending its ``exec()``; it is made
fully transparent and minimised instead, and restored afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QPointF, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QCursor, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QDialog, QWidget

from client.core.imaging import MAX_PIXELS, MAX_SIDE
from client.ui.capture import windows as native_windows
from client.ui.capture.region import RegionSelector
from client.ui.capture.snapshot import CaptureError, Snapshot, grab_snapshot

log = logging.getLogger(__name__)

SETTLE_MS = 200
"""How long the compositor gets to take the portal off the screen."""

MODES = ("region", "screen", "window")


@dataclass(slots=True)
class _Hidden:
    widget: QWidget
    how: str  # "hidden" or "transparent"
    opacity: float
    state: Qt.WindowState


def window_capture_supported() -> bool:
    """Whether "capture a window" works here (X11 and Windows; not Wayland
    or macOS). The UI hides the option when this is False."""
    return native_windows.supported(QGuiApplication.platformName())


class ScreenCapture(QObject):
    """Captures the screen for the ticket form. One capture at a time.

    Signals:
        captured(QImage): the chosen area, in physical pixels.
        cancelled(): the user pressed Esc / right-clicked.
        failed(str): a translated sentence saying why nothing was captured.
        started(): the portal is hidden and the screen is about to be frozen.
    """

    captured = Signal(QImage)
    cancelled = Signal()
    failed = Signal(str)
    started = Signal()

    def __init__(self, parent: QObject | None = None, *, settle_ms: int = SETTLE_MS) -> None:
        super().__init__(parent)
        self.settle_ms = settle_ms
        self._busy = False
        self._hidden: list[_Hidden] = []
        self._focus: QWidget | None = None
        self._selector: RegionSelector | None = None
        self._snapshot: Snapshot | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._mode = "region"
        self._timer.timeout.connect(self._grab)
        # Replaceable so tests can freeze a made-up desktop.
        self.grabber: Callable[[], Snapshot] = grab_snapshot

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def selector(self) -> RegionSelector | None:
        """The overlay controller while the user is choosing."""
        return self._selector

    # -- public API ---------------------------------------------------------------

    def capture_region(self, parent_window: QWidget | None = None) -> bool:
        """Let the user drag a rectangle (a click takes the whole screen).
        Returns False if a capture is already running."""
        return self._begin("region", parent_window)

    def capture_screen(self, parent_window: QWidget | None = None) -> bool:
        """Capture the whole monitor under the mouse pointer."""
        return self._begin("screen", parent_window)

    def capture_window(self, parent_window: QWidget | None = None) -> bool:
        """Let the user click a window (see :func:`window_capture_supported`)."""
        if not window_capture_supported():
            self.failed.emit(self.tr("Capturing a single window is not possible on this desktop."))
            return False
        return self._begin("window", parent_window)

    def capture(self, mode: str, parent_window: QWidget | None = None) -> bool:
        """``mode`` is ``region``, ``screen`` or ``window``."""
        if mode == "window":
            return self.capture_window(parent_window)
        if mode not in MODES:
            raise ValueError(f"unknown capture mode {mode!r}")
        return self._begin(mode, parent_window)

    def cancel(self) -> None:
        """Abandon a capture in progress (emits ``cancelled``)."""
        if not self._busy:
            return
        self._timer.stop()
        if self._selector is not None:
            self._selector.cancel()  # comes back through _on_cancelled
        else:
            self._end()
            self.cancelled.emit()

    # -- steps ------------------------------------------------------------------------

    def _begin(self, mode: str, parent_window: QWidget | None) -> bool:
        if self._busy:
            log.info("a screen capture is already running")
            return False
        self._busy = True
        self._mode = mode
        self._focus = parent_window.window() if parent_window is not None else None
        self._hide_portal()
        self.started.emit()
        # With nothing to take off the screen there is nothing to wait for.
        self._timer.start(self.settle_ms if self._hidden else 0)
        return True

    def _hide_portal(self) -> None:
        self._hidden = []
        for widget in QApplication.topLevelWidgets():
            if not widget.isVisible() or not widget.isWindow():
                continue
            if widget.windowType() in (Qt.WindowType.ToolTip, Qt.WindowType.Popup):
                continue
            record = _Hidden(widget, "hidden", widget.windowOpacity(), widget.windowState())
            if isinstance(widget, QDialog) and widget.isModal():
                # hide() would end the dialog's exec(); make it vanish instead.
                record.how = "transparent"
                widget.setWindowOpacity(0.0)
                widget.showMinimized()
            else:
                widget.hide()
            self._hidden.append(record)

    def _restore_portal(self) -> None:
        for record in reversed(self._hidden):
            widget = record.widget
            try:
                if record.how == "transparent":
                    widget.setWindowState(record.state)
                    widget.setWindowOpacity(record.opacity)
                    widget.show()
                else:
                    widget.show()
            except RuntimeError:  # the window was deleted meanwhile
                continue
        self._hidden = []
        if self._focus is not None:
            try:
                self._focus.raise_()
                self._focus.activateWindow()
            except RuntimeError:
                pass

    def _grab(self) -> None:
        try:
            snapshot = self.grabber()
        except CaptureError as exc:
            log.warning("screen capture failed: %s", exc)
            self._fail(self._message_for(exc))
            return
        except Exception:
            log.exception("screen capture failed")
            self._fail(self.tr("The screen could not be captured."))
            return
        self._snapshot = snapshot
        if self._mode == "screen":
            screen = snapshot.screen_at(QPointF(QCursor.pos()))
            self._on_selected(QRect(screen.physical))
            return
        selector = RegionSelector(snapshot, self._mode, self)
        selector.selected.connect(self._on_selected)
        selector.cancelled.connect(self._on_cancelled)
        self._selector = selector
        selector.start()

    def _message_for(self, exc: CaptureError) -> str:
        if exc.code == "unsupported":
            return self.tr(
                "This desktop does not allow HelpBridge to capture the screen (for example "
                "a Wayland session). Take a screenshot with your desktop's own tool, then "
                "paste it here with Ctrl+V or drop the file."
            )
        return self.tr("The screen could not be captured.")

    def _on_selected(self, area: QRect) -> None:
        snapshot = self._snapshot
        assert snapshot is not None
        if (
            area.width() > MAX_SIDE
            or area.height() > MAX_SIDE
            or (area.width() * area.height() > MAX_PIXELS)
        ):
            self._fail(
                self.tr("The selected area is too large (at most %1 pixels a side).").replace(
                    "%1", str(MAX_SIDE)
                )
            )
            return
        image = snapshot.crop(area)
        self._end()
        self.captured.emit(image)

    def _on_cancelled(self) -> None:
        self._end()
        self.cancelled.emit()

    def _fail(self, message: str) -> None:
        self._end()
        self.failed.emit(message)

    def _end(self) -> None:
        if self._selector is not None:
            self._selector.deleteLater()
            self._selector = None
        self._snapshot = None
        self._restore_portal()
        self._busy = False
