"""The customer's AssistHost over a real websocket, with the real RfbClient
as the agent's viewer.

:class:`ViewerRelay` is a websockets server on loopback that stands where
the service's relay is (same URL, Bearer header, ``binary`` subprotocol,
close codes) and plays the agent's viewer itself: every stream connection
gets a fresh :class:`RfbClient`, and every byte the host sent is counted
there. The screen is a numpy pattern whose pixel (x, y) is
(x % 256, y % 256, 0x80), so a decoded picture proves where it came from.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from client.core.assist.capture import Frame
from client.core.assist.host import (
    AssistHost,
    ClipboardFromAgent,
    HostConfig,
    HostEvent,
    HostStatus,
)
from client.core.rfb import CutText, RfbClient
from protocol.assist import ASSIST_PREFIX, STREAM_SUBPROTOCOL, StreamClose
from tests.ui_helpers import wait_until

SIZE = (320, 200)
SESSION = 41


def pattern(width: int, height: int, shift: int = 0) -> Frame:
    frame = np.empty((height, width, 4), dtype=np.uint8)
    frame[..., 0] = 0x80  # B
    frame[..., 1] = ((np.arange(height) + shift) % 256)[:, None]  # G: y
    frame[..., 2] = ((np.arange(width) + shift) % 256)[None, :]  # R: x
    frame[..., 3] = 255
    return frame


class ArraySource:
    """A screen that shows whatever array the test puts there."""

    def __init__(self, frame: Frame) -> None:
        self.frame = frame
        self.grabs = 0
        self.closed = False
        self.threads: set[str] = set()

    @property
    def size(self) -> tuple[int, int]:
        return (int(self.frame.shape[1]), int(self.frame.shape[0]))

    def grab(self) -> Frame:
        self.grabs += 1
        self.threads.add(threading.current_thread().name)
        return self.frame.copy()

    def close(self) -> None:
        self.closed = True


class RecordingSink:
    """An InputSink that records instead of injecting."""

    def __init__(self) -> None:
        self.keys: list[tuple[int, bool]] = []
        self.pointers: list[tuple[int, int, int]] = []
        self.releases = 0

    @property
    def calls(self) -> int:
        return len(self.keys) + len(self.pointers)

    def key(self, keysym: int, down: bool) -> None:
        self.keys.append((keysym, down))

    def pointer(self, x: int, y: int, buttons: int) -> None:
        self.pointers.append((x, y, buttons))

    def release_all(self) -> None:
        self.releases += 1


@dataclass
class Viewer:
    """One stream connection, seen from the agent's side."""

    ws: ServerConnection
    client: RfbClient
    bytes_in: int = 0
    events: list[Any] = field(default_factory=list)
    closed: bool = False

    @property
    def pixels(self) -> Frame | None:
        fb = self.client.framebuffer
        return None if fb is None else fb.pixels

    def shows(self, frame: Frame) -> bool:
        pixels = self.pixels
        return (
            pixels is not None
            and pixels.shape == frame.shape
            and bool((pixels[..., :3] == frame[..., :3]).all())
        )


