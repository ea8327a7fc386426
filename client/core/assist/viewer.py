"""The agent's end of a remote-assist session: the stream, an RFB client, and
the picture, kept off the user interface's thread.

:class:`AssistViewer` runs an asyncio loop on a thread of its own. There it
opens the session's stream (:func:`~client.core.assist.stream.open_stream`),
feeds the bytes to a sans-I/O :class:`~client.core.rfb.RfbClient` (decoding
happens on that thread, never on the caller's) and sends what the client
wants sent. Everything the caller does is thread-safe and returns at once:
:meth:`send_key`, :meth:`send_pointer`, :meth:`send_cut_text`,
:meth:`set_quality`, :meth:`set_fps`, :meth:`set_input_allowed`.

The picture, without a queue of stale frames
--------------------------------------------
After each update the changed rectangles are copied into a *published*
frame under a short lock and added to a dirty region. ``on_frame`` is called
only when the dirty region goes from empty to non-empty: a user interface
that answers it by calling :meth:`pull` gets the latest pixels of every
rectangle that changed since its last pull, however many updates arrived
meanwhile (the lock is held only for memory copies, never while decoding).

Pace
----
The viewer asks for the next incremental update itself, at most
:attr:`fps` times a second (the RFB server answers requests only, so this
caps the frame rate and the bandwidth). Quality levels map to the RFB JPEG
quality pseudo-encodings and are re-sent with SetEncodings.

Input is sent only while allowed (:meth:`set_input_allowed`: the session's
mode is ``control``); anything else is counted and dropped.

Reconnecting works like the customer's host: when the other side dropped
(:attr:`~protocol.assist.StreamClose.peer_gone`) or the network failed, the
viewer connects again with a fresh RFB client; it stops for good when the
service says the session is not live, not found, forbidden or replaced,
or when the access token is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray
from websockets.exceptions import ConnectionClosed, InvalidStatus

from client.core.assist.stream import open_stream
from client.core.rfb import (
    Bell,
    Connected,
    CursorChanged,
    CutText,
    FramebufferUpdated,
    Rect,
    Resized,
    RfbClient,
    RfbProtocolError,
)
from client.core.rfb.client import DEFAULT_ENCODINGS
from protocol.assist import StreamClose

log = logging.getLogger(__name__)

Frame = NDArray[np.uint8]
Token = str | Callable[[], str]
Connect = Callable[[str, int, str], Awaitable[Any]]

QUALITY_LEVELS: dict[str, int] = {"low": 2, "medium": 6, "high": 9}
"""Quality choices → RFB quality level (TigerVNC's JPEG mapping: 2 ≈ q35
4:2:0, 6 ≈ q79 4:4:4, 9 = q100 4:4:4)."""
DEFAULT_FPS = 30
MAX_FPS = 60
MAX_DIRTY_RECTS = 32
"""More dirty rectangles than this collapse into their bounding box."""
RECONNECT_DELAYS_S = (0.3, 1.0, 2.0, 4.0)
"""Back-off between reconnects; the last repeats."""
FINAL_CLOSE_CODES = frozenset(
    {
        StreamClose.unauthorized,
        StreamClose.forbidden,
        StreamClose.not_found,
        StreamClose.not_active,
        StreamClose.replaced,
        StreamClose.normal,
    }
)
FINAL_HTTP_STATUSES = frozenset({401, 403, 404, 409, 410})


class ViewerState(StrEnum):
    connecting = "connecting"
    """The stream is being opened (or waits for the customer's side)."""
    live = "live"
    """The RFB handshake is done; the picture is live."""
    reconnecting = "reconnecting"
    stopped = "stopped"


@dataclass(frozen=True, slots=True)
class StateChanged:
    state: ViewerState
    detail: str = ""
    """Why (stopped: the close code or error, e.g. ``"4409"``, ``"http 404"``)."""


@dataclass(frozen=True, slots=True)
class ScreenInfo:
    """The RFB handshake finished: the remote screen's size and name."""

    width: int
    height: int
    name: str


@dataclass(frozen=True, slots=True)
class ClipboardText:
    """Text the customer's side put on the clipboard."""

    text: str


@dataclass(frozen=True, slots=True)
class RingBell:
    pass


@dataclass(frozen=True, slots=True)
class CursorShape:
    image: Frame
    hotspot_x: int
    hotspot_y: int


ViewerEvent = StateChanged | ScreenInfo | ClipboardText | RingBell | CursorShape


@dataclass(frozen=True, slots=True)
class Pulled:
    """What :meth:`AssistViewer.pull` returns.

    ``frame`` is the caller's array, updated in place in ``rects``; or, when
    the size changed (``resized``), a new whole array.
    """

    frame: Frame
    rects: tuple[Rect, ...]
    resized: bool


@dataclass(frozen=True, slots=True)
class ViewerStats:
    fps: float
    """Updates with changed pixels per second, over the last few seconds."""
    kbps: float
    """Kilobits per second received, over the same window."""
    frames: int
    bytes_received: int
    bytes_sent: int
    input_sent: int
    input_dropped: int
    connects: int


class _Meter:
    """Updates and bytes over a sliding window (loop thread writes, anyone reads)."""

    WINDOW_S = 3.0

    def __init__(self) -> None:
        self._samples: deque[tuple[float, int, int]] = deque()  # (t, frames, bytes)
        self._lock = threading.Lock()

    def add(self, frames: int, nbytes: int) -> None:
        now = time.monotonic()
        with self._lock:
            self._samples.append((now, frames, nbytes))
            self._trim(now)

    def _trim(self, now: float) -> None:
        while self._samples and now - self._samples[0][0] > self.WINDOW_S:
            self._samples.popleft()

    def rates(self) -> tuple[float, float]:
        now = time.monotonic()
        with self._lock:
            self._trim(now)
            if not self._samples:
                return 0.0, 0.0
            span = max(1.0, now - self._samples[0][0])
            frames = sum(s[1] for s in self._samples)
            nbytes = sum(s[2] for s in self._samples)
        return frames / span, nbytes * 8 / 1000 / span


class AssistViewer:
    """The agent's view of one session's screen (see the module docstring).

    ``token`` is the access token, or a function returning the current one
    (called on the viewer's thread before each connect: it may block).
    ``on_event`` receives :data:`ViewerEvent` objects and ``on_frame`` the
    "something changed" notice, both on the viewer's thread: hand them on
    (a queued signal), do not work in them.
    """

    def __init__(
        self,
        server_url: str,
        session_id: int,
        token: Token,
        *,
        on_event: Callable[[ViewerEvent], None] | None = None,
        on_frame: Callable[[], None] | None = None,
        quality: str = "medium",
        fps: int = DEFAULT_FPS,
        input_allowed: bool = False,
        connect: Connect | None = None,
        reconnect_delays: tuple[float, ...] = RECONNECT_DELAYS_S,
    ) -> None:
        if quality not in QUALITY_LEVELS:
            raise ValueError(f"quality must be one of {sorted(QUALITY_LEVELS)}")
        self.server_url = server_url
        self.session_id = int(session_id)
        self._token = token
        self._on_event = on_event
        self._on_frame = on_frame
        self._quality = quality
        self._fps = _clamp_fps(fps)
        self._input_allowed = input_allowed
        self._connect: Connect = connect or _default_connect
        self._delays = reconnect_delays or RECONNECT_DELAYS_S
        self.state = ViewerState.stopped
        self.stop_detail = ""
        self.screen: ScreenInfo | None = None

        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._main: asyncio.Task[None] | None = None
        self._stopping = False
        self._client: RfbClient | None = None
        self._wake: asyncio.Event | None = None
        self._request_due: asyncio.Event | None = None
        self._next_full = True

        # The published picture (loop thread writes, pull() reads; memcpy only).
        self._lock = threading.Lock()
        self._published: Frame | None = None
        self._dirty: list[Rect] = []
        self._size_changed = False

        self._meter = _Meter()
        self._frames = 0
        self._bytes_in = 0
        self._bytes_out = 0
        self._input_sent = 0
        self._input_dropped = 0
        self._connects = 0

    # ----------------------------------------------------------- life cycle

    def start(self) -> None:
        """Start the viewer's thread (returns at once)."""
        if self._thread is not None:
            raise RuntimeError("the viewer was started already")
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            self._main = loop.create_task(self._run())
            ready.set()
            try:
                loop.run_until_complete(self._main)
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name=f"assist-viewer-{self.session_id}")
        self._thread.daemon = True
        self._thread.start()
        ready.wait(5)

    def stop(self, timeout: float = 5.0) -> bool:
        """Close the stream and end the thread; True when it ended in time."""
        self._stopping = True
        loop, main = self._loop, self._main
        if loop is not None and main is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(main.cancel)
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout)
        return not thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ----------------------------------------------------------- settings

    @property
    def quality(self) -> str:
        return self._quality

    @property
    def fps(self) -> int:
        return self._fps

    @property
    def input_allowed(self) -> bool:
        return self._input_allowed

    def set_quality(self, quality: str) -> None:
        """``low``, ``medium`` or ``high``: re-sent as SetEncodings."""
        if quality not in QUALITY_LEVELS:
            raise ValueError(f"quality must be one of {sorted(QUALITY_LEVELS)}")
        self._quality = quality
        self._call(self._apply_encodings)

    def set_fps(self, fps: int) -> None:
        """The most updates a second the viewer asks for (1 to 60)."""
        self._fps = _clamp_fps(fps)

    def set_input_allowed(self, allowed: bool) -> None:
        """Send input (True: the customer granted control) or drop it."""
        self._input_allowed = bool(allowed)

    # ----------------------------------------------------------- input

    def send_key(self, keysym: int, down: bool) -> bool:
        """Queue a key event; False when it was dropped (view only, not live)."""
        if not self._input_allowed:
            self._input_dropped += 1
            return False
        return self._call(lambda: self._input(lambda c: c.send_key(keysym, down)))

    def send_pointer(self, x: int, y: int, buttons: int = 0) -> bool:
        if not self._input_allowed:
            self._input_dropped += 1
            return False
        return self._call(lambda: self._input(lambda c: c.send_pointer(x, y, buttons)))

    def type_text(self, text: str) -> bool:
        """Type text (any script) as Unicode keysyms, each pressed and released."""
        from client.core.rfb.keysyms import keysyms_for_text

        if not self._input_allowed:
            self._input_dropped += 1
            return False

        def press(client: RfbClient) -> None:
            for keysym in keysyms_for_text(text):
                client.send_key(keysym, True)
                client.send_key(keysym, False)

        return self._call(lambda: self._input(press))

    def send_cut_text(self, text: str) -> bool:
        """Clipboard text to the customer (the caller checks the session's
        clipboard flag). Not gated by control: it is a separate consent."""
        return self._call(lambda: self._input(lambda c: c.send_cut_text(text)))

    # ----------------------------------------------------------- picture

    def pull(self, into: Frame | None = None) -> Pulled | None:
        """The pixels that changed since the last pull, copied into ``into``
        (which must be the previous pull's array), or a new array after a
        resize (or on the first call). None when nothing changed."""
        with self._lock:
            published = self._published
            if published is None:
                return None
            h, w = published.shape[:2]
            resized = into is None or into.shape[:2] != (h, w) or self._size_changed
            if not self._dirty and not resized:
                return None
            if resized:
                frame = published.copy()
                rects: tuple[Rect, ...] = (Rect(0, 0, w, h),)
            else:
                assert into is not None
                frame = into
                for r in self._dirty:
                    frame[r.y : r.y + r.h, r.x : r.x + r.w] = published[
                        r.y : r.y + r.h, r.x : r.x + r.w
                    ]
                rects = tuple(self._dirty)
            self._dirty = []
            self._size_changed = False
        return Pulled(frame, rects, resized)

    def stats(self) -> ViewerStats:
        fps, kbps = self._meter.rates()
        return ViewerStats(
            fps=fps,
            kbps=kbps,
            frames=self._frames,
            bytes_received=self._bytes_in,
            bytes_sent=self._bytes_out,
            input_sent=self._input_sent,
            input_dropped=self._input_dropped,
            connects=self._connects,
        )

    # ----------------------------------------------------------- loop thread

    def _call(self, fn: Callable[[], None]) -> bool:
        loop = self._loop
        if loop is None or loop.is_closed() or self._stopping:
            return False
        try:
            loop.call_soon_threadsafe(fn)
        except RuntimeError:  # the loop closed meanwhile
            return False
        return True

    def _emit(self, event: ViewerEvent) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:
            log.exception("viewer event callback failed")

    def _set_state(self, state: ViewerState, detail: str = "") -> None:
        if state == self.state and not detail:
            return
        self.state = state
        if state == ViewerState.stopped:
            self.stop_detail = detail
        self._emit(StateChanged(state, detail))

    def _input(self, action: Callable[[RfbClient], None]) -> None:
        client = self._client
        if client is None or not client.connected:
            self._input_dropped += 1
            return
        action(client)
        self._input_sent += 1
        self._flush()

    def _flush(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _apply_encodings(self) -> None:
        client = self._client
        if client is None or not client.connected:
            return
        client.set_encodings(DEFAULT_ENCODINGS, quality=QUALITY_LEVELS[self._quality])
        self._flush()

    def _schedule_request(self) -> None:
        if self._request_due is not None:
            self._request_due.set()

    def _token_now(self) -> str:
        return self._token() if callable(self._token) else self._token

    async def _run(self) -> None:
        attempt = 0
        detail = ""
        self._set_state(ViewerState.connecting)
        try:
            while not self._stopping:
                outcome, detail = await self._session()
                if outcome == "final" or self._stopping:
                    break
                if outcome == "connected":
                    attempt = 0
                delay = self._delays[min(attempt, len(self._delays) - 1)]
                attempt += 1
                self._set_state(ViewerState.reconnecting, detail)
                log.info("assist %d: reconnecting in %.1f s (%s)", self.session_id, delay, detail)
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            detail = detail or "stopped"
        finally:
            self._client = None
            self._set_state(ViewerState.stopped, detail)

    async def _session(self) -> tuple[str, str]:
        """One connection: ("final" | "retry" | "connected", detail)."""
        try:
            token = await asyncio.to_thread(self._token_now)
            ws = await self._connect(self.server_url, self.session_id, token)
        except InvalidStatus as exc:
            status = exc.response.status_code
            return ("final" if status in FINAL_HTTP_STATUSES else "retry"), f"http {status}"
        except (OSError, TimeoutError, ConnectionClosed) as exc:
            return "retry", type(exc).__name__
        except Exception as exc:  # a token function that failed, a bad handshake
            log.warning("assist %d: cannot connect: %s", self.session_id, exc)
            return "retry", type(exc).__name__
        self._connects += 1
        client = RfbClient(quality=QUALITY_LEVELS[self._quality], auto_update=False)
        self._client = client
        self._next_full = True
        self._wake = asyncio.Event()
        self._request_due = asyncio.Event()
        writer = asyncio.create_task(self._writer(ws, client))
        pacer = asyncio.create_task(self._pacer(client))
        handshaken = False
        try:
            async for message in ws:
                if isinstance(message, str):
                    continue  # the stream is binary; text is not ours to parse
                self._bytes_in += len(message)
                client.receive_data(message)
                updated = self._handle(client.events_received())
                self._meter.add(updated, len(message))
                handshaken = handshaken or client.connected
                self._flush()
            code = ws.close_code
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else None
        except RfbProtocolError as exc:
            log.warning("assist %d: the stream broke RFB: %s", self.session_id, exc)
            with contextlib.suppress(Exception):
                await ws.close(1002, "protocol error")
            return "retry", "protocol"
        finally:
            writer.cancel()
            pacer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pacer
            self._client = None
            with contextlib.suppress(Exception):
                await ws.close()
        detail = str(code) if code is not None else "network"
        if code is not None and code in FINAL_CLOSE_CODES:
            return "final", detail
        return ("connected" if handshaken else "retry"), detail

    def _handle(self, events: list[Any]) -> int:
        """Apply the RFB client's events; the number of pixel updates."""
        updated = 0
        client = self._client
        for event in events:
            if isinstance(event, Connected):
                self.screen = ScreenInfo(event.width, event.height, event.name)
                self._publish_resize(client)
                self._set_state(ViewerState.live)
                self._emit(self.screen)
                # The client asked for a full update in its handshake.
                self._next_full = False
            elif isinstance(event, FramebufferUpdated):
                if event.rects:
                    updated += 1
                    self._frames += 1
                    self._publish(client, event.rects)
                self._schedule_request()
            elif isinstance(event, Resized):
                self.screen = ScreenInfo(
                    event.width, event.height, self.screen.name if self.screen else ""
                )
                self._publish_resize(client)
                self._next_full = True
                self._emit(self.screen)
            elif isinstance(event, CutText):
                self._emit(ClipboardText(event.text))
            elif isinstance(event, Bell):
                self._emit(RingBell())
            elif isinstance(event, CursorChanged):
                self._emit(CursorShape(event.image, event.hotspot_x, event.hotspot_y))
        return updated

    def _publish_resize(self, client: RfbClient | None) -> None:
        if client is None or client.framebuffer is None:
            return
        with self._lock:
            self._published = client.framebuffer.pixels.copy()
            self._dirty = []
            self._size_changed = True
        self._notify()

    def _publish(self, client: RfbClient | None, rects: tuple[Rect, ...]) -> None:
        if client is None or client.framebuffer is None:
            return
        pixels = client.framebuffer.pixels
        with self._lock:
            was_clean = not self._dirty and not self._size_changed
            published = self._published
            if published is None or published.shape != pixels.shape:
                self._published = pixels.copy()
                self._size_changed = True
                self._dirty = []
            else:
                for r in rects:
                    published[r.y : r.y + r.h, r.x : r.x + r.w] = pixels[
                        r.y : r.y + r.h, r.x : r.x + r.w
                    ]
                self._dirty.extend(rects)
                if len(self._dirty) > MAX_DIRTY_RECTS:
                    box = self._dirty[0]
                    for r in self._dirty[1:]:
                        box = box.union(r)
                    self._dirty = [box]
        if was_clean:
            self._notify()

    def _notify(self) -> None:
        if self._on_frame is None:
            return
        try:
            self._on_frame()
        except Exception:
            log.exception("viewer frame callback failed")

    async def _writer(self, ws: Any, client: RfbClient) -> None:
        wake = self._wake
        assert wake is not None
        while True:
            await wake.wait()
            wake.clear()
            data = client.data_to_send()
            if data:
                self._bytes_out += len(data)
                await ws.send(data)

    async def _pacer(self, client: RfbClient) -> None:
        """Ask for the next update after each one, no more than fps times a second."""
        due = self._request_due
        assert due is not None
        # Requests go out on a grid of 1/fps (not 1/fps after the moment the
        # last one went), so the small delays of each round trip do not add
        # up: at 30 fps the viewer really asks 30 times a second while the
        # updates keep up. A late update restarts the grid (no catch-up burst).
        slot = 0.0
        while True:
            await due.wait()
            due.clear()
            interval = 1.0 / self._fps
            now = time.monotonic()
            slot = max(slot + interval, now)
            if slot > now:
                await asyncio.sleep(slot - now)
            if not client.connected:
                continue
            client.request_update(incremental=not self._next_full)
            self._next_full = False
            self._flush()


def _clamp_fps(fps: int) -> int:
    return max(1, min(MAX_FPS, int(fps)))


async def _default_connect(server_url: str, session_id: int, token: str) -> Any:
    return await open_stream(server_url, session_id, token)


__all__ = [
    "QUALITY_LEVELS",
    "AssistViewer",
    "ClipboardText",
    "CursorShape",
    "Pulled",
    "RingBell",
    "ScreenInfo",
    "StateChanged",
    "ViewerEvent",
    "ViewerState",
    "ViewerStats",
]
