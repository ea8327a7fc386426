"""Screen capture on a real X display (Xvfb), through the real code path:
mss, the overlays, xdotool driving the real mouse and keyboard, pynput's
global shortcut.

Three processes share a private Xvfb:

* a "pattern" window of another application at a known place, whose pixel
  at (x, y) has the colour (x % 256, y % 256, 0x80), so any captured pixel
  tells where on the screen it came from;
* the capture "driver": a magenta portal window and a ScreenCapture,
  commanded line by line on stdin, answering with JSON lines on stdout;
* xdotool, for the user's hands.

Run this file as ``python test_capture_e2e.py pattern|driver OUT_DIR`` to get
those processes; pytest runs the tests.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SCREEN = (1280, 800)
PATTERN = (300, 200, 400, 300)  # x, y, width, height of the other application's window
PORTAL = (0, 0, 200, 150)
MAGENTA = (255, 0, 255)

pytestmark = pytest.mark.e2e


def pattern_colour(x: int, y: int) -> tuple[int, int, int]:
    return (x % 256, y % 256, 0x80)


# -- the helper processes (run as scripts) ---------------------------------------------


def run_pattern() -> None:
    import numpy as np
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtWidgets import QApplication, QWidget

    app = QApplication([])
    x0, y0, width, height = PATTERN
    xs = (np.arange(width) + x0) % 256
    ys = (np.arange(height) + y0) % 256
    rgb = np.zeros((height, width, 4), dtype=np.uint8)
    rgb[:, :, 0] = xs[None, :]
    rgb[:, :, 1] = ys[:, None]
    rgb[:, :, 2] = 0x80
    rgb[:, :, 3] = 255
    image = QImage(rgb.tobytes(), width, height, width * 4, QImage.Format.Format_RGBA8888).copy()

    class Pattern(QWidget):
        def paintEvent(self, _event: object) -> None:
            painter = QPainter(self)
            painter.drawImage(0, 0, image)
            painter.end()

    window = Pattern(None, Qt.WindowType.FramelessWindowHint)
    window.setGeometry(x0, y0, width, height)
    window.show()

    def ready() -> None:
        handle = window.windowHandle()
        if handle is not None and handle.isExposed():
            print("ready", flush=True)
        else:
            QTimer.singleShot(20, ready)

    QTimer.singleShot(50, ready)
    app.exec()


def run_driver(out_dir: Path) -> None:
    from PySide6.QtCore import QObject, Qt, QTimer, Signal
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QApplication, QMainWindow

    from client.ui.capture import GlobalHotkey, ScreenCapture, window_capture_supported

    app = QApplication([])
    portal = QMainWindow(None, Qt.WindowType.FramelessWindowHint)
    portal.setStyleSheet("background: #ff00ff;")
    portal.setGeometry(*PORTAL)
    portal.show()
    capture = ScreenCapture()
    hotkey = GlobalHotkey()
    shots = iter(range(1, 1000))

    def report(**fields: Any) -> None:
        print(json.dumps(fields), flush=True)

    def captured(image: QImage) -> None:
        path = out_dir / f"shot-{next(shots)}.png"
        image.save(str(path))
        report(
            event="captured",
            w=image.width(),
            h=image.height(),
            path=str(path),
            portal_visible=portal.isVisible(),
        )

    capture.captured.connect(captured)
    capture.cancelled.connect(lambda: report(event="cancelled", portal_visible=portal.isVisible()))
    capture.failed.connect(lambda message: report(event="failed", message=message))
    hotkey.activated.connect(lambda: capture.capture_screen(portal))

    def when_overlays_shown() -> None:
        selector = capture.selector
        if selector is not None and selector.overlays:
            handles = [o.windowHandle() for o in selector.overlays]
            if all(h is not None and h.isExposed() for h in handles):
                report(event="ready", portal_visible=portal.isVisible())
                return
        QTimer.singleShot(20, when_overlays_shown)

    def command(line: str) -> None:
        if line == "screen":
            capture.capture_screen(portal)
        elif line in ("region", "window"):
            capture.capture(line, portal)
            when_overlays_shown()
        elif line == "hotkey":
            report(event="hotkey", ok=hotkey.start(), reason=hotkey.reason)
        elif line == "info":
            report(
                event="info",
                window_capture=window_capture_supported(),
                dpr=app.primaryScreen().devicePixelRatio(),
            )
        elif line == "quit":
            hotkey.stop()
            app.quit()

    class Stdin(QObject):
        line = Signal(str)

    stdin = Stdin()
    stdin.line.connect(command, Qt.ConnectionType.QueuedConnection)

    def read() -> None:
        for raw in sys.stdin:
            stdin.line.emit(raw.strip())

    threading.Thread(target=read, daemon=True).start()

    def started() -> None:
        handle = portal.windowHandle()
        if handle is not None and handle.isExposed():
            report(event="started")
        else:
            QTimer.singleShot(20, started)

    QTimer.singleShot(20, started)
    app.exec()


# -- test plumbing -----------------------------------------------------------------------------


class Driver:
    """The driver process, with its JSON answers on a queue."""

    def __init__(self, display: str, out_dir: Path, extra_env: dict[str, str] | None = None):
        env = {
            **os.environ,
            "DISPLAY": display,
            "QT_QPA_PLATFORM": "xcb",
            "PYTHONPATH": str(REPO),
            "XDG_SESSION_TYPE": "x11",
            **(extra_env or {}),
        }
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "driver", str(out_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=env,
        )
        self.answers: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.expect("started", timeout=20)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.answers.put(json.loads(line))

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def expect(self, event: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {event!r} from the capture driver; {self.stderr()}")
            try:
                answer = self.answers.get(timeout=remaining)
            except queue.Empty:
                continue
            assert answer["event"] == event, answer
            return answer

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        assert self.proc.stderr is not None
        return self.proc.stderr.read()[-2000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.send("quit")
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def xdotool(display: str, *args: str) -> None:
    subprocess.run(
        ["xdotool", *args], env={**os.environ, "DISPLAY": display}, check=True, timeout=10
    )


def load(path: str) -> Any:
    import numpy as np
    from PIL import Image

    return np.array(Image.open(path).convert("RGB"))


def assert_pattern_at(pixels: Any, screen_x: int, screen_y: int) -> None:
    """``pixels`` shows the screen from (screen_x, screen_y) on: every pixel
    carries the colour of the pattern window at that screen position."""
    import numpy as np

    height, width = pixels.shape[:2]
    xs = np.arange(width) + screen_x
    ys = np.arange(height) + screen_y
    expected = np.zeros((height, width, 3), dtype=np.uint8)
    expected[:, :, 0] = (xs % 256)[None, :]
    expected[:, :, 1] = (ys % 256)[:, None]
    expected[:, :, 2] = 0x80
    assert np.array_equal(pixels, expected)


@pytest.fixture(scope="module")
def desktop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """Xvfb with the pattern window of another application on it."""
    if shutil.which("Xvfb") is None or shutil.which("xdotool") is None:
        pytest.skip("Xvfb and xdotool are needed")
    from tests.ui_helpers import Xvfb

    out = tmp_path_factory.mktemp("capture")
    with Xvfb(f"{SCREEN[0]}x{SCREEN[1]}x24") as xvfb:
        env = {**os.environ, "DISPLAY": xvfb.display, "QT_QPA_PLATFORM": "xcb"}
        pattern = subprocess.Popen(
            [sys.executable, __file__, "pattern", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=REPO,
            env=env,
        )
        try:
            assert pattern.stdout is not None
            assert pattern.stdout.readline().strip() == "ready"
            yield xvfb.display, out
        finally:
            pattern.terminate()
            pattern.wait(5)


@pytest.fixture(scope="module")
def driver(desktop: tuple[str, Path]) -> Iterator[Driver]:
    display, out = desktop
    proc = Driver(display, out)
    yield proc
    proc.stop()


# -- the tests -------------------------------------------------------------------------------------


def test_monitor_capture_sees_the_screen_without_the_portal(driver: Driver) -> None:
    driver.send("screen")
    shot = driver.expect("captured")
    assert (shot["w"], shot["h"]) == SCREEN
    assert shot["portal_visible"] is True  # shown again afterwards
    pixels = load(shot["path"])
    x, y, width, height = PATTERN
    assert_pattern_at(pixels[y : y + height, x : x + width], x, y)
    # Just outside the pattern window: the (black) root window.
    assert tuple(pixels[y - 1, x - 1]) != pattern_colour(x - 1, y - 1)
    # The portal hid itself: no magenta where it stands.
    portal = pixels[PORTAL[1] : PORTAL[1] + PORTAL[3], PORTAL[0] : PORTAL[0] + PORTAL[2]]
    assert not (portal == MAGENTA).all(axis=2).any()


def test_region_drag_returns_exactly_the_dragged_rectangle(
    driver: Driver, desktop: tuple[str, Path]
) -> None:
    display, _ = desktop
    driver.send("region")
    ready = driver.expect("ready")
    assert ready["portal_visible"] is False
    xdotool(
        display,
        "mousemove", "400", "250", "mousedown", "1",
        "sleep", "0.05", "mousemove", "500", "300",
        "sleep", "0.05", "mousemove", "640", "370",
        "sleep", "0.05", "mouseup", "1",
    )  # fmt: skip
    shot = driver.expect("captured")
    assert (shot["w"], shot["h"]) == (240, 120)
    assert_pattern_at(load(shot["path"]), 400, 250)
    assert shot["portal_visible"] is True


def test_escape_cancels_a_region_capture(driver: Driver, desktop: tuple[str, Path]) -> None:
    display, _ = desktop
    driver.send("region")
    driver.expect("ready")
    xdotool(display, "key", "Escape")
    assert driver.expect("cancelled")["portal_visible"] is True


def test_window_capture_takes_the_clicked_window(driver: Driver, desktop: tuple[str, Path]) -> None:
    display, _ = desktop
    driver.send("info")
    assert driver.expect("info")["window_capture"] is True
    driver.send("window")
    driver.expect("ready")
    xdotool(display, "mousemove", "450", "300", "sleep", "0.05", "click", "1")
    shot = driver.expect("captured")
    x, y, width, height = PATTERN
    assert (shot["w"], shot["h"]) == (width, height)
    assert_pattern_at(load(shot["path"]), x, y)


def test_global_hotkey_captures_the_screen(driver: Driver, desktop: tuple[str, Path]) -> None:
    display, _ = desktop
    driver.send("hotkey")
    answer = driver.expect("hotkey")
    assert answer["ok"] is True, answer["reason"]
    xdotool(display, "key", "ctrl+alt+h")
    shot = driver.expect("captured")
    assert (shot["w"], shot["h"]) == SCREEN


@pytest.mark.parametrize("scale", ["2", "1.5"])
def test_region_is_exact_in_physical_pixels_on_hidpi(desktop: tuple[str, Path], scale: str) -> None:
    display, out = desktop
    hidpi = Driver(display, out, {"QT_SCALE_FACTOR": scale})
    try:
        hidpi.send("info")
        assert hidpi.expect("info")["dpr"] == float(scale)
        hidpi.send("region")
        hidpi.expect("ready")
        xdotool(
            display,
            "mousemove", "420", "230", "mousedown", "1",
            "sleep", "0.05", "mousemove", "520", "330",
            "sleep", "0.05", "mousemove", "660", "470",
            "sleep", "0.05", "mouseup", "1",
        )  # fmt: skip
        shot = hidpi.expect("captured")
        assert (shot["w"], shot["h"]) == (240, 240)
        assert_pattern_at(load(shot["path"]), 420, 230)
    finally:
        hidpi.stop()


if __name__ == "__main__":
    if sys.argv[1] == "pattern":
        run_pattern()
    elif sys.argv[1] == "driver":
        sys.path.insert(0, str(REPO))
        run_driver(Path(sys.argv[2]))
