"""The customer's end of a remote-assist stream: shares one screen over RFB.

:class:`AssistHost` is made only once the service has confirmed that the
customer allowed the session (status ``active``): nothing is captured and no
stream is opened before. It then:

* runs an asyncio event loop on a thread of its own, with the stream
  websocket (:func:`~client.core.assist.stream.open_stream`) and an
  :class:`~client.core.rfb.RfbServer` per connection;
* grabs frames on one capture thread (a :class:`ScreenSource` is used only
  by the thread that opened it), at most ``fps`` times a second and only
  while the viewer has an update request outstanding; the RFB server sends
  only what changed, so a still screen sends nothing;
* applies the agent's keys and pointer to an :class:`InputSink` **only while
  control is granted** (:meth:`set_control`); otherwise every input event is
  dropped and counted;
* passes clipboard text both ways only while the customer allows it
  (:meth:`set_clipboard`); the host only carries text, the UI owns the
  clipboard;
* pauses (:meth:`set_paused`: no capture, nothing sent) and stops
  (:meth:`stop`) at once: the flags are read by the capture thread before
  and after every grab, so a frame grabbed while the customer pressed Pause
  is thrown away;
* reconnects after a network drop or the relay's ``peer_gone`` (a fresh RFB
  handshake each time, with backoff) and stops for good when the service
  says the session is over or not theirs (4401 after one token refresh,
  4403, 4404, 4409, 4410, or the same HTTP statuses at the handshake).

Everything it has to say goes to ``on_event`` (called on the loop thread;
a Qt UI turns it into a queued signal). Methods are safe to call from any
thread; none of them blocks, except :meth:`stop` when asked to wait.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from client.core.assist.capture import Frame, ScreenSource
from client.core.assist.inject import InputSink
from client.core.assist.stream import open_stream
from client.core.rfb import (
    ClientInitialised,
    CutText,
    CutTextDropped,
    KeyEvent,
    PointerEvent,
    RfbProtocolError,
    RfbServer,
    UpdateRequested,
)
from protocol.assist import MAX_STREAM_MESSAGE, StreamClose

log = logging.getLogger(__name__)

HostState = Literal["connecting", "waiting", "sharing", "reconnecting", "stopped"]

#: Close codes (and handshake HTTP statuses) after which the host stops for good.
FINAL_CODES: dict[int, str] = {
    StreamClose.unauthorized: "unauthorized",
    StreamClose.forbidden: "forbidden",
    StreamClose.not_found: "not_found",
    StreamClose.not_active: "not_active",
    StreamClose.replaced: "replaced",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "not_active",
}


@dataclass(frozen=True, slots=True)
class HostStatus:
    """Where the host is. ``waiting``: connected, the agent's viewer is not
    there yet; ``sharing``: a viewer finished the RFB handshake. ``stopped``
    is the last event; ``detail`` says why (``local``: :meth:`AssistHost.stop`,
    a :data:`FINAL_CODES` name, or ``capture_failed``)."""

    state: HostState
    detail: str = ""
    code: int | None = None


@dataclass(frozen=True, slots=True)
class ClipboardFromAgent:
    """The agent copied text (only reported while the clipboard is allowed)."""

    text: str


HostEvent = HostStatus | ClipboardFromAgent


@dataclass(frozen=True)
class HostConfig:
    fps: float = 60.0
    """Most frames grabbed a second. The viewer's requests set the pace
    below that: the console asks for 30 a second unless the agent picks
    another rate (up to 60)."""
    name: str = "HelpBridge"
    """The desktop name the viewer is told."""
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 10.0
    open_timeout_s: float = 10.0
    chunk_bytes: int = MAX_STREAM_MESSAGE
    idle_after_s: float = 1.0
    idle_fps: float = 10.0
    """After ``idle_after_s`` of a still screen, grab only ``idle_fps`` times a
    second until something changes (a still screen then costs a third of the
    CPU; the first change after a pause waits at most 1/idle_fps longer)."""
    """RFB bytes may be cut anywhere: big updates go out in messages of this size."""


class AssistHost:
    """Shares a screen with one session's agent; see the module docstring.

    ``token`` returns the customer's current access token (called on the
    loop thread: it must not block); ``refresh_token`` (blocking, run on a
    worker) gets a new one after a 4401. ``source`` and ``sink`` are
    factories: the source is opened on the capture thread, the sink on the
    loop thread when the first input is applied.
    """

    def __init__(
        self,
        server_url: str,
        session_id: int,
        token: Callable[[], str | None],
        source: Callable[[], ScreenSource],
        sink: Callable[[], InputSink],
        on_event: Callable[[HostEvent], None],
        *,
        refresh_token: Callable[[], str] | None = None,
        control: bool = False,
        clipboard: bool = False,
        paused: bool = False,
        config: HostConfig | None = None,
    ) -> None:
        self.server_url = server_url
        self.session_id = int(session_id)
        self.config = config or HostConfig()
        if self.config.fps <= 0 or self.config.idle_fps <= 0:
            raise ValueError("fps must be positive")
        self._token = token
        self._refresh_token = refresh_token
        self._source_factory = source
        self._sink_factory = sink
        self._on_event = on_event
        # Flags written by any thread, read by the loop and capture threads.
        self._control = control
        self._clipboard = clipboard
        self._paused = paused
        self._stopping = False

        self.frames_sent = 0
        self.bytes_sent = 0
        self.input_applied = 0
        self.input_dropped = 0
        self.clipboard_dropped = 0
        self.connections = 0
        self.capture_fps = self.config.fps
        """The grab rate now: ``fps``, or ``idle_fps`` while the screen is still."""
        self.state: HostState = "connecting"

        self._loop = asyncio.new_event_loop()
        self._capture_pool = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix="helpbridge-assist-capture"
        )
        self._thread = threading.Thread(
            target=self._thread_main, name="helpbridge-assist-host", daemon=True
        )
        self._source: ScreenSource | None = None  # capture thread only
        self._sink: InputSink | None = None  # loop thread only
        self._server: RfbServer | None = None
        self._ws: ClientConnection | None = None
        self._send_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stop_event = asyncio.Event()
        self._want = False  # the viewer has asked for an update we have not sent
        self._viewer = False  # this connection's viewer finished the handshake
        self._detail = "local"  # why the host stops, when it stops by itself
        self._rng = random.Random()

    # ------------------------------------------------------------- public API

    @property
    def control(self) -> bool:
        return self._control

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def clipboard(self) -> bool:
        return self._clipboard

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def set_control(self, allowed: bool) -> None:
        """Grant or take back control. Taking it back drops input at once
        and lets go of every key and button the agent held."""
        self._control = bool(allowed)
        if not allowed:
            self._call(self._release_input)

    def set_paused(self, paused: bool) -> None:
        """Pause: nothing is captured or sent from now on; resume: go on."""
        self._paused = bool(paused)
        if paused:
            self._call(self._release_input)
        self._call(self._wake.set)

    def set_clipboard(self, allowed: bool) -> None:
        self._clipboard = bool(allowed)
        if not allowed:
            # The viewer may still ask for text offered earlier: forget it.
            self._call(lambda: self._loop.create_task(self._clear_clipboard()))

    def send_clipboard(self, text: str) -> None:
        """The customer copied ``text``: give it to the agent if allowed."""
        if not self._clipboard or not text:
            return
        self._call(lambda: self._loop.create_task(self._send_clipboard(text)))

    def stop(self, timeout: float | None = None) -> bool:
        """Stop sharing now: no more captures, input or bytes. With
        ``timeout``, wait that long for the thread to end (True: it did)."""
        self._stopping = True
        self._paused = True
        self._control = False
        self._call(self._stop_event.set)
        if timeout is None or not self._thread.is_alive():
            return not self._thread.is_alive()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    # ------------------------------------------------------------- internals

    def _call(self, fn: Callable[[], object]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nothing to do
            self._loop.call_soon_threadsafe(fn)

    def _emit(self, event: HostEvent) -> None:
        if isinstance(event, HostStatus):
            self.state = event.state
        try:
            self._on_event(event)
        except Exception:
            log.exception("assist host: event handler failed")

    def _thread_main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        finally:
            with contextlib.suppress(Exception):
                self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()
            self._capture_pool.shutdown(wait=True)

    async def _main(self) -> None:
        detail, code = "local", None
        try:
            detail, code = await self._connect_loop()
        except Exception:
            log.exception("assist host failed")
            detail = "failed"
        finally:
            self._stopping = True
            self._release_input()
            with contextlib.suppress(Exception):
                await self._loop.run_in_executor(self._capture_pool, self._close_source)
            self._emit(HostStatus("stopped", detail, code))
            log.info(
                "assist %d stopped (%s): %d frames, %d bytes, input %d applied %d dropped",
                self.session_id,
                detail,
                self.frames_sent,
                self.bytes_sent,
                self.input_applied,
                self.input_dropped,
            )

    async def _connect_loop(self) -> tuple[str, int | None]:
        attempt = 0
        refreshed_for: str | None = None
        while not self._stopping:
            self._emit(HostStatus("connecting" if self.connections == 0 else "reconnecting"))
            token = self._token() or ""
            code: int | None
            try:
                ws = await open_stream(
                    self.server_url,
                    self.session_id,
                    token,
                    open_timeout=self.config.open_timeout_s,
                )
            except InvalidStatus as exc:
                code = exc.response.status_code
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
                log.info("assist %d: stream not reachable: %s", self.session_id, exc)
                code = None
            else:
                self.connections += 1
                served, code = await self._serve(ws)
                if served:
                    attempt = 0
            if self._stopping:
                return self._detail, None
            if code in (401, StreamClose.unauthorized) and refreshed_for != token:
                refreshed_for = token
                if await self._refresh():
                    continue
            if code in FINAL_CODES:
                return FINAL_CODES[code], code
            attempt += 1
            await self._backoff(attempt)
        return self._detail, None

    async def _refresh(self) -> bool:
        if self._refresh_token is None:
            return False
        try:
            await self._loop.run_in_executor(None, self._refresh_token)
        except Exception as exc:
            log.warning("assist %d: token refresh failed: %s", self.session_id, exc)
            return False
        return True

    async def _backoff(self, attempt: int) -> None:
        cfg = self.config
        ceiling = min(cfg.reconnect_max_s, cfg.reconnect_min_s * 2.0 ** min(attempt, 20))
        delay = max(cfg.reconnect_min_s, self._rng.uniform(0.0, ceiling))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_event.wait(), delay)

    async def _serve(self, ws: ClientConnection) -> tuple[bool, int | None]:
        """One connection; returns (a viewer got through the handshake, close code)."""
        self._ws = ws
        self._viewer = False
        try:
            width, height = await self._loop.run_in_executor(self._capture_pool, self._open_source)
        except Exception:
            log.exception("assist %d: the screen cannot be captured", self.session_id)
            self._fail("capture_failed")
            await ws.close()
            return False, None
        server = RfbServer(width, height, self.config.name)
        # The first picture before the viewer can ask for it: the viewer's
        # first (full) update must show the screen, not an empty frame.
        first = await self._loop.run_in_executor(self._capture_pool, self._grab)
        if first is not None:
            server.update_framebuffer(first)
        self._server = server
        self._want = False
        self._emit(HostStatus("waiting"))
        tasks = [
            self._loop.create_task(self._read(ws, server)),
            self._loop.create_task(self._capture(ws, server)),
            self._loop.create_task(self._stop_event.wait()),
        ]
        try:
            await self._flush(ws, server)  # the RFB version
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                exc = task.exception()
                if exc is not None and not isinstance(exc, ConnectionClosed):
                    if task is tasks[1]:
                        log.error("assist %d: capture failed: %r", self.session_id, exc)
                        self._fail("capture_failed")
                    else:
                        log.warning("assist %d: stream task failed: %r", self.session_id, exc)
        except ConnectionClosed:
            pass
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._server = None
            self._ws = None
            self._release_input()
            with contextlib.suppress(Exception):
                await ws.close()
        code = ws.close_code
        log.info("assist %d: stream closed (%s)", self.session_id, code)
        return self._viewer, code

    async def _read(self, ws: ClientConnection, server: RfbServer) -> None:
        async for message in ws:
            if isinstance(message, str):
                continue
            try:
                server.receive_data(message)
            except RfbProtocolError as exc:
                log.warning("assist %d: the viewer broke RFB: %s", self.session_id, exc)
                await ws.close(1002, "RFB protocol error")
                return
            for event in server.events_received():
                self._handle(event)
            await self._flush(ws, server)

    def _handle(self, event: object) -> None:
        if isinstance(event, KeyEvent | PointerEvent):
            self._apply(event)
        elif isinstance(event, UpdateRequested):
            self._want = True
            self._wake.set()
        elif isinstance(event, CutText):
            if self._clipboard and not self._paused:
                self._emit(ClipboardFromAgent(event.text))
            else:
                self.clipboard_dropped += 1
        elif isinstance(event, CutTextDropped):
            self.clipboard_dropped += 1
        elif isinstance(event, ClientInitialised):
            self._viewer = True
            self._emit(HostStatus("sharing"))

    def _apply(self, event: KeyEvent | PointerEvent) -> None:
        if not self._control or self._paused or self._stopping:
            self.input_dropped += 1
            return
        try:
            if self._sink is None:
                self._sink = self._sink_factory()
            if isinstance(event, KeyEvent):
                self._sink.key(event.keysym, event.down)
            else:
                self._sink.pointer(event.x, event.y, event.buttons)
        except Exception:
            log.exception("assist %d: input could not be applied", self.session_id)
            self.input_dropped += 1
            return
        self.input_applied += 1

    def _fail(self, detail: str) -> None:
        self._detail = detail
        self._stopping = True
        self._paused = True

    def _release_input(self) -> None:
        if self._sink is not None:
            try:
                self._sink.release_all()
            except Exception:
                log.exception("assist: could not release input")

    async def _capture(self, ws: ClientConnection, server: RfbServer) -> None:
        cfg = self.config
        next_at = self._loop.time()
        still_since: float | None = None
        self.capture_fps = cfg.fps
        while True:
            while not self._want or self._paused:
                self._wake.clear()
                await self._wake.wait()
            delay = next_at - self._loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            next_at = max(next_at + 1.0 / self.capture_fps, self._loop.time())
            frame = await self._loop.run_in_executor(self._capture_pool, self._grab)
            if frame is None or self._paused:
                continue  # paused while grabbing: this frame never leaves
            server.update_framebuffer(frame)
            # An outstanding request and nothing to send: the screen is still.
            now = self._loop.time()
            if server.pending_update():
                still_since = None
                self.capture_fps = cfg.fps
            elif still_since is None:
                still_since = now
            elif now - still_since >= cfg.idle_after_s:
                self.capture_fps = min(cfg.fps, cfg.idle_fps)
            await self._flush(ws, server)

    async def _flush(self, ws: ClientConnection, server: RfbServer) -> None:
        async with self._send_lock:
            update = server.pending_update()
            if update and (self._paused or self._stopping):
                return  # nothing leaves while paused; it goes out on resume
            data = server.data_to_send()
            if update:
                self.frames_sent += 1
                self._want = False
            step = self.config.chunk_bytes
            for start in range(0, len(data), step):
                chunk = data[start : start + step]
                await ws.send(chunk)
                self.bytes_sent += len(chunk)

    async def _send_clipboard(self, text: str) -> None:
        server, ws = self._server, self._ws
        if server is None or ws is None or not server.initialised or not self._clipboard:
            return
        server.send_cut_text(text)
        with contextlib.suppress(ConnectionClosed):
            await self._flush(ws, server)

    async def _clear_clipboard(self) -> None:
        server, ws = self._server, self._ws
        if server is None or ws is None or not server.initialised:
            return
        server.clear_cut_text()
        with contextlib.suppress(ConnectionClosed):
            await self._flush(ws, server)

    # capture thread ---------------------------------------------------------

    def _open_source(self) -> tuple[int, int]:
        if self._source is None:
            self._source = self._source_factory()
        return self._source.size

    def _grab(self) -> Frame | None:
        if self._paused or self._stopping or self._source is None:
            return None
        return self._source.grab()

    def _close_source(self) -> None:
        source, self._source = self._source, None
        if source is not None:
            source.close()


__all__ = [
    "FINAL_CODES",
    "AssistHost",
    "ClipboardFromAgent",
    "HostConfig",
    "HostEvent",
    "HostState",
    "HostStatus",
]