class ViewerRelay:
    """The relay's stream endpoint with the agent's viewer built in."""

    def __init__(self, token: str = "good") -> None:
        self.token = token
        self.viewers: list[Viewer] = []
        self.refuse_status: int | None = None
        self.close_on_connect: int | None = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server: Server = self.run(self._start())
        port = self.server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    def run(self, coro: Any, timeout: float = 20) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self) -> Server:
        return await serve(
            self._handle,
            "127.0.0.1",
            0,
            subprotocols=[STREAM_SUBPROTOCOL],  # type: ignore[list-item]
            process_request=self._check,
            max_size=None,
        )

    def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path != f"{ASSIST_PREFIX}/{SESSION}/stream":
            return connection.respond(HTTPStatus.NOT_FOUND, "no such session\n")
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return connection.respond(HTTPStatus.UNAUTHORIZED, "bad token\n")
        if self.refuse_status is not None:
            return connection.respond(HTTPStatus(self.refuse_status), "refused\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        viewer = Viewer(ws, RfbClient(quality=None))
        self.viewers.append(viewer)
        if self.close_on_connect is not None:
            await ws.close(self.close_on_connect)
            viewer.closed = True
            return
        try:
            async for message in ws:
                assert isinstance(message, bytes)
                viewer.bytes_in += len(message)
                viewer.client.receive_data(message)
                viewer.events += viewer.client.events_received()
                out = viewer.client.data_to_send()
                if out:
                    await ws.send(out)
        finally:
            viewer.closed = True

    def act(self, viewer: Viewer, fn: Callable[[RfbClient], None]) -> None:
        """Do something as the agent (send keys, pointer, clipboard)."""

        async def go() -> None:
            fn(viewer.client)
            await viewer.ws.send(viewer.client.data_to_send())

        self.run(go())

    def close(self, viewer: Viewer, code: int) -> None:
        self.run(viewer.ws.close(code))

    def stop(self) -> None:
        self.server.close()
        self.run(self.server.wait_closed())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def relay() -> Iterator[ViewerRelay]:
    r = ViewerRelay()
    yield r
    r.stop()


class Harness:
    def __init__(
        self,
        relay: ViewerRelay,
        *,
        control: bool = False,
        clipboard: bool = False,
        config: HostConfig | None = None,
    ):
        self.relay = relay
        self.source = ArraySource(pattern(*SIZE))
        self.sink = RecordingSink()
        self.events: list[HostEvent] = []
        self.token = relay.token
        self.refreshes = 0
        self.host = AssistHost(
            relay.url,
            SESSION,
            lambda: self.token,
            lambda: self.source,
            lambda: self.sink,
            self.events.append,
            refresh_token=self._refresh,
            control=control,
            clipboard=clipboard,
            config=config or HostConfig(fps=60, reconnect_min_s=0.05, reconnect_max_s=0.2),
        )

    def _refresh(self) -> str:
        self.refreshes += 1
        self.token = self.relay.token
        return self.token

    def start(self) -> Harness:
        self.host.start()
        return self

    def viewer(self, n: int = 1) -> Viewer:
        wait_until(lambda: len(self.relay.viewers) >= n, 10)
        return self.relay.viewers[n - 1]

    def wait_shows(self, viewer: Viewer, frame: Frame) -> None:
        wait_until(lambda: viewer.shows(frame), 10)

    def stopped(self) -> HostStatus | None:
        last = [e for e in self.events if isinstance(e, HostStatus)]
        return last[-1] if last and last[-1].state == "stopped" else None

    def round_trip(self, viewer: Viewer) -> None:
        """An input event the host must have read (and dropped or applied):
        everything the viewer sent before it has been handled."""
        seen = self.host.input_applied + self.host.input_dropped
        self.relay.act(viewer, lambda c: c.send_pointer(0, 0, 0))
        wait_until(lambda: self.host.input_applied + self.host.input_dropped > seen, 10)


@pytest.fixture
def harness(relay: ViewerRelay) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(**kwargs: Any) -> Harness:
        h = Harness(relay, **kwargs)
        made.append(h)
        return h

    yield make
    for h in made:
        assert h.host.stop(10), "the host thread did not end"


def test_viewer_sees_the_screen_and_input_waits_for_control(
    harness: Callable[..., Harness],
) -> None:
    h = harness().start()
    viewer = h.viewer()
    h.wait_shows(viewer, h.source.frame)
    assert viewer.client.name == "HelpBridge"
    assert h.host.state == "sharing"
    # Grabs happen on the capture thread, never on the loop thread.
    assert h.source.threads and all("capture" in t for t in h.source.threads)

    # View only: every key and pointer event is dropped and counted.
    def agent_types(c: RfbClient) -> None:
        for keysym in (0x61, 0x01004E2D, 0xFFE3):
            c.send_key(keysym, True)
            c.send_key(keysym, False)
        c.send_pointer(10, 20, 1)
        c.send_pointer(10, 20, 0)

    h.relay.act(viewer, agent_types)
    wait_until(lambda: h.host.input_dropped >= 8, 10)
    assert h.host.input_dropped == 8
    assert h.host.input_applied == 0
    assert h.sink.calls == 0

    # Control granted: the same events reach the sink, in order.
    h.host.set_control(True)
    h.relay.act(viewer, agent_types)
    wait_until(lambda: h.host.input_applied >= 8, 10)
    assert h.sink.keys == [
        (0x61, True),
        (0x61, False),
        (0x01004E2D, True),
        (0x01004E2D, False),
        (0xFFE3, True),
        (0xFFE3, False),
    ]
    assert h.sink.pointers == [(10, 20, 1), (10, 20, 0)]

    # Stop control: dropped again at once, and held keys are let go.
    releases = h.sink.releases
    h.host.set_control(False)
    h.relay.act(viewer, lambda c: c.send_key(0x62, True))
    wait_until(lambda: h.host.input_dropped >= 9, 10)
    assert h.sink.calls == 8
    assert h.sink.releases > releases


def test_idle_screen_sends_nothing(harness: Callable[..., Harness]) -> None:
    h = harness().start()
    viewer = h.viewer()
    h.wait_shows(viewer, h.source.frame)
    wait_until(lambda: h.host.frames_sent >= 1, 10)
    frames, received = h.host.frames_sent, viewer.bytes_in
    grabs = h.source.grabs
    # The viewer keeps an update request outstanding; the host keeps looking.
    wait_until(lambda: h.source.grabs >= grabs + 15, 10)
    assert h.host.frames_sent == frames
    assert viewer.bytes_in == received

    # One pixel changes: a small update, not the screen again.
    changed = h.source.frame.copy()
    changed[5, 7] = (0, 0, 0, 255)
    h.source.frame = changed
    h.wait_shows(viewer, changed)
    assert viewer.bytes_in - received < 200


def test_a_still_screen_is_grabbed_less_often_until_it_changes(
    harness: Callable[..., Harness],
) -> None:
    h = harness(
        config=HostConfig(fps=30, idle_after_s=0.3, idle_fps=5, reconnect_min_s=0.05)
    ).start()
    viewer = h.viewer()
    h.wait_shows(viewer, h.source.frame)
    assert h.host.capture_fps == 30
    wait_until(lambda: h.host.capture_fps == 5, 10)
    changed = h.source.frame.copy()
    changed[9, 9] = (1, 2, 3, 255)
    h.source.frame = changed
    h.wait_shows(viewer, changed)
    assert h.host.capture_fps == 30  # back to full rate with the change


def test_pause_stops_capture_and_sending_until_resumed(harness: Callable[..., Harness]) -> None:
    h = harness().start()
    viewer = h.viewer()
    h.wait_shows(viewer, h.source.frame)
    h.host.set_paused(True)
    h.round_trip(viewer)
    grabs, received = h.source.grabs, viewer.bytes_in
    h.source.frame = pattern(*SIZE, shift=77)
    for _ in range(5):
        h.round_trip(viewer)
    assert h.source.grabs == grabs
    assert viewer.bytes_in == received
    assert not viewer.shows(h.source.frame)

    h.host.set_paused(False)
    h.wait_shows(viewer, h.source.frame)
    assert h.source.grabs > grabs


def test_stop_ends_the_stream_and_sends_nothing_after(harness: Callable[..., Harness]) -> None:
    h = harness().start()
    viewer = h.viewer()
    h.wait_shows(viewer, h.source.frame)
    assert h.host.stop(10)
    received = viewer.bytes_in
    wait_until(lambda: viewer.closed, 10)
    assert viewer.bytes_in == received
    status = h.stopped()
    assert status is not None and status.detail == "local"
    assert h.source.closed
    assert len(h.relay.viewers) == 1


def test_reconnects_after_the_peer_went_away(harness: Callable[..., Harness]) -> None:
    h = harness().start()
    first = h.viewer()
    h.wait_shows(first, h.source.frame)
    h.relay.close(first, StreamClose.peer_gone)
    second = h.viewer(2)
    # A new RFB handshake and the whole screen again.
    h.source.frame = pattern(*SIZE, shift=3)
    h.wait_shows(second, h.source.frame)
    assert h.host.connections == 2
    assert h.stopped() is None


@pytest.mark.parametrize(
    ("code", "detail"),
    [
        (StreamClose.not_active, "not_active"),
        (StreamClose.forbidden, "forbidden"),
        (StreamClose.replaced, "replaced"),
    ],
)
def test_stops_for_good_when_the_service_says_so(
    harness: Callable[..., Harness], code: int, detail: str
) -> None:
    h = harness().start()
    first = h.viewer()
    h.wait_shows(first, h.source.frame)
    h.relay.close(first, code)
    wait_until(h.stopped, 10)
    status = h.stopped()
    assert status is not None and status.detail == detail and status.code == code
    assert len(h.relay.viewers) == 1


def test_refused_handshake_stops_and_an_old_token_is_refreshed_once(
    relay: ViewerRelay, harness: Callable[..., Harness]
) -> None:
    h = harness()
    h.token = "stale"
    h.start()
    viewer = h.viewer()
    h.wait_shows(viewer, h.source.frame)
    assert h.refreshes == 1

    h.host.stop(10)
    relay.refuse_status = 409
    h2 = harness().start()
    wait_until(h2.stopped, 10)
    status = h2.stopped()
    assert status is not None and status.detail == "not_active" and status.code == 409
    assert h2.source.grabs == 0


def test_clipboard_only_while_allowed(harness: Callable[..., Harness]) -> None:
    h = harness().start()
    viewer = h.viewer()
    h.wait_shows(viewer, h.source.frame)

    # Not allowed: the agent's text is dropped, the customer's is not sent.
    h.relay.act(viewer, lambda c: c.send_cut_text("agent secret"))
    h.host.send_clipboard("customer secret")
    h.round_trip(viewer)
    wait_until(lambda: h.host.clipboard_dropped == 1, 10)
    assert not [e for e in h.events if isinstance(e, ClipboardFromAgent)]

    h.host.set_clipboard(True)
    h.relay.act(viewer, lambda c: c.send_cut_text("C:\\Program Files\\LedgerPro"))
    wait_until(lambda: any(isinstance(e, ClipboardFromAgent) for e in h.events), 10)
    clip = [e for e in h.events if isinstance(e, ClipboardFromAgent)]
    assert clip == [ClipboardFromAgent("C:\\Program Files\\LedgerPro")]
    h.host.send_clipboard("invoice 2026-11")
    wait_until(lambda: any(isinstance(e, CutText) for e in viewer.events), 10)
    assert [e.text for e in viewer.events if isinstance(e, CutText)] == ["invoice 2026-11"]
