"""Remote assist end to end on a real X display (Xvfb), through the real
service and its relay.

Processes:

* the service (uvicorn in this process, ``tests/servers.py``) with the relay;
* a private Xvfb at 1280x720;
* the "board": a Qt window of another application on that display, showing
  coloured blocks at known places and reporting every click and key it gets
  as JSON lines;
* the "customer": the portal's remote-assist core without its widgets. It
  signs in with the identity exchange, answers consent over REST as the
  portal's dialogs do, and runs the real :class:`AssistHost` with the real
  ``MssSource`` and ``PynputSink`` on that display;
* the agent, in this process: REST calls, the real :class:`AssistViewer`,
  and the real :class:`VncBridge` with vncdotool (a viewer written elsewhere)
  behind it.

Run this file as ``python test_assist_e2e.py board|customer ...`` to get the
helper processes; pytest runs the tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests

from tests.ui_helpers import stop_process

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve()
SCREEN = (1280, 720)
BOARD = (240, 160, 800, 400)  # x, y, width, height of the board window on the screen
BACKGROUND = (0x30, 0x30, 0x30)
# Blocks in screen coordinates (x, y, w, h) and their colours (RGB).
BLOCKS: dict[str, tuple[tuple[int, int, int, int], tuple[int, int, int]]] = {
    "red": ((240, 160, 200, 150), (0xE0, 0x20, 0x20)),
    "green": ((440, 160, 200, 150), (0x20, 0xC0, 0x40)),
    "blue": ((640, 160, 200, 150), (0x20, 0x40, 0xE0)),
    "yellow": ((840, 160, 200, 150), (0xF0, 0xD0, 0x20)),
    "button": ((340, 360, 300, 150), (0x20, 0xC8, 0xC8)),
}
TICKER = (760, 380, 200, 120)
"""A rectangle of the board whose colour the test changes."""
TICKER_COLOURS = ((0xFF, 0xFF, 0xFF), (0xC0, 0x20, 0xC0), (0x80, 0x60, 0x10))
TIMEOUT = 30.0

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(300),
    pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed"),
]


def centre(rect: tuple[int, int, int, int]) -> tuple[int, int]:
    x, y, w, h = rect
    return x + w // 2, y + h // 2


_SAY = threading.Lock()


def say(**fields: Any) -> None:
    """One JSON line on stdout (whole: threads print too)."""
    line = json.dumps(fields, ensure_ascii=False) + "\n"
    with _SAY:
        sys.stdout.write(line)
        sys.stdout.flush()


# -- helper process: the board window ----------------------------------------------------


def run_board() -> None:
    """A window with coloured blocks; reports clicks and keys; commands on stdin
    (``{"ticker": [r, g, b]}``) repaint the ticker."""
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPaintEvent
    from PySide6.QtWidgets import QApplication, QWidget

    app = QApplication([])
    commands: queue.Queue[dict[str, Any]] = queue.Queue()

    def read_stdin() -> None:
        for line in sys.stdin:
            commands.put(json.loads(line))
        commands.put({"quit": True})

    bx, by, bw, bh = BOARD

    class Board(QWidget):
        def __init__(self) -> None:
            super().__init__(None, Qt.WindowType.FramelessWindowHint)
            self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            self.ticker = QColor(*TICKER_COLOURS[0])
            self.painted_ticker: tuple[int, int, int] | None = None

        def paintEvent(self, event: QPaintEvent) -> None:
            p = QPainter(self)
            p.fillRect(self.rect(), QColor(*BACKGROUND))
            for (x, y, w, h), rgb in BLOCKS.values():
                p.fillRect(x - bx, y - by, w, h, QColor(*rgb))
            x, y, w, h = TICKER
            p.fillRect(x - bx, y - by, w, h, self.ticker)
            p.end()
            rgb = (self.ticker.red(), self.ticker.green(), self.ticker.blue())
            if rgb != self.painted_ticker:
                self.painted_ticker = rgb
                say(painted=list(rgb))

        def mousePressEvent(self, event: QMouseEvent) -> None:
            pos = event.globalPosition().toPoint()
            say(click=[pos.x(), pos.y()], button=int(event.button().value))

        def keyPressEvent(self, event: QKeyEvent) -> None:
            say(key=event.text(), code=int(event.key()))

    board = Board()
    board.setGeometry(bx, by, bw, bh)
    board.show()
    board.activateWindow()

    def poll() -> None:
        while not commands.empty():
            command = commands.get()
            if command.get("quit"):
                app.quit()
                return
            if "ticker" in command:
                board.ticker = QColor(*command["ticker"])
                board.update()
        QTimer.singleShot(20, poll)

    def ready() -> None:
        handle = board.windowHandle()
        if handle is not None and handle.isExposed() and board.isActiveWindow():
            geo = board.geometry()
            say(ready=[geo.x(), geo.y(), geo.width(), geo.height()])
        else:
            board.activateWindow()
            QTimer.singleShot(50, ready)

    threading.Thread(target=read_stdin, daemon=True).start()
    QTimer.singleShot(50, ready)
    QTimer.singleShot(20, poll)
    app.exec()


# -- helper process: the customer ------------------------------------------------------


def run_customer(server_url: str, identity: str) -> None:
    """The customer's portal without widgets: the identity exchange, consent
    over REST, and the AssistHost sharing monitor 1 as the portal does (the
    host is made only once the service says the session is active). Commands
    are JSON lines on stdin with an ``id``; each gets a reply with that id."""
    from client.core.api import ApiClient
    from client.core.assist.capture import MssSource, monitors, pick_monitor
    from client.core.assist.host import AssistHost, HostConfig, HostEvent, HostStatus
    from client.core.assist.inject import PynputSink
    from protocol.assist import AssistMode, AssistStatus, Consent, ControlConsent
    from protocol.tickets import TicketCreate

    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    api = ApiClient(server_url)
    signed_in = api.exchange_identity(identity)
    tokens = {"access": signed_in.access_token}
    hosts: dict[int, AssistHost] = {}

    def refresh() -> str:
        tokens["access"] = api.refresh().access_token
        return tokens["access"]

    def on_event(sid: int) -> Callable[[HostEvent], None]:
        def deliver(event: HostEvent) -> None:
            if isinstance(event, HostStatus):
                say(host=sid, state=event.state, detail=event.detail, code=event.code)

        return deliver

    def start_host(sid: int, control: bool) -> AssistHost:
        origin: list[tuple[int, int]] = [(0, 0)]

        def open_source() -> MssSource:
            source = MssSource(pick_monitor(monitors(), (0, 0, *SCREEN)))
            origin[0] = source.monitor.origin
            return source

        host = AssistHost(
            server_url,
            sid,
            lambda: tokens["access"],
            open_source,
            lambda: PynputSink(origin[0]),
            on_event(sid),
            refresh_token=refresh,
            control=control,
            config=HostConfig(fps=30),
        )
        hosts[sid] = host
        host.start()
        return host

    def stats(host: AssistHost | None) -> dict[str, Any] | None:
        if host is None:
            return None
        return {
            "frames_sent": host.frames_sent,
            "bytes_sent": host.bytes_sent,
            "input_applied": host.input_applied,
            "input_dropped": host.input_dropped,
            "control": host.control,
            "state": host.state,
            "running": host.running,
        }

    def handle(cmd: dict[str, Any]) -> dict[str, Any]:
        op = cmd["op"]
        sid = int(cmd.get("session", 0))
        if op == "me":
            return {"customer": api.me().model_dump(mode="json")}
        if op == "ticket":
            body = TicketCreate(client_key=uuid.uuid4().hex, subject=cmd["subject"])
            return {"ticket": api.create_ticket(body).id}
        if op == "code":
            return {"code": api.create_assist_code().code}
        if op == "consent":
            session = api.assist_consent(sid, Consent(allow=bool(cmd["allow"])))
            if session.status == AssistStatus.active:
                start_host(sid, session.mode == AssistMode.control)
            return {"status": session.status.value}
        if op == "control":
            session = api.assist_control_consent(sid, ControlConsent(allow=bool(cmd["allow"])))
            hosts[sid].set_control(session.mode == AssistMode.control)
            return {"mode": session.mode.value}
        if op == "end":
            # As the portal's End: sharing stops here at once, then the service is told.
            host = hosts.get(sid)
            if host is not None:
                host.stop()
            session = api.end_assist(sid)
            return {"status": session.status.value, "end_reason": session.end_reason}
        if op == "stats":
            return {"stats": stats(hosts.get(sid))}
        if op == "grab":
            # What the screen shows now (a new capture, not the host's).
            source = MssSource(1)
            try:
                frame = source.grab()
            finally:
                source.close()
            x, y = cmd["at"]
            b, g, r = (int(v) for v in frame[y, x, :3])
            return {"rgb": [r, g, b]}
        raise ValueError(f"unknown op {op!r}")

    assert signed_in.customer is not None
    say(ready=signed_in.customer.id)
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            reply = handle(cmd)
        except Exception as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        say(id=cmd["id"], **reply)
    for host in hosts.values():
        host.stop(timeout=10)
    api.close()


# -- the test side ---------------------------------------------------------------------


class Child:
    """A helper process speaking JSON lines; keeps every line it printed."""

    def __init__(self, args: list[str], display: str, log: Path) -> None:
        env = {
            **os.environ,
            "DISPLAY": display,
            "QT_QPA_PLATFORM": "xcb",
            "QT_SCALE_FACTOR": "1",
            "QT_ENABLE_HIGHDPI_SCALING": "0",
            "PYTHONPATH": str(REPO),
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("XAUTHORITY", None)
        self.log = log
        self._stderr = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            cwd=REPO,
            text=True,
            encoding="utf-8",
        )
        self.lines: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._ids = iter(range(1, 1_000_000))
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            raw = raw.strip()
            try:
                value = json.loads(raw)
            except ValueError:
                value = {"unparsed": raw}
            if not isinstance(value, dict):
                continue
            with self._cond:
                self.lines.append(value)
                self._cond.notify_all()

    def stderr_tail(self) -> str:
        self._stderr.flush()
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def wait(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = TIMEOUT) -> Any:
        """The first line (of all printed so far or later) matching ``predicate``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            seen = 0
            while True:
                for line in self.lines[seen:]:
                    if predicate(line):
                        return line
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise AssertionError(
                        f"no matching line from {self.log.stem} "
                        f"(exit {self.proc.poll()}): {self.lines[-10:]}\n{self.stderr_tail()}"
                    )
                self._cond.wait(min(left, 0.5))

    def send(self, **fields: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(fields) + "\n")
        self.proc.stdin.flush()

    def call(self, op: str, **fields: Any) -> dict[str, Any]:
        n = next(self._ids)
        self.send(id=n, op=op, **fields)
        reply: dict[str, Any] = self.wait(lambda v: v.get("id") == n)
        assert "error" not in reply, f"{op}: {reply['error']}\n{self.stderr_tail()}"
        return reply

    def stop(self) -> None:
        if self.proc.poll() is None:
            if self.proc.stdin is not None:
                with contextlib.suppress(OSError):
                    self.proc.stdin.close()  # the customer stops its hosts on EOF
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                stop_process(self.proc, 5)
        self._stderr.close()


