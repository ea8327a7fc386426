"""ScreenCapture's sequence: hide the portal, wait for the compositor
without blocking, freeze, choose, restore, report."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QPoint, QRect, Qt, QTimer
from PySide6.QtGui import QColor, QGuiApplication, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialog, QMainWindow
from pytestqt.qtbot import QtBot

from client.core import imaging
from client.ui.capture import ScreenCapture, window_capture_supported
from client.ui.capture.snapshot import CaptureError, ScreenInfo, Snapshot


def fake_desktop(size_factor: int = 1) -> Snapshot:
    screen = QGuiApplication.primaryScreen()
    logical = screen.geometry()
    image = QImage(
        logical.width() * size_factor, logical.height() * size_factor, QImage.Format.Format_RGB32
    )
    image.fill(QColor("#0ea5e9"))
    info = ScreenInfo(screen.name(), logical, QRect(0, 0, image.width(), image.height()), screen)
    return Snapshot(image, [info], "test")


@pytest.fixture
def portal(qtbot: QtBot) -> QMainWindow:
    window = QMainWindow()
    window.setWindowTitle("portal")
    window.resize(300, 200)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_screen_capture_hides_the_portal_waits_and_restores_it(
    qtbot: QtBot, portal: QMainWindow
) -> None:
    capture = ScreenCapture(settle_ms=150)
    seen: dict[str, float] = {}
    ticks: list[float] = []
    ticker = QTimer()
    ticker.timeout.connect(lambda: ticks.append(time.monotonic()))
    ticker.start(20)

    def grab() -> Snapshot:
        seen["portal_visible"] = float(portal.isVisible())
        seen["at"] = time.monotonic()
        return fake_desktop(2)

    capture.grabber = grab
    started = time.monotonic()
    with qtbot.waitSignal(capture.captured, timeout=3000) as blocker:
        assert capture.capture_screen(portal)
        assert not portal.isVisible()
        assert capture.busy
        assert capture.capture_region(portal) is False  # one capture at a time
    ticker.stop()
    image = blocker.args[0]
    screen = QGuiApplication.primaryScreen().geometry()
    assert (image.width(), image.height()) == (screen.width() * 2, screen.height() * 2)
    assert seen["portal_visible"] == 0.0
    assert seen["at"] - started >= 0.14  # the compositor got its time
    # ...without blocking: the event loop kept running meanwhile.
    assert sum(1 for t in ticks if t < seen["at"]) >= 3
    assert portal.isVisible()
    assert not capture.busy


def test_a_modal_dialog_is_made_invisible_not_closed(qtbot: QtBot, portal: QMainWindow) -> None:
    dialog = QDialog(portal)
    dialog.setModal(True)
    finished: list[int] = []
    dialog.finished.connect(finished.append)
    dialog.open()
    qtbot.waitExposed(dialog)
    capture = ScreenCapture(settle_ms=50)
    seen: dict[str, float] = {}

    def grab() -> Snapshot:
        seen["opacity"] = dialog.windowOpacity()
        return fake_desktop()

    capture.grabber = grab
    with qtbot.waitSignal(capture.captured, timeout=3000):
        capture.capture_screen(portal)
    assert seen["opacity"] == 0.0
    assert finished == []  # hide() would have ended the dialog
    assert dialog.isVisible() and dialog.windowOpacity() == 1.0
    assert not dialog.windowState() & Qt.WindowState.WindowMinimized
    dialog.reject()


def test_region_capture_escape_cancels_and_restores(qtbot: QtBot, portal: QMainWindow) -> None:
    capture = ScreenCapture(settle_ms=10)
    capture.grabber = fake_desktop
    with qtbot.waitSignal(capture.started, timeout=1000):
        capture.capture_region(portal)
    qtbot.waitUntil(lambda: capture.selector is not None, timeout=3000)
    assert capture.selector is not None
    overlay = capture.selector.overlays[0]
    qtbot.waitExposed(overlay)
    with qtbot.waitSignal(capture.cancelled, timeout=3000):
        QTest.keyClick(overlay, Qt.Key.Key_Escape)
    assert portal.isVisible()
    assert capture.selector is None and not capture.busy


def test_region_capture_returns_the_dragged_area(qtbot: QtBot, portal: QMainWindow) -> None:
    capture = ScreenCapture(settle_ms=10)
    capture.grabber = fake_desktop
    capture.capture_region(portal)
    qtbot.waitUntil(lambda: capture.selector is not None, timeout=3000)
    assert capture.selector is not None
    overlay = capture.selector.overlays[0]
    qtbot.waitExposed(overlay)
    with qtbot.waitSignal(capture.captured, timeout=3000) as blocker:
        QTest.mousePress(
            overlay,
            Qt.MouseButton.LeftButton,
            pos=QPoint(30, 40),
        )
        QTest.mouseMove(overlay, pos=QPoint(130, 90))
        QTest.mouseRelease(
            overlay,
            Qt.MouseButton.LeftButton,
            pos=QPoint(130, 90),
        )
    image = blocker.args[0]
    assert (image.width(), image.height()) == (100, 50)
    assert QColor(image.pixel(5, 5)) == QColor("#0ea5e9")
    assert portal.isVisible()


def test_cancel_from_code(qtbot: QtBot, portal: QMainWindow) -> None:
    capture = ScreenCapture(settle_ms=500)
    capture.grabber = fake_desktop
    capture.capture_region(portal)
    with qtbot.waitSignal(capture.cancelled, timeout=1000):
        capture.cancel()
    assert portal.isVisible() and not capture.busy


def test_grab_failure_gives_a_clear_message_and_restores(qtbot: QtBot, portal: QMainWindow) -> None:
    capture = ScreenCapture(settle_ms=10)

    def refuse() -> Snapshot:
        raise CaptureError("unsupported", "no")

    capture.grabber = refuse
    with qtbot.waitSignal(capture.failed, timeout=3000) as blocker:
        capture.capture_screen(portal)
    assert "Ctrl+V" in blocker.args[0]
    assert portal.isVisible() and not capture.busy


def test_an_oversized_area_is_refused(qtbot: QtBot, portal: QMainWindow) -> None:
    capture = ScreenCapture(settle_ms=10)

    def huge() -> Snapshot:
        snap = fake_desktop()
        snap.image = QImage(imaging.MAX_SIDE + 10, 10, QImage.Format.Format_RGB32)
        snap.screens[0].physical = QRect(0, 0, imaging.MAX_SIDE + 10, 10)
        return snap

    capture.grabber = huge
    with qtbot.waitSignal(capture.failed, timeout=3000) as blocker:
        capture.capture_screen(portal)
    assert "too large" in blocker.args[0]


def test_window_capture_is_refused_where_unsupported(qtbot: QtBot) -> None:
    assert window_capture_supported() is False  # the offscreen platform has no windows to list
    capture = ScreenCapture()
    with qtbot.waitSignal(capture.failed, timeout=1000):
        assert capture.capture_window(None) is False
    with pytest.raises(ValueError):
        capture.capture("lasso")
