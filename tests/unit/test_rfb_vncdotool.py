"""Interoperability: a third-party RFB client (vncdotool) against RfbServer.

The test runs a tiny TCP loop around the sans-I/O server on 127.0.0.1 in a
thread; vncdotool runs in a subprocess (its Twisted reactor cannot be
restarted in one process), grabs the screen to a PNG and types and clicks.
The PNG must be the served pattern pixel for pixel, and the server must
report the input.
"""

from __future__ import annotations

import select
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from client.core.rfb import EncodingsChanged, KeyEvent, PointerEvent, RfbProtocolError, RfbServer
from client.core.rfb.messages import ENC_RAW, ENC_ZRLE

pytest.importorskip("vncdotool", reason="vncdotool (a dev dependency) is not installed")


def pattern(h: int = 200, w: int = 264) -> np.ndarray:
    """Gradients, single-pixel details, text-like strokes and a noise patch."""
    y, x = np.mgrid[0:h, 0:w]
    frame = np.empty((h, w, 4), dtype=np.uint8)
    frame[..., 0] = (x * 255 // (w - 1)).astype(np.uint8)
    frame[..., 1] = (y * 255 // (h - 1)).astype(np.uint8)
    frame[..., 2] = ((x ^ y) & 0xFF).astype(np.uint8)
    frame[..., 3] = 255
    frame[::7, ::5] = [0, 0, 255, 255]
    rng = np.random.default_rng(42)
    frame[120:184, 20:84, :3] = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    frame[20:60, 150:250] = [240, 240, 240, 255]
    frame[30:50, 160:240][rng.random((20, 80)) < 0.3] = [10, 10, 10, 255]
    return frame


class LoopbackServer(threading.Thread):
    """One connection: socket bytes in and out of an RfbServer, until the
    peer hangs up or the deadline passes."""

    def __init__(self, frame: np.ndarray, deadline_s: float = 60.0) -> None:
        super().__init__(daemon=True)
        self.frame = frame
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.deadline = time.monotonic() + deadline_s
        self.events: list[object] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.listener.settimeout(max(0.1, self.deadline - time.monotonic()))
            conn, _ = self.listener.accept()
            with conn:
                rfb = RfbServer(self.frame.shape[1], self.frame.shape[0], "interop")
                rfb.update_framebuffer(self.frame)
                conn.sendall(rfb.data_to_send())
                while time.monotonic() < self.deadline:
                    ready, _, _ = select.select([conn], [], [], 0.05)
                    if ready:
                        data = conn.recv(65536)
                        if not data:
                            return
                        rfb.receive_data(data)
                        self.events.extend(rfb.events_received())
                    out = rfb.data_to_send()
                    if out:
                        conn.sendall(out)
        except (OSError, RfbProtocolError) as exc:
            self.error = exc
        finally:
            self.listener.close()


CLIENT_SCRIPT = """
import sys
from vncdotool import api, rfb
from vncdotool.client import VNCDoToolClient
VNCDoToolClient.encoding = getattr(rfb.Encoding, sys.argv[3])
client = api.connect("127.0.0.1::" + sys.argv[1], password=None, timeout=30)
try:
    client.captureScreen(sys.argv[2])
    client.keyPress("a")
    client.mouseMove(10, 20)
    client.mousePress(1)
finally:
    client.disconnect()
    api.shutdown()
"""


@pytest.mark.parametrize("encoding", ["RAW", "ZRLE"])
def test_vncdotool_captures_the_served_pattern(encoding: str, tmp_path: Path) -> None:
    frame = pattern()
    server = LoopbackServer(frame)
    server.start()
    png = tmp_path / "capture.png"
    result = subprocess.run(
        [sys.executable, "-c", CLIENT_SCRIPT, str(server.port), str(png), encoding],
        capture_output=True,
        text=True,
        timeout=90,
    )
    server.join(timeout=30)
    assert result.returncode == 0, result.stderr[-2000:]
    assert server.error is None, server.error
    captured = np.asarray(Image.open(png).convert("RGB"))
    assert captured.shape == (200, 264, 3)
    expected_rgb = frame[..., 2::-1]
    assert np.array_equal(captured, expected_rgb)
    assert KeyEvent(0x61, True) in server.events and KeyEvent(0x61, False) in server.events
    assert PointerEvent(10, 20, 1) in server.events
    negotiated = [e for e in server.events if isinstance(e, EncodingsChanged)]
    assert negotiated[0].encodings[0] == {"RAW": ENC_RAW, "ZRLE": ENC_ZRLE}[encoding]
