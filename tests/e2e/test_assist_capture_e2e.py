"""Remote assist's capture and input on a real X display (Xvfb): mss sees a
known pattern another application draws, and pynput's clicks and keys
(Latin and Chinese, as the agent's viewer sends them: X11 keysyms) land in
a test window.

Processes on a private Xvfb:

* the pattern window of tests/e2e/test_capture_e2e.py, whose pixel at
  (x, y) has the colour (x % 256, y % 256, 0x80);
* a "target" Qt window with a text field, reporting clicks and text as
  JSON lines;
* the "driver": MssSource and PynputSink exactly as the AssistHost uses
  them, reporting what it captured.

Run this file as ``python test_assist_capture_e2e.py target|driver`` to get
those processes; pytest runs the tests.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve()
SCREEN = (1280, 800)
PATTERN = (300, 200, 400, 300)  # as in test_capture_e2e.py
TARGET = (760, 120, 420, 160)  # x, y, width, height of the target window

pytestmark = pytest.mark.e2e


# -- helper processes ---------------------------------------------------------------


def run_target() -> None:
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication, QLineEdit, QVBoxLayout, QWidget

    app = QApplication([])

    def say(**fields: Any) -> None:
        print(json.dumps(fields, ensure_ascii=False), flush=True)

    class Target(QWidget):
        def mousePressEvent(self, event: QMouseEvent) -> None:
            pos = event.globalPosition().toPoint()
            say(click=[pos.x(), pos.y()], button=int(event.button().value))

    window = Target(None, Qt.WindowType.FramelessWindowHint)
    window.setGeometry(*TARGET)
    layout = QVBoxLayout(window)
    layout.setContentsMargins(10, 10, 10, 90)
    field = QLineEdit(window)
    field.setMinimumHeight(40)
    layout.addWidget(field)
    field.textChanged.connect(lambda text: say(text=text))
    field.returnPressed.connect(lambda: say(enter=field.text()))
    window.show()

    def ready() -> None:
        handle = window.windowHandle()
        if handle is not None and handle.isExposed():
            geo = field.geometry()
            centre = field.mapToGlobal(geo.center() - geo.topLeft())
            say(ready=True, field=[centre.x(), centre.y()])
        else:
            QTimer.singleShot(50, ready)

    QTimer.singleShot(50, ready)
    app.exec()


def run_driver() -> None:
    """Capture once, then apply input events read as JSON lines from stdin."""
    from client.core.assist.capture import MssSource, monitors
    from client.core.assist.inject import PynputSink

    source = MssSource(1)
    frame = source.grab()
    x0, y0, w, h = PATTERN
    region = frame[y0 : y0 + h, x0 : x0 + w]
    print(
        json.dumps(
            {
                "size": list(source.size),
                "monitors": [[m.index, m.left, m.top, m.width, m.height] for m in monitors()],
                "dtype": str(frame.dtype),
                "shape": list(frame.shape),
                "contiguous": bool(frame.flags["C_CONTIGUOUS"]),
                # BGRA: blue 0x80, green y % 256, red x % 256.
                "pattern_ok": bool(
                    (region[..., 0] == 0x80).all()
                    and (region[..., 1] == ((y0 + _ar(h)) % 256)[:, None]).all()
                    and (region[..., 2] == ((x0 + _ar(w)) % 256)[None, :]).all()
                ),
            }
        ),
        flush=True,
    )
    source.close()
    sink = PynputSink(origin=(0, 0))
    for line in sys.stdin:
        event = json.loads(line)
        if "key" in event:
            sink.key(int(event["key"]), bool(event["down"]))
        elif "pointer" in event:
            x, y, buttons = event["pointer"]
            sink.pointer(int(x), int(y), int(buttons))
        elif "release" in event:
            sink.release_all()
        print(json.dumps({"done": event}), flush=True)


def _ar(n: int) -> Any:
    import numpy as np

    return np.arange(n)


# -- the tests ---------------------------------------------------------------------------


class Proc:
    def __init__(self, args: list[str], display: str) -> None:
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            [sys.executable, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=REPO,
            text=True,
            encoding="utf-8",
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def expect(self, predicate: Any, timeout: float = 20.0) -> Any:
        while True:
            line = self.lines.get(timeout=timeout)
            if line.startswith("{"):
                value = json.loads(line)
                if predicate(value):
                    return value
            elif predicate(line):
                return line

    def send(self, **event: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(event) + "\n")
        self.proc.stdin.flush()
        self.expect(lambda v: isinstance(v, dict) and v.get("done") == event)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def display() -> Iterator[str]:
    from tests.ui_helpers import Xvfb

    with Xvfb(f"{SCREEN[0]}x{SCREEN[1]}x24") as xvfb:
        yield xvfb.display


def test_capture_sees_the_pattern_and_input_lands(display: str) -> None:
    procs: list[Proc] = []
    try:
        pattern = Proc([str(REPO / "tests/e2e/test_capture_e2e.py"), "pattern", "/tmp"], display)
        procs.append(pattern)
        pattern.expect(lambda v: v == "ready")
        target = Proc([str(HERE), "target"], display)
        procs.append(target)
        ready = target.expect(lambda v: isinstance(v, dict) and v.get("ready"))
        fx, fy = ready["field"]

        driver = Proc([str(HERE), "driver"], display)
        procs.append(driver)
        shot = driver.expect(lambda v: isinstance(v, dict) and "pattern_ok" in v)
        assert shot["size"] == list(SCREEN)
        assert shot["shape"] == [SCREEN[1], SCREEN[0], 4]
        assert shot["dtype"] == "uint8" and shot["contiguous"]
        assert shot["monitors"][0] == [1, 0, 0, *SCREEN]
        assert shot["pattern_ok"]

        # Clicks (button 1, then 3) land where the agent pointed.
        spot = [TARGET[0] + 20, TARGET[1] + TARGET[3] - 30]
        driver.send(pointer=[*spot, 0])
        driver.send(pointer=[*spot, 1])
        driver.send(pointer=[*spot, 0])
        left = target.expect(lambda v: isinstance(v, dict) and "click" in v)
        assert left == {"click": spot, "button": 1}  # Qt.LeftButton
        spot = [spot[0] + 100, spot[1] + 5]
        driver.send(pointer=[*spot, 4])
        driver.send(pointer=[*spot, 0])
        right = target.expect(lambda v: isinstance(v, dict) and "click" in v)
        assert right == {"click": spot, "button": 2}  # Qt.RightButton

        # Back into the field; type "a", "中", "É" (Latin-1) and Return.
        driver.send(pointer=[fx, fy, 1])
        driver.send(pointer=[fx, fy, 0])
        for keysym in (0x61, 0x01004E2D, 0xC9):
            driver.send(key=keysym, down=True)
            driver.send(key=keysym, down=False)
        target.expect(lambda v: isinstance(v, dict) and v.get("text") == "a中É")
        driver.send(key=0xFF0D, down=True)
        driver.send(key=0xFF0D, down=False)
        entered = target.expect(lambda v: isinstance(v, dict) and "enter" in v)
        assert entered["enter"] == "a中É"
    finally:
        for p in reversed(procs):
            p.stop()


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    {"target": run_target, "driver": run_driver}[sys.argv[1]]()