def wait_until(predicate: Callable[[], Any], timeout: float = TIMEOUT, what: str = "") -> Any:
    from tests.ui_helpers import wait_until as wait

    try:
        return wait(predicate, timeout=timeout, interval=0.05)
    except TimeoutError:
        raise AssertionError(f"not within {timeout} s: {what or predicate}") from None


class Agent:
    """The agent's REST calls."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token

    def req(self, method: str, path: str, **kw: Any) -> requests.Response:
        return requests.request(
            method,
            f"{self.url}/api/v1/assist{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=15,
            **kw,
        )

    def call(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        r = self.req(method, path, **kw)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return dict(r.json())

    def session(self, sid: int) -> dict[str, Any]:
        return self.call("GET", f"/{sid}")


def probe_stream(url: str, sid: int, token: str) -> tuple[int | None, int]:
    """Open the session's stream and read it until it closes: (close code,
    bytes received). A refused stream is closed right after the handshake."""
    from websockets.exceptions import ConnectionClosed

    from client.core.assist.stream import open_stream

    async def probe() -> tuple[int | None, int]:
        ws = await open_stream(url, sid, token)
        received = 0
        try:
            async with asyncio.timeout(TIMEOUT):
                async for message in ws:
                    received += len(message)
        except ConnectionClosed:
            pass
        return ws.close_code, received

    return asyncio.run(probe())


def block_matches(
    frame: np.ndarray, rect: tuple[int, int, int, int], rgb: tuple[int, int, int], tol: int
) -> bool:
    """Whether ``frame`` (h, w, 4 BGRA) shows ``rgb`` all over ``rect``
    (inset by 3 pixels: lossy encodings may blur edges)."""
    x, y, w, h = rect
    region = frame[y + 3 : y + h - 3, x + 3 : x + w - 3, :3].astype(np.int16)
    want = np.array(rgb[::-1], dtype=np.int16)
    return bool(np.abs(region - want).max() <= tol)


def board_shown(frame: np.ndarray | None, ticker: tuple[int, int, int], tol: int = 12) -> bool:
    if frame is None or frame.shape[:2] != (SCREEN[1], SCREEN[0]):
        return False
    return all(block_matches(frame, r, rgb, tol) for r, rgb in BLOCKS.values()) and (
        block_matches(frame, TICKER, ticker, tol)
    )


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    from tests.ui_helpers import Xvfb

    with Xvfb(f"{SCREEN[0]}x{SCREEN[1]}x24") as xvfb:
        yield xvfb.display


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.servers import start_live_server

    server = start_live_server(
        tmp_path_factory.mktemp("assist-e2e"), seed_kb=False, vendor_name="Northwind Soft"
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def board(display: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Child]:
    child = Child(["board"], display, tmp_path_factory.mktemp("board") / "board.log")
    try:
        ready = child.wait(lambda v: "ready" in v)
        assert ready["ready"] == list(BOARD)
        child.wait(lambda v: v.get("painted") == list(TICKER_COLOURS[0]))
        yield child
    finally:
        child.stop()


@pytest.fixture(scope="module")
def customer(
    display: str, live: Any, board: Child, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Child]:
    identity = live.sign(f"cust-{uuid.uuid4().hex[:8]}", name="Ann Lee", company="Acme")
    log = tmp_path_factory.mktemp("customer") / "customer.log"
    child = Child(["customer", live.url, identity], display, log)
    try:
        child.wait(lambda v: "ready" in v)
        yield child
    finally:
        child.stop()


@pytest.fixture(scope="module")
def agent(live: Any) -> Agent:
    email = f"mei-{uuid.uuid4().hex[:8]}@example.com"
    live.create_agent(email)
    return Agent(live.url, live.agent_token(email))


def board_events(board: Child) -> list[dict[str, Any]]:
    with board._cond:
        return [v for v in board.lines if "click" in v or "key" in v]


# -- the tests ---------------------------------------------------------------------------


def test_request_consent_view_control_and_end(
    live: Any, board: Child, customer: Child, agent: Agent
) -> None:
    from client.core.assist.viewer import AssistViewer, ViewerState

    # The agent asks from the customer's ticket (view only).
    ticket = customer.call("ticket", subject="The report prints blank")["ticket"]
    s = agent.call("POST", "/requests", json={"ticket_id": ticket})
    sid = int(s["id"])
    assert s["status"] == "requested" and s["requested_mode"] == "view"
    assert s["ticket_id"] == ticket
    assert s["agent"]["company"] == "Northwind Soft"
    viewers: list[AssistViewer] = []

    def viewer(input_allowed: bool = True) -> AssistViewer:
        v = AssistViewer(live.url, sid, agent.token, quality="high", input_allowed=input_allowed)
        viewers.append(v)
        v.start()
        return v

    try:
        # -- Before Allow: the stream is refused, not a byte reaches the agent.
        early = viewer()
        wait_until(lambda: not early.running, what="the early viewer stops")
        assert early.state == ViewerState.stopped and early.stop_detail == "4409"
        assert early.stats().bytes_received == 0 and early.stats().connects == 1
        assert probe_stream(live.url, sid, agent.token) == (4409, 0)
        before = agent.session(sid)
        assert before["status"] == "requested"
        assert before["bytes_to_agent"] == 0 and not before["customer_connected"]
        assert customer.call("stats", session=sid)["stats"] is None  # no host, no capture

        # -- Allow (view only; control is a second question).
        assert customer.call("consent", session=sid, allow=True)["status"] == "active"
        customer.wait(lambda v: v.get("host") == sid and v.get("state") == "waiting")
        session = agent.session(sid)
        assert session["mode"] == "view" and not session["control_requested"]

        live_view = viewer()
        frame: dict[str, np.ndarray] = {}

        def sees(ticker: tuple[int, int, int]) -> bool:
            pulled = live_view.pull(frame.get("f"))
            if pulled is not None:
                frame["f"] = pulled.frame
            return board_shown(frame.get("f"), ticker)

        wait_until(lambda: sees(TICKER_COLOURS[0]), what="the agent sees the board")
        assert live_view.state == ViewerState.live
        assert live_view.screen is not None
        assert (live_view.screen.width, live_view.screen.height) == SCREEN
        customer.wait(lambda v: v.get("host") == sid and v.get("state") == "sharing")

        # -- Control refused: the agent's clicks and keys are dropped by the host.
        red = centre(BLOCKS["red"][0])
        for buttons in (0, 1, 0):
            live_view.send_pointer(*red, buttons)
        live_view.send_key(0x76, True)  # v
        live_view.send_key(0x76, False)
        wait_until(
            lambda: customer.call("stats", session=sid)["stats"]["input_dropped"] >= 5,
            what="the host drops the view-only input",
        )
        stats = customer.call("stats", session=sid)["stats"]
        assert stats["input_applied"] == 0 and not stats["control"]
        assert board_events(board) == []

        # -- Control granted: a click lands where the agent pointed, keys arrive.
        assert agent.call("POST", f"/{sid}/control", json={})["control_requested"]
        assert customer.call("control", session=sid, allow=True)["mode"] == "control"
        assert agent.session(sid)["mode"] == "control"
        button = centre(BLOCKS["button"][0])
        for buttons in (0, 1, 0):
            live_view.send_pointer(*button, buttons)
        click = board.wait(lambda v: "click" in v)
        assert click == {"click": list(button), "button": 1}
        typed: list[str] = []
        seen: list[dict[str, Any]] = []
        for keysym in (0x6B, 0xE9, 0x01004E2D):  # k, é (Latin-1), 中 (Unicode keysym)
            live_view.send_key(keysym, True)
            live_view.send_key(keysym, False)
            got = board.wait(lambda v: "key" in v and v not in seen)
            seen.append(got)
            typed.append(got["key"])
        assert typed == ["k", "é", "中"]
        # Nothing sent while view only ever reached the window: X delivers in
        # order, so it would have come before the click above.
        events = board_events(board)
        assert events[0] == click
        assert not any(e.get("click") == list(red) or e.get("key") == "v" for e in events)
        stats = customer.call("stats", session=sid)["stats"]
        assert stats["input_applied"] >= 7 and stats["control"]

        # -- The screen is live: a change on it reaches the agent.
        board.send(ticker=list(TICKER_COLOURS[1]))
        wait_until(lambda: sees(TICKER_COLOURS[1]), what="the agent sees the change")
        # Quiet now: everything the relay sent has reached the viewer.
        wait_until(
            lambda: agent.session(sid)["bytes_to_agent"] == live_view.stats().bytes_received,
            what="the relay's count equals what the viewer received",
        )

        # -- End (the agent's): both sockets close, nothing more is relayed.
        ended = agent.call("POST", f"/{sid}/end")
        assert ended["status"] == "ended" and ended["end_reason"] == "agent"
        wait_until(lambda: not live_view.running, what="the viewer stops")
        assert live_view.stop_detail == "4409"
        stopped = customer.wait(lambda v: v.get("host") == sid and v.get("state") == "stopped")
        assert stopped["detail"] == "not_active" and stopped["code"] == 4409
        received = live_view.stats().bytes_received
        assert received == ended["bytes_to_agent"] > 0
        wait_until(
            lambda: not customer.call("stats", session=sid)["stats"]["running"],
            what="the host's thread ends",
        )
        host_after = customer.call("stats", session=sid)["stats"]

        # The screen changes after End; the customer's screen shows it, yet
        # nothing is captured or sent any more.
        board.send(ticker=list(TICKER_COLOURS[2]))
        board.wait(lambda v: v.get("painted") == list(TICKER_COLOURS[2]))
        grabbed = customer.call("grab", at=list(centre(TICKER)))
        assert grabbed["rgb"] == list(TICKER_COLOURS[2])
        assert customer.call("stats", session=sid)["stats"] == host_after
        assert live_view.stats().bytes_received == received
        assert agent.session(sid)["bytes_to_agent"] == received

        # A new stream, from either side, is refused without a byte.
        late = viewer()
        wait_until(lambda: not late.running, what="the late viewer stops")
        assert late.stop_detail == "4409" and late.stats().bytes_received == 0
        assert probe_stream(live.url, sid, agent.token) == (4409, 0)
    finally:
        agent.req("POST", f"/{sid}/end")
        for v in viewers:
            v.stop()


VNCDO = """
import logging, sys
from vncdotool import api
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
port, board, bx, by, final, cx, cy = sys.argv[1:]
client = api.connect("127.0.0.1::" + port, password=None, timeout=60)
try:
    client.expectRegion(board, int(bx), int(by), 0)  # exact, or wait for the next update
    client.captureScreen(final)
    client.mouseMove(int(cx), int(cy))
    client.mousePress(1)
    client.keyPress("z")
    # A full update asked for after the input: once it is here, the host has
    # read the input too (the relay drops what is in flight when a side leaves).
    client.refreshScreen(False)
