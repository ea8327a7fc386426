"""The local VNC bridge with viewers written elsewhere: vncdotool (PyPI) and
TigerVNC's vncviewer (Debian) connect through it to the session's stream, where
a real RfbServer plays the customer's screen (tests/assist_fakes.py), and get
the known pattern; their input reaches the customer's side; one viewer at a
time; the bridge stops when the session is over."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from client.core.assist.bridge import VncBridge, is_loopback, parse_listen
from client.core.rfb import KeyEvent, PointerEvent
from protocol.assist import StreamClose
from tests.assist_fakes import RelayHost, pattern
from tests.ui_helpers import Xvfb, screenshot, stop_process, wait_until


@pytest.fixture
def relay() -> Iterator[RelayHost]:
    host = RelayHost(pattern()).start()
    yield host
    host.stop()


@pytest.fixture
def bridge(relay: RelayHost) -> Iterator[VncBridge]:
    b = VncBridge(relay.url, relay.session_id, lambda: relay.token, port=0)
    b.start()
    yield b
    assert b.stop()


VNCDO_SCRIPT = """
import sys
from vncdotool import api
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


def test_vncdotool_through_the_bridge(relay: RelayHost, bridge: VncBridge, tmp_path: Path) -> None:
    pytest.importorskip("vncdotool")
    assert bridge.address is not None
    host, port = bridge.address
    assert host == "127.0.0.1" and port > 0
    png = tmp_path / "capture.png"
    result = subprocess.run(
        [sys.executable, "-c", VNCDO_SCRIPT, str(port), str(png)],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    captured = np.asarray(Image.open(png).convert("RGB"))
    # vncdotool asks for no JPEG quality: the picture is exact.
    assert np.array_equal(captured, relay.frame[..., 2::-1])
    wait_until(lambda: PointerEvent(10, 20, 1) in relay.received(PointerEvent))
    assert KeyEvent(0x61, True) in relay.received(KeyEvent)
    assert KeyEvent(0x61, False) in relay.received(KeyEvent)
    wait_until(lambda: not bridge.busy)
    assert bridge.viewers_served == 1
    assert bridge.bytes_to_viewer > 320 * 240 and bridge.bytes_from_viewer > 0


def test_one_viewer_at_a_time(relay: RelayHost, bridge: VncBridge) -> None:
    assert bridge.address is not None
    first = socket.create_connection(bridge.address, timeout=10)
    try:
        assert first.recv(12) == b"RFB 003.008\n"
        assert bridge.busy
        second = socket.create_connection(bridge.address, timeout=10)
        with second:
            assert second.recv(12) == b""  # closed at once
        assert bridge.viewers_refused == 1
    finally:
        first.close()
    wait_until(lambda: not bridge.busy)
    # Free again: the next viewer is served.
    third = socket.create_connection(bridge.address, timeout=10)
    with third:
        assert third.recv(12) == b"RFB 003.008\n"
    assert relay.connections == 2


def test_bridge_stops_when_the_session_is_over(relay: RelayHost) -> None:
    relay.refuse_code = StreamClose.not_active
    bridge = VncBridge(relay.url, relay.session_id, relay.token, port=0)
    address = bridge.start()
    try:
        with socket.create_connection(address, timeout=10) as sock:
            assert sock.recv(12) == b""
        wait_until(lambda: bridge.stop_reason == str(int(StreamClose.not_active)))
        wait_until(lambda: bridge._thread is not None and not bridge._thread.is_alive())
        with pytest.raises(OSError):
            socket.create_connection(address, timeout=5).close()
    finally:
        bridge.stop()


def test_address_parsing_and_loopback() -> None:
    assert parse_listen("127.0.0.1:5901") == ("127.0.0.1", 5901)
    assert parse_listen(":5902") == ("127.0.0.1", 5902)
    assert parse_listen("[::1]:5903") == ("::1", 5903)
    for bad in ("5901", "host:port", "127.0.0.1:70000"):
        with pytest.raises(ValueError):
            parse_listen(bad)
    assert is_loopback("127.0.0.1") and is_loopback("127.3.2.1") and is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    assert not is_loopback("example.com")


def red_pixels(png: Path) -> int:
    rgb = np.asarray(Image.open(png).convert("RGB")).astype(int)
    near = (np.abs(rgb - [255, 0, 0]) <= 6).all(axis=2)
    return int(near.sum())


@pytest.mark.skipif(shutil.which("vncviewer") is None, reason="TigerVNC (tigervnc-viewer) missing")
def test_tigervnc_viewer_through_the_bridge(
    relay: RelayHost, bridge: VncBridge, tmp_path: Path
) -> None:
    assert bridge.address is not None
    port = bridge.address[1]
    shot = tmp_path / "tigervnc.png"
    with Xvfb("800x600x24") as xvfb:
        proc = subprocess.Popen(
            [
                "vncviewer",
                "-display",
                xvfb.display,
                "-SecurityTypes",
                "None",
                "-geometry",
                "+0+0",
                f"127.0.0.1::{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            # The red block of the pattern (40 × 60 pixels) appears on the screen.
            def shows_pattern() -> bool:
                return screenshot(xvfb.display, shot) and red_pixels(shot) >= 40 * 60 * 0.95

            wait_until(shows_pattern, timeout=60, interval=0.5)
            assert bridge.busy and bridge.viewers_served == 1
        finally:
            stop_process(proc, 10)
    wait_until(lambda: not bridge.busy)


def test_command_line_refuses_a_remote_listen_address(capsys: pytest.CaptureFixture[str]) -> None:
    from client.agent.main import main

    assert main(["vnc-bridge", "--session", "7", "--listen", "0.0.0.0:5901"]) == 2
    err = capsys.readouterr().err
    assert "refusing to listen on 0.0.0.0" in err and "--allow-remote" in err
    assert main(["vnc-bridge", "--session", "7", "--listen", "nonsense"]) == 2
    assert "--listen" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["vnc-bridge", "--listen", "127.0.0.1:5901"])  # --session is required
