"""Frozen-screen geometry (logical → physical pixels on HiDPI and mixed
monitors) and the region/window overlay driven with the mouse."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from client.ui.capture.region import RegionSelector
from client.ui.capture.snapshot import ScreenInfo, Snapshot, match_screens

# Qt 6 keeps each screen's native top-left and scales its size, so a 2x
# laptop panel (2560x1600 px) next to a 1x monitor looks like this:
LAPTOP = ("eDP-1", QRect(0, 0, 1280, 800), 2.0, None)
MONITOR = ("DP-1", QRect(2560, 0, 1920, 1080), 1.0, None)
MSS_MONITORS = [
    {"left": 0, "top": 0, "width": 2560, "height": 1600},
    {"left": 2560, "top": 0, "width": 1920, "height": 1080},
]


def mixed_snapshot() -> Snapshot:
    infos = match_screens([LAPTOP, MONITOR], MSS_MONITORS, QPoint(0, 0), 1.0)
    image = QImage(4480, 1600, QImage.Format.Format_RGB32)
    image.fill(0)
    return Snapshot(image, infos, "test")


def test_screens_are_matched_by_native_origin() -> None:
    laptop, monitor = mixed_snapshot().screens
    assert laptop.physical == QRect(0, 0, 2560, 1600)
    assert monitor.physical == QRect(2560, 0, 1920, 1080)
    assert laptop.ratio_x == 2.0 and monitor.ratio_x == 1.0


def test_logical_points_map_to_physical_pixels_per_screen() -> None:
    snap = mixed_snapshot()
    assert snap.to_image(QPointF(100, 50)) == QPoint(200, 100)
    assert snap.to_image(QPointF(1279.5, 799.5)) == QPoint(2559, 1599)
    assert snap.to_image(QPointF(2600, 10)) == QPoint(2600, 10)
    # A drag from the laptop to the monitor gets the right pixels at both ends.
    a, b = snap.to_image(QPointF(1000, 700)), snap.to_image(QPointF(2700, 300))
    assert (a, b) == (QPoint(2000, 1400), QPoint(2700, 300))
    # Points outside every screen snap to the nearest one, clamped to its edge.
    assert snap.screen_at(QPointF(1500, 100)).name == "eDP-1"
    assert snap.to_image(QPointF(1500, 100)) == QPoint(2560, 200)
    assert snap.to_image(QPointF(-40, -40)) == QPoint(0, 0)


def test_unmatched_origins_fall_back_to_size_then_to_the_ratio() -> None:
    moved = [{"left": 10, "top": 0, "width": 2560, "height": 1600}]
    (by_size,) = match_screens([LAPTOP], moved, QPoint(10, 0), 1.0)
    assert by_size.physical == QRect(0, 0, 2560, 1600)
    (by_ratio,) = match_screens([LAPTOP], [], QPoint(0, 0), 1.0)
    assert by_ratio.physical == QRect(0, 0, 2560, 1600)
    # macOS: monitors in points, the grab in pixels (scale 2).
    retina = ("Built-in", QRect(0, 0, 1440, 900), 2.0, None)
    (mac,) = match_screens(
        [retina], [{"left": 0, "top": 0, "width": 1440, "height": 900}], QPoint(0, 0), 2.0
    )
    assert mac.physical == QRect(0, 0, 2880, 1800)


def test_window_hit_testing_prefers_the_top_most() -> None:
    snap = mixed_snapshot()
    snap.windows = [QRect(100, 100, 50, 50), QRect(0, 0, 400, 400), QRect(4400, 0, 200, 200)]
    assert snap.window_at(QPoint(120, 120)) == QRect(100, 100, 50, 50)
    assert snap.window_at(QPoint(300, 300)) == QRect(0, 0, 400, 400)
    assert snap.window_at(QPoint(4450, 10)) == QRect(4400, 0, 80, 200)  # clipped to the desktop
    assert snap.window_at(QPoint(1000, 1000)) is None


# -- the overlay on the (single) offscreen screen, with a 2x snapshot ---------------------


def hidpi_snapshot(windows: list[QRect] | None = None) -> Snapshot:
    """The offscreen screen as if it had devicePixelRatio 2: every logical
    pixel is 2x2 image pixels."""
    screen = QGuiApplication.primaryScreen()
    logical = screen.geometry()
    image = QImage(logical.width() * 2, logical.height() * 2, QImage.Format.Format_RGB32)
    image.fill(QColor("#22c55e"))
    info = ScreenInfo(screen.name(), logical, QRect(0, 0, image.width(), image.height()), screen)
    return Snapshot(image, [info], "test", windows or [])


@pytest.fixture
def selector(qtbot: QtBot) -> Iterator[Callable[..., RegionSelector]]:
    created: list[RegionSelector] = []

    def make(mode: str = "region", windows: list[QRect] | None = None) -> RegionSelector:
        sel = RegionSelector(hidpi_snapshot(windows), mode)
        sel.start()
        for overlay in sel.overlays:
            qtbot.waitExposed(overlay)
        created.append(sel)
        return sel

    yield make
    for sel in created:
        sel.cancel()


def test_drag_selects_physical_pixels(
    qtbot: QtBot, selector: Callable[..., RegionSelector]
) -> None:
    sel = selector()
    (overlay,) = sel.overlays
    assert overlay.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    assert overlay.windowFlags() & Qt.WindowType.FramelessWindowHint
    assert overlay.geometry() == sel.snapshot.screens[0].logical
    with qtbot.waitSignal(sel.selected, timeout=2000) as blocker:
        QTest.mousePress(overlay, Qt.MouseButton.LeftButton, pos=QPoint(10, 10))
        QTest.mouseMove(overlay, pos=QPoint(60, 40))
        QTest.mouseMove(overlay, pos=QPoint(110, 60))
        QTest.mouseRelease(overlay, Qt.MouseButton.LeftButton, pos=QPoint(110, 60))
    assert blocker.args[0] == QRect(20, 20, 200, 100)
    assert sel.overlays == []


def test_dragging_backwards_gives_the_same_rectangle(
    qtbot: QtBot, selector: Callable[..., RegionSelector]
) -> None:
    sel = selector()
    (overlay,) = sel.overlays
    with qtbot.waitSignal(sel.selected, timeout=2000) as blocker:
        QTest.mousePress(overlay, Qt.MouseButton.LeftButton, pos=QPoint(110, 60))
        QTest.mouseMove(overlay, pos=QPoint(10, 10))
        QTest.mouseRelease(overlay, Qt.MouseButton.LeftButton, pos=QPoint(10, 10))
    assert blocker.args[0] == QRect(20, 20, 200, 100)


def test_the_overlay_shows_the_frozen_picture_dimmed_outside_the_selection(
    qtbot: QtBot, selector: Callable[..., RegionSelector]
) -> None:
    sel = selector()
    (overlay,) = sel.overlays
    QTest.mousePress(overlay, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    QTest.mouseMove(overlay, pos=QPoint(300, 250))
    picture = overlay.grab().toImage()
    inside = QColor(picture.pixel(200, 180))
    outside = QColor(picture.pixel(50, 400))
    assert inside == QColor("#22c55e")
    assert outside.green() < inside.green() - 40  # the veil
    QTest.mouseRelease(overlay, Qt.MouseButton.LeftButton, pos=QPoint(300, 250))


def test_a_click_takes_the_whole_screen(
    qtbot: QtBot, selector: Callable[..., RegionSelector]
) -> None:
    sel = selector()
    (overlay,) = sel.overlays
    with qtbot.waitSignal(sel.selected, timeout=2000) as blocker:
        QTest.mouseClick(overlay, Qt.MouseButton.LeftButton, pos=QPoint(50, 50))
    assert blocker.args[0] == sel.snapshot.image.rect()


@pytest.mark.parametrize("how", ["escape", "right-click"])
def test_escape_and_right_click_cancel(
    qtbot: QtBot, selector: Callable[..., RegionSelector], how: str
) -> None:
    sel = selector()
    (overlay,) = sel.overlays
    with qtbot.waitSignal(sel.cancelled, timeout=2000):
        if how == "escape":
            QTest.keyClick(overlay, Qt.Key.Key_Escape)
        else:
            QTest.mouseClick(overlay, Qt.MouseButton.RightButton, pos=QPoint(50, 50))
    assert sel.overlays == []


def test_window_mode_takes_the_window_under_the_click(
    qtbot: QtBot, selector: Callable[..., RegionSelector]
) -> None:
    sel = selector("window", [QRect(200, 100, 300, 160)])
    (overlay,) = sel.overlays
    QTest.mouseMove(overlay, pos=QPoint(150, 80))  # logical (150, 80) = pixel (300, 160)
    assert sel.highlight() == QRect(200, 100, 300, 160)
    with qtbot.waitSignal(sel.selected, timeout=2000) as blocker:
        QTest.mouseClick(overlay, Qt.MouseButton.LeftButton, pos=QPoint(150, 80))
    assert blocker.args[0] == QRect(200, 100, 300, 160)


def test_window_mode_outside_any_window_takes_the_screen(
    qtbot: QtBot, selector: Callable[..., RegionSelector]
) -> None:
    sel = selector("window", [QRect(200, 100, 300, 160)])
    (overlay,) = sel.overlays
    with qtbot.waitSignal(sel.selected, timeout=2000) as blocker:
        QTest.mouseClick(overlay, Qt.MouseButton.LeftButton, pos=QPoint(5, 300))
    assert blocker.args[0] == sel.snapshot.image.rect()


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError):
        RegionSelector(mixed_snapshot(), "lasso")