finally:
    client.disconnect()
    api.shutdown()
"""


def screen_colour(customer: Child, at: tuple[int, int]) -> tuple[int, int, int]:
    r, g, b = customer.call("grab", at=list(at))["rgb"]
    return (int(r), int(g), int(b))


def board_image(ticker: tuple[int, int, int]) -> np.ndarray:
    """The board as it should look: (h, w, 3) RGB."""
    bx, by, bw, bh = BOARD
    image = np.empty((bh, bw, 3), dtype=np.uint8)
    image[...] = BACKGROUND
    for (x, y, w, h), rgb in [*BLOCKS.values(), (TICKER, ticker)]:
        image[y - by : y - by + h, x - bx : x - bx + w] = rgb
    return image


def tigervnc_shows_the_board(port: int, shot: Path) -> None:
    """Run TigerVNC's ``vncviewer`` (Debian's tigervnc-viewer) on an Xvfb of
    its own against the bridge until its window shows the board's colour
    blocks where they are on the customer's screen; then close it."""
    from PIL import Image

    from tests.ui_helpers import Xvfb, screenshot

    assert shutil.which("vncviewer"), (
        "TigerVNC's vncviewer is missing (scripts/test.sh installs it)"
    )
    with Xvfb(f"{SCREEN[0] + 100}x{SCREEN[1] + 100}x24") as viewer_x:
        proc = subprocess.Popen(
            [
                *("vncviewer", "-display", viewer_x.display, "-SecurityTypes", "None"),
                *("-geometry", "+0+0", f"127.0.0.1::{port}"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:

            def shows_board() -> bool:
                if not screenshot(viewer_x.display, shot):
                    return False
                bgr = np.asarray(Image.open(shot).convert("RGB"))[..., ::-1]
                # Where the viewer put the picture (its window frame moves it).
                red = np.array(BLOCKS["red"][1][::-1], dtype=np.int16)
                ys, xs = np.nonzero((np.abs(bgr.astype(np.int16) - red) <= 24).all(axis=2))
                if not len(xs):
                    return False
                dx, dy = int(xs.min()) - BLOCKS["red"][0][0], int(ys.min()) - BLOCKS["red"][0][1]
                return all(
                    block_matches(bgr, (x + dx, y + dy, w, h), rgb, 24)
                    for (x, y, w, h), rgb in (
                        BLOCKS[name] for name in ("red", "green", "blue", "yellow", "button")
                    )
                )

            wait_until(shows_board, timeout=60, what="TigerVNC's window shows the board")
        finally:
            stop_process(proc, 10)


def test_code_session_through_the_vnc_bridge(
    live: Any, board: Child, customer: Child, agent: Agent, tmp_path: Path
) -> None:
    pytest.importorskip("vncdotool")
    from PIL import Image

    from client.core.assist.bridge import VncBridge

    # The code flow; the agent asks for control, the customer allows viewing only.
    code = customer.call("code")["code"]
    s = agent.call("POST", "/redeem", json={"code": code, "mode": "control"})
    sid = int(s["id"])
    assert s["status"] == "requested" and s["requested_mode"] == "control"
    bridge = VncBridge(live.url, sid, agent.token, port=0)
    try:
        # Before Allow the bridge has nothing to give: its viewer is closed.
        host, port = bridge.start()
        with socket.create_connection((host, port), timeout=TIMEOUT) as sock:
            sock.settimeout(TIMEOUT)
            assert sock.recv(12) == b""
        wait_until(lambda: bridge.stop_reason == "4409", what="the bridge stops")
        assert bridge.bytes_to_viewer == 0
        bridge.stop()

        assert customer.call("consent", session=sid, allow=True)["status"] == "active"
        assert agent.session(sid)["control_requested"]
        assert customer.call("control", session=sid, allow=False)["mode"] == "view"
        customer.wait(lambda v: v.get("host") == sid and v.get("state") == "waiting")
        clicks_before = len(board_events(board))
        ticker = screen_colour(customer, centre(TICKER))
        reference = tmp_path / "board.png"
        Image.fromarray(board_image(ticker), "RGB").save(reference)
        bridge = VncBridge(live.url, sid, agent.token, port=0)
        host, port = bridge.start()
        png = tmp_path / "capture.png"
        red = centre(BLOCKS["red"][0])
        log = tmp_path / "vncdo.log"
        with log.open("wb") as err:
            args = [port, reference, BOARD[0], BOARD[1], png, *red]
            result = subprocess.run(
                [sys.executable, "-c", VNCDO, *map(str, args)],
                stdout=err,
                stderr=err,
                timeout=150,
                check=False,
            )
        assert result.returncode == 0, log.read_text(errors="replace")[-3000:]
        rgb = np.asarray(Image.open(png).convert("RGB"))
        assert rgb.shape == (SCREEN[1], SCREEN[0], 3)
        bgra = np.dstack([rgb[..., ::-1], np.full(rgb.shape[:2], 255, np.uint8)])
        # vncdotool takes no lossy encoding: the board is exact, where it is.
        bx, by, bw, bh = BOARD
        assert np.array_equal(rgb[by : by + bh, bx : bx + bw], board_image(ticker))
        assert board_shown(bgra, ticker, 0)
        assert not block_matches(bgra, (BOARD[0] - 40, BOARD[1], 40, 40), BLOCKS["red"][1], 60)

        # View only: vncdotool's click and key reach the host and stop there.
        wait_until(
            lambda: customer.call("stats", session=sid)["stats"]["input_dropped"] >= 4,
            what="the host drops the VNC viewer's input",
        )
        assert customer.call("stats", session=sid)["stats"]["input_applied"] == 0
        wait_until(lambda: not bridge.busy, what="the VNC viewer leaves")
        assert bridge.viewers_served == 1 and bridge.bytes_to_viewer > SCREEN[0] * SCREEN[1]

        # TigerVNC's vncviewer through the same bridge shows the customer's screen.
        tigervnc_shows_the_board(port, tmp_path / "tigervnc.png")
        wait_until(lambda: not bridge.busy, what="TigerVNC's viewer leaves")
        assert bridge.viewers_served == 2

        # The customer ends: nothing more through the bridge either.
        ended = customer.call("end", session=sid)
        assert ended == {"id": ended["id"], "status": "ended", "end_reason": "customer"}
        customer.wait(lambda v: v.get("host") == sid and v.get("state") == "stopped")
        to_viewer = bridge.bytes_to_viewer
        with socket.create_connection((host, port), timeout=TIMEOUT) as sock:
            sock.settimeout(TIMEOUT)
            assert sock.recv(12) == b""
        wait_until(lambda: bridge.stop_reason == "4409", what="the bridge stops after End")
        assert bridge.bytes_to_viewer == to_viewer
        assert 0 < to_viewer <= agent.session(sid)["bytes_to_agent"]
        assert len(board_events(board)) == clicks_before
    finally:
        bridge.stop()
        agent.req("POST", f"/{sid}/end")


def test_first_update_shows_the_screen(
    live: Any, board: Child, customer: Child, agent: Agent
) -> None:
    """A viewer's first picture is the screen (a VNC client that captures
    once, like ``vncdo capture``, must not get a black frame)."""
    from websockets.exceptions import ConnectionClosed

    from client.core.assist.stream import open_stream
    from client.core.rfb import FramebufferUpdated, RfbClient

    sid = int(agent.call("POST", "/redeem", json={"code": customer.call("code")["code"]})["id"])
    try:
        assert customer.call("consent", session=sid, allow=True)["status"] == "active"
        customer.wait(lambda v: v.get("host") == sid and v.get("state") == "waiting")
        ticker = screen_colour(customer, centre(TICKER))

        async def first_update() -> np.ndarray:
            ws = await open_stream(live.url, sid, agent.token)
            client = RfbClient(quality=None)
            try:
                async with asyncio.timeout(TIMEOUT):
                    async for message in ws:
                        assert isinstance(message, bytes)
                        client.receive_data(message)
                        if out := client.data_to_send():
                            await ws.send(out)
                        for event in client.events_received():
                            if isinstance(event, FramebufferUpdated):
                                assert client.framebuffer is not None
                                return client.framebuffer.pixels.copy()
            except ConnectionClosed:
                pass
            finally:
                await ws.close()
            raise AssertionError("the stream closed before the first update")

        assert board_shown(asyncio.run(first_update()), ticker)
    finally:
        agent.req("POST", f"/{sid}/end")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    if sys.argv[1] == "board":
        run_board()
    else:
        run_customer(sys.argv[2], sys.argv[3])
