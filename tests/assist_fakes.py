"""A stand-in for the service's relay with the customer's side behind it, for
the agent-side remote-assist tests.

:class:`RelayHost` is a real ``websockets`` server on loopback that answers
``/api/v1/assist/{id}/stream`` like the relay (bearer token, subprotocol
``binary``) and plays the customer's host on every connection: a fresh real
:class:`~client.core.rfb.RfbServer` serving a known frame. It records the
input the viewer sent, can change the picture, push clipboard text and close
the stream with any close code, all from the test's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from client.core.rfb import RfbServer
from protocol.assist import ASSIST_PREFIX, STREAM_SUBPROTOCOL

_PATH = re.compile(rf"^{re.escape(ASSIST_PREFIX)}/(\d+)/stream$")


def pattern(h: int = 240, w: int = 320) -> np.ndarray:
    """BGRA: gradients, an XOR texture, a red block at (40..80, 60..120) and
    a noise patch (so Tight's JPEG and palette paths both run)."""
    y, x = np.mgrid[0:h, 0:w]
    frame = np.empty((h, w, 4), dtype=np.uint8)
    frame[..., 0] = (x * 255 // max(1, w - 1)).astype(np.uint8)
    frame[..., 1] = (y * 255 // max(1, h - 1)).astype(np.uint8)
    frame[..., 2] = ((x ^ y) & 0xFF).astype(np.uint8)
    frame[..., 3] = 255
    frame[40:80, 60:120] = [0, 0, 255, 255]
    rng = np.random.default_rng(7)
    frame[150:200, 200:260, :3] = rng.integers(0, 256, (50, 60, 3), dtype=np.uint8)
    return frame


class RelayHost:
    """The relay and the customer's RFB server, in a thread of their own."""

    def __init__(self, frame: np.ndarray, *, session_id: int = 7, token: str = "agent-token"):
        self.frame = frame
        self.session_id = session_id
        self.token = token
        self.events: list[Any] = []
        self.connections = 0
        self.refuse_code: int | None = None
        """Close new streams at once with this code (after the handshake)."""
        self._lock = threading.Lock()
        self._changed: list[asyncio.Event] = []
        self._conns: set[ServerConnection] = set()
        self._servers: set[RfbServer] = set()
        self._closing: set[asyncio.Future[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- test side ---------------------------------------------------------------

    def start(self) -> RelayHost:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)

            async def main() -> None:
                self._server = await serve(
                    self._handle,
                    "127.0.0.1",
                    0,
                    subprotocols=[STREAM_SUBPROTOCOL],  # type: ignore[list-item]
                    process_request=self._check,
                    compression=None,
                    max_size=16 * 1024 * 1024,
                )
                self.port = self._server.sockets[0].getsockname()[1]
                ready.set()
                await self._server.serve_forever()

            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(main())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True, name="relay-host")
        self._thread.start()
        assert ready.wait(10), "the fake relay did not start"
        return self

    def stop(self) -> None:
        loop, server = self._loop, self._server
        if loop is not None and server is not None:
            loop.call_soon_threadsafe(server.close)
        if self._thread is not None:
            self._thread.join(10)

    def _in_loop(self, fn: Callable[[], None]) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(fn)

    def set_frame(self, frame: np.ndarray) -> None:
        """A new screen picture for every connected viewer."""

        def apply() -> None:
            self.frame = frame
            for rfb in self._servers:
                rfb.update_framebuffer(frame)
            for ev in self._changed:
                ev.set()

        self._in_loop(apply)

    def send_cut_text(self, text: str) -> None:
        def apply() -> None:
            for rfb in self._servers:
                rfb.send_cut_text(text)
            for ev in self._changed:
                ev.set()

        self._in_loop(apply)

    def close_streams(self, code: int, reason: str = "") -> None:
        def apply() -> None:
            for ws in list(self._conns):
                task = asyncio.ensure_future(ws.close(code, reason))
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)

        self._in_loop(apply)

    def received(self, kind: type) -> list[Any]:
        with self._lock:
            return [e for e in self.events if isinstance(e, kind)]

    # -- server side ---------------------------------------------------------------

    def _check(self, conn: ServerConnection, request: Request) -> Response | None:
        match = _PATH.match(request.path)
        if match is None or int(match.group(1)) != self.session_id:
            return Response(404, "Not Found", Headers(), b"not found")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        if ws.request is None or ws.request.headers.get("Authorization") != f"Bearer {self.token}":
            await ws.close(4401, "unauthorized")
            return
        self.connections += 1
        if self.refuse_code is not None:
            await ws.close(self.refuse_code, "refused")
            return
        h, w = self.frame.shape[:2]
        rfb = RfbServer(w, h, "Customer PC")
        rfb.update_framebuffer(self.frame)
        changed = asyncio.Event()
        self._changed.append(changed)
        self._servers.add(rfb)
        self._conns.add(ws)

        async def reader() -> None:
            async for message in ws:
                assert isinstance(message, bytes)
                rfb.receive_data(message)
                with self._lock:
                    self.events.extend(rfb.events_received())
                changed.set()

        task = asyncio.create_task(reader())
        try:
            while not task.done():
                out = rfb.data_to_send()
                if out:
                    await ws.send(out)
                waiter = asyncio.create_task(changed.wait())
                await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                changed.clear()
        except Exception:
            pass
        finally:
            task.cancel()
            self._changed.remove(changed)
            self._servers.discard(rfb)
            self._conns.discard(ws)
