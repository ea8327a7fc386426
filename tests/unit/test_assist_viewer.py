"""The agent's viewer against a real websockets relay with a real RfbServer
behind it (tests/assist_fakes.py): picture, coalesced updates, input only
while allowed, quality and frame-rate caps, clipboard, reconnects and stops."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from client.core.assist.viewer import (
    QUALITY_LEVELS,
    AssistViewer,
    ClipboardText,
    ScreenInfo,
    StateChanged,
    ViewerEvent,
    ViewerState,
)
from client.core.rfb import CutText, EncodingsChanged, KeyEvent, PointerEvent
from client.core.rfb.keysyms import UNICODE_OFFSET
from client.core.rfb.messages import ENC_QUALITY_0
from protocol.assist import StreamClose
from tests.assist_fakes import RelayHost, pattern
from tests.ui_helpers import wait_until


def close_to(a: np.ndarray, b: np.ndarray, mean: float = 4.0) -> bool:
    """Equal up to JPEG noise (the viewer asks for JPEG quality levels)."""
    if a.shape != b.shape:
        return False
    diff = np.abs(a[..., :3].astype(np.int16) - b[..., :3].astype(np.int16))
    return float(diff.mean()) < mean


class Recorder:
    def __init__(self) -> None:
        self.events: list[ViewerEvent] = []
        self.frames = 0
        self.lock = threading.Lock()

    def event(self, event: ViewerEvent) -> None:
        with self.lock:
            self.events.append(event)

    def frame(self) -> None:
        with self.lock:
            self.frames += 1

    def states(self) -> list[ViewerState]:
        with self.lock:
            return [e.state for e in self.events if isinstance(e, StateChanged)]

    def of(self, kind: type) -> list[ViewerEvent]:
        with self.lock:
            return [e for e in self.events if isinstance(e, kind)]


@pytest.fixture
def relay() -> Iterator[RelayHost]:
    host = RelayHost(pattern()).start()
    yield host
    host.stop()


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def make_viewer(relay: RelayHost, rec: Recorder, **kw: object) -> AssistViewer:
    viewer = AssistViewer(
        relay.url,
        relay.session_id,
        relay.token,
        on_event=rec.event,
        on_frame=rec.frame,
        reconnect_delays=(0.05,),
        **kw,  # type: ignore[arg-type]
    )
    viewer.start()
    return viewer


def frames_at_least(viewer: AssistViewer, count: int) -> Callable[[], bool]:
    return lambda: viewer.stats().frames >= count


class Picture:
    """What a widget does: pull on notice, keep its own copy."""

    def __init__(self, viewer: AssistViewer) -> None:
        self.viewer = viewer
        self.frame: np.ndarray | None = None

    def pull(self) -> np.ndarray | None:
        got = self.viewer.pull(self.frame)
        if got is not None:
            self.frame = got.frame
        return self.frame


def test_viewer_shows_the_customers_screen(relay: RelayHost, rec: Recorder) -> None:
    viewer = make_viewer(relay, rec, quality="high")
    try:
        pic = Picture(viewer)
        wait_until(lambda: (f := pic.pull()) is not None and close_to(f, relay.frame))
        assert rec.of(ScreenInfo) == [ScreenInfo(320, 240, "Customer PC")]
        assert ViewerState.live in rec.states()
        # The red block is exact enough to see.
        assert pic.frame is not None
        block = pic.frame[45:75, 65:115, :3].astype(int)
        assert np.all(np.abs(block - [0, 0, 255]) <= 8)
        # A change arrives as a small dirty rectangle, copied in place.
        before = pic.frame
        changed = relay.frame.copy()
        changed[100:110, 10:30] = [0, 255, 0, 255]
        relay.set_frame(changed)
        got = wait_until(lambda: viewer.pull(before))
        assert got.frame is before and not got.resized
        assert all(r.w * r.h < 320 * 240 for r in got.rects)
        assert np.all(np.abs(before[102:108, 12:28, :3].astype(int) - [0, 255, 0]) <= 8)
        stats = viewer.stats()
        assert stats.frames >= 2 and stats.bytes_received > 0 and stats.connects == 1
    finally:
        assert viewer.stop()
    assert rec.states()[-1] == ViewerState.stopped


def test_updates_are_coalesced_until_pulled(relay: RelayHost, rec: Recorder) -> None:
    viewer = make_viewer(relay, rec)
    try:
        wait_until(lambda: viewer.stats().frames >= 1)
        assert rec.frames == 1  # nobody pulled: one notice only
        frame = relay.frame.copy()
        for i in range(4):
            frame = frame.copy()
            frame[10 + i * 10 : 15 + i * 10, 10:20] = [255, 255, 255, 255]
            relay.set_frame(frame)
            wait_until(frames_at_least(viewer, 2 + i))
        assert rec.frames == 1
        pic = Picture(viewer)
        latest = pic.pull()
        assert latest is not None and close_to(latest, frame)
        assert viewer.pull(latest) is None  # nothing new since
        frame = frame.copy()
        frame[200:210, 10:20] = [255, 0, 0, 255]
        relay.set_frame(frame)
        wait_until(lambda: rec.frames == 2)
    finally:
        viewer.stop()


def test_input_only_while_allowed(relay: RelayHost, rec: Recorder) -> None:
    viewer = make_viewer(relay, rec)
    try:
        wait_until(lambda: viewer.state == ViewerState.live)
        assert viewer.send_key(0x61, True) is False
        assert viewer.send_pointer(10, 10, 1) is False
        assert viewer.type_text("hi") is False
        # A round trip the server must answer proves the dropped input is not in flight.
        viewer.set_quality("low")
        wait_until(lambda: relay.received(EncodingsChanged))
        assert relay.received(KeyEvent) == [] and relay.received(PointerEvent) == []
        assert viewer.stats().input_dropped == 3

        viewer.set_input_allowed(True)
        viewer.send_pointer(30, 40, 1)
        viewer.send_pointer(30, 40, 0)
        viewer.type_text("a你")
        wait_until(lambda: len(relay.received(KeyEvent)) == 4)
        assert relay.received(PointerEvent) == [PointerEvent(30, 40, 1), PointerEvent(30, 40, 0)]
        assert relay.received(KeyEvent) == [
            KeyEvent(0x61, True),
            KeyEvent(0x61, False),
            KeyEvent(UNICODE_OFFSET + ord("你"), True),
            KeyEvent(UNICODE_OFFSET + ord("你"), False),
        ]
        viewer.set_input_allowed(False)
        viewer.send_key(0x62, True)
        viewer.set_quality("high")
        wait_until(lambda: len(relay.received(EncodingsChanged)) == 3)
        assert len(relay.received(KeyEvent)) == 4
    finally:
        viewer.stop()


def test_quality_is_resent_as_set_encodings(relay: RelayHost, rec: Recorder) -> None:
    viewer = make_viewer(relay, rec, quality="medium")
    try:
        first = wait_until(lambda: relay.received(EncodingsChanged))[0]
        assert ENC_QUALITY_0 + QUALITY_LEVELS["medium"] in first.encodings
        viewer.set_quality("low")
        second = wait_until(lambda: relay.received(EncodingsChanged)[1:])[0]
        assert ENC_QUALITY_0 + QUALITY_LEVELS["low"] in second.encodings
        assert ENC_QUALITY_0 + QUALITY_LEVELS["medium"] not in second.encodings
        with pytest.raises(ValueError):
            viewer.set_quality("ultra")
    finally:
        viewer.stop()


def test_frame_rate_cap_spaces_the_requests(relay: RelayHost, rec: Recorder) -> None:
    viewer = make_viewer(relay, rec, fps=4)
    stop = threading.Event()

    def animate() -> None:
        i = 0
        while not stop.is_set():
            frame = relay.frame.copy()
            frame[0:8, 0:8] = [i % 256, 0, 0, 255]
            relay.set_frame(frame)
            i += 1
            stop.wait(0.01)

    thread = threading.Thread(target=animate, daemon=True)
    try:
        wait_until(lambda: viewer.stats().frames >= 1)
        thread.start()
        start_frames, started = viewer.stats().frames, time.monotonic()
        wait_until(lambda: viewer.stats().frames >= start_frames + 5, timeout=20)
        # Five more updates at no more than 4 a second take at least a second.
        assert time.monotonic() - started >= 0.95
    finally:
        stop.set()
        viewer.stop()


def test_clipboard_both_ways(relay: RelayHost, rec: Recorder) -> None:
    viewer = make_viewer(relay, rec)
    try:
        wait_until(lambda: viewer.state == ViewerState.live)
        relay.send_cut_text("from the customer")
        wait_until(lambda: rec.of(ClipboardText))
        assert rec.of(ClipboardText) == [ClipboardText("from the customer")]
        assert viewer.send_cut_text("from the agent")  # clipboard is not control
        wait_until(lambda: relay.received(CutText))
        assert relay.received(CutText) == [CutText("from the agent")]
    finally:
        viewer.stop()


def test_reconnects_when_the_peer_drops_and_stops_when_not_active(
    relay: RelayHost, rec: Recorder
) -> None:
    viewer = make_viewer(relay, rec, quality="high")
    try:
        wait_until(lambda: viewer.state == ViewerState.live)
        relay.close_streams(StreamClose.peer_gone, "customer gone")
        wait_until(lambda: relay.connections == 2 and viewer.state == ViewerState.live)
        assert ViewerState.reconnecting in rec.states()
        pic = Picture(viewer)
        wait_until(lambda: (f := pic.pull()) is not None and close_to(f, relay.frame))
        relay.close_streams(StreamClose.not_active, "ended")
        wait_until(lambda: viewer.state == ViewerState.stopped)
        assert viewer.stop_detail == str(int(StreamClose.not_active))
        assert relay.connections == 2
        wait_until(lambda: not viewer.running)
    finally:
        viewer.stop()


@pytest.mark.parametrize(
    ("session_id", "token", "detail"),
    [(99, "agent-token", "http 404"), (7, "wrong", str(int(StreamClose.unauthorized)))],
)
def test_refusals_stop_for_good(
    relay: RelayHost, rec: Recorder, session_id: int, token: str, detail: str
) -> None:
    viewer = AssistViewer(relay.url, session_id, token, on_event=rec.event)
    viewer.start()
    try:
        wait_until(lambda: viewer.state == ViewerState.stopped and not viewer.running)
        assert viewer.stop_detail == detail
        assert ViewerState.live not in rec.states()
    finally:
        viewer.stop()


def test_an_unreachable_service_is_retried_until_stopped(rec: Recorder) -> None:
    from tests.ui_helpers import closed_port_url

    viewer = AssistViewer(
        closed_port_url(), 7, lambda: "t", on_event=rec.event, reconnect_delays=(0.05,)
    )
    viewer.start()
    try:
        wait_until(lambda: rec.states().count(ViewerState.reconnecting) >= 2)
        assert viewer.running
    finally:
        assert viewer.stop()
    assert viewer.state == ViewerState.stopped
