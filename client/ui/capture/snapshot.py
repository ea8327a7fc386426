"""Freezing the screen: one image of the whole virtual desktop, and where each
monitor lies in it, both in Qt's logical coordinates and in image pixels.

Grabbing uses ``mss`` (X11, Windows, macOS): it copies the desktop as BGRA,
which is what ``QImage.Format_RGB32`` is in memory on little-endian machines,
so the pixels go into a QImage without conversion. When ``mss`` cannot work
(Wayland, an X server without the needed extensions) each screen is grabbed
with ``QScreen.grabWindow(0)``. Wayland compositors give neither to ordinary
applications; :class:`CaptureError` then says so.

Coordinates. Qt 6 places each screen at its *native* top-left position and
scales only its size (``QHighDpi::fromNativeScreenGeometry``), so a monitor
reported by ``mss`` at native (left, top) is the QScreen whose logical
geometry starts there. Mapping a logical point to a pixel therefore uses that
screen's own ratio of physical to logical size, which is right on HiDPI and
with monitors of different scale factors side by side.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QPoint, QPointF, QRect, QSize
from PySide6.QtGui import QGuiApplication, QImage, QPainter, QScreen

from client.ui.capture import windows as native_windows

log = logging.getLogger(__name__)


class CaptureError(RuntimeError):
    """The screen could not be captured; ``code`` is ``unsupported`` (Wayland
    without a portal) or ``failed``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(slots=True)
class ScreenInfo:
    """One monitor: ``logical`` is its QScreen geometry (Qt's global logical
    coordinates), ``physical`` its rectangle in the snapshot image."""

    name: str
    logical: QRect
    physical: QRect
    screen: QScreen | None = None

    @property
    def ratio_x(self) -> float:
        return self.physical.width() / max(1, self.logical.width())

    @property
    def ratio_y(self) -> float:
        return self.physical.height() / max(1, self.logical.height())

    def to_image(self, point: QPointF) -> QPoint:
        """The image pixel under a global logical point, kept on this screen
        (the right and bottom edges are reachable, so a drag to the edge
        includes the last pixel)."""
        x = self.physical.x() + round((point.x() - self.logical.x()) * self.ratio_x)
        y = self.physical.y() + round((point.y() - self.logical.y()) * self.ratio_y)
        x = min(max(x, self.physical.x()), self.physical.x() + self.physical.width())
        y = min(max(y, self.physical.y()), self.physical.y() + self.physical.height())
        return QPoint(x, y)

    def to_local(self, x: float, y: float) -> QPointF:
        """An image pixel position in this screen's widget coordinates."""
        return QPointF(
            (x - self.physical.x()) / self.ratio_x, (y - self.physical.y()) / self.ratio_y
        )


@dataclass(slots=True)
class Snapshot:
    """A frozen desktop: ``image`` holds every screen at its physical size."""

    image: QImage
    """Not to be kept beyond the snapshot: it may point into :attr:`buffer`."""
    screens: list[ScreenInfo]
    backend: str
    windows: list[QRect] = field(default_factory=list)
    """Visible top-level windows in image pixels, top-most first."""
    elapsed_ms: float = 0.0
    buffer: bytearray | None = field(default=None, repr=False)
    """The pixel memory ``image`` points into, when it does not own its own."""

    def screen_at(self, point: QPointF) -> ScreenInfo:
        """The screen containing a global logical point, or the nearest one."""
        px, py = point.x(), point.y()

        def distance(info: ScreenInfo) -> float:
            r = info.logical
            dx = max(r.left() - px, 0.0, px - (r.left() + r.width()))
            dy = max(r.top() - py, 0.0, py - (r.top() + r.height()))
            return dx * dx + dy * dy

        return min(self.screens, key=distance)

    def to_image(self, point: QPointF) -> QPoint:
        return self.screen_at(point).to_image(point)

    def screen_of_pixel(self, pixel: QPoint) -> ScreenInfo:
        for info in self.screens:
            if info.physical.contains(pixel):
                return info
        return self.screens[0]

    def window_at(self, pixel: QPoint) -> QRect | None:
        """The top-most window under an image pixel, clipped to the image."""
        for rect in self.windows:
            if rect.contains(pixel):
                return rect.intersected(self.image.rect())
        return None

    def crop(self, rect: QRect) -> QImage:
        """A copy of ``rect`` (image pixels, clipped to the image)."""
        return self.image.copy(rect.intersected(self.image.rect()))


def _monitor_rect(monitor: dict[str, Any], origin: QPoint, scale: float) -> QRect:
    return QRect(
        round((int(monitor["left"]) - origin.x()) * scale),
        round((int(monitor["top"]) - origin.y()) * scale),
        round(int(monitor["width"]) * scale),
        round(int(monitor["height"]) * scale),
    )


def match_screens(
    screens: list[tuple[str, QRect, float, QScreen | None]],
    monitors: list[dict[str, Any]],
    origin: QPoint,
    scale: float,
) -> list[ScreenInfo]:
    """Pair Qt screens (name, logical geometry, devicePixelRatio, screen) with
    ``mss`` monitors: by native top-left corner, else by physical size; a
    screen with no match gets its geometry times its devicePixelRatio."""
    infos: list[ScreenInfo] = []
    unused = list(monitors)
    for name, logical, dpr, screen in screens:
        match = next(
            (m for m in unused if (int(m["left"]), int(m["top"])) == (logical.x(), logical.y())),
            None,
        )
        if match is None:
            size = QSize(round(logical.width() * dpr), round(logical.height() * dpr))
            match = next(
                (
                    m
                    for m in unused
                    if (int(m["width"]), int(m["height"])) == (size.width(), size.height())
                ),
                None,
            )
        if match is not None:
            unused.remove(match)
            physical = _monitor_rect(match, origin, scale)
        else:
            physical = QRect(
                round((logical.x() - origin.x()) * scale),
                round((logical.y() - origin.y()) * scale),
                round(logical.width() * dpr),
                round(logical.height() * dpr),
            )
        infos.append(ScreenInfo(name, QRect(logical), physical, screen))
    return infos


def _qt_screens() -> list[tuple[str, QRect, float, QScreen | None]]:
    return [(s.name(), s.geometry(), s.devicePixelRatio(), s) for s in QGuiApplication.screens()]


def _grab_mss() -> Snapshot:
    import mss  # imported here: it opens no display until used, but keeps start-up lean

    with mss.MSS() as grabber:
        monitors = [dict(m) for m in grabber.monitors]
        whole = monitors[0]
        shot = grabber.grab(grabber.monitors[0])
    width, height = shot.width, shot.height
    # Equal on X11 and Windows; on macOS the grab is in pixels, monitors in points.
    scale = width / max(1, int(whole["width"]))
    # No copy: the QImage uses mss's buffer, which the snapshot keeps alive.
    # Everything handed out of a snapshot is a deep copy (Snapshot.crop).
    image = QImage(shot.raw, width, height, width * 4, QImage.Format.Format_RGB32)
    origin = QPoint(int(whole["left"]), int(whole["top"]))
    screens = match_screens(_qt_screens(), monitors[1:] or [whole], origin, scale)
    snapshot = Snapshot(image, screens, "mss", buffer=shot.raw)
    _add_windows(snapshot, origin, scale)
    return snapshot


def _grab_qt() -> Snapshot:
    pieces: list[tuple[QScreen, QImage]] = []
    for screen in QGuiApplication.screens():
        pixmap = screen.grabWindow(0)
        if not pixmap.isNull():
            pieces.append((screen, pixmap.toImage()))
    if not pieces:
        raise CaptureError(
            "unsupported", "this desktop does not let applications capture the screen"
        )
    # Native positions are the logical top-left corners (see the module docstring).
    rects = [QRect(s.geometry().topLeft(), img.size()) for s, img in pieces]
    bounds = rects[0]
    for rect in rects[1:]:
        bounds = bounds.united(rect)
    image = QImage(bounds.size(), QImage.Format.Format_RGB32)
    image.fill(0)
    painter = QPainter(image)
    infos = []
    for (screen, piece), rect in zip(pieces, rects, strict=True):
        piece.setDevicePixelRatio(1.0)
        physical = rect.translated(-bounds.topLeft())
        painter.drawImage(physical.topLeft(), piece)
        infos.append(ScreenInfo(screen.name(), screen.geometry(), physical, screen))
    painter.end()
    snapshot = Snapshot(image, infos, "qt")
    _add_windows(snapshot, bounds.topLeft(), 1.0)
    return snapshot


def _add_windows(snapshot: Snapshot, origin: QPoint, scale: float) -> None:
    app = QGuiApplication.instance()
    platform = QGuiApplication.platformName() if app is not None else ""
    if not native_windows.supported(platform):
        return
    for win in native_windows.list_windows():
        rect = QRect(
            round((win.x - origin.x()) * scale),
            round((win.y - origin.y()) * scale),
            round(win.width * scale),
            round(win.height * scale),
        ).intersected(snapshot.image.rect())
        if not rect.isEmpty():
            snapshot.windows.append(rect)


def grab_snapshot() -> Snapshot:
    """Freeze the whole virtual desktop (every screen), on the GUI thread.

    Raises :class:`CaptureError` when neither ``mss`` nor Qt can grab.
    """
    started = time.perf_counter()
    platform = QGuiApplication.platformName()
    snapshot: Snapshot | None = None
    if platform != "wayland" and not native_windows.is_wayland():
        try:
            snapshot = _grab_mss()
        except Exception as exc:  # any backend failure: fall back to Qt below
            log.warning("mss could not capture the screen (%s); trying Qt", exc)
    else:
        log.info("Wayland session: mss cannot see other applications; trying Qt")
    if snapshot is None:
        try:
            snapshot = _grab_qt()
        except CaptureError:
            raise
        except Exception as exc:
            raise CaptureError("failed", f"screen capture failed: {exc}") from exc
    if snapshot.image.isNull() or not snapshot.screens:
        raise CaptureError("failed", "screen capture returned no image")
    snapshot.elapsed_ms = (time.perf_counter() - started) * 1000
    log.debug(
        "captured %dx%d via %s in %.1f ms, %d screens, %d windows",
        snapshot.image.width(),
        snapshot.image.height(),
        snapshot.backend,
        snapshot.elapsed_ms,
        len(snapshot.screens),
        len(snapshot.windows),
    )
    return snapshot
