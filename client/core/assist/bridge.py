"""The local VNC bridge: a remote-assist session as a plain RFB TCP port.

:class:`VncBridge` listens on a TCP address (loopback by default). Each
VNC viewer that connects gets the session's stream, opened as the agent's
side (:func:`~client.core.assist.stream.open_stream`), and the bytes are
copied both ways unchanged: websockify in reverse. The viewer then speaks
RFB 3.8 directly with the customer's side, so any VNC viewer works.

One viewer at a time: while one is connected, a second TCP client is
closed at once (and logged). When the stream ends the TCP connection is
closed; when the service says the session is over (close codes 4401, 4403,
4404, 4409) the bridge stops listening.

View only versus control is the customer's choice, enforced on their side:
a VNC viewer's input reaches the customer's host, which applies it only
while control is granted.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidStatus

from client.core.assist.stream import open_stream
from protocol.assist import StreamClose

log = logging.getLogger(__name__)

Token = str | Callable[[], str]
Connect = Callable[[str, int, str], Awaitable[Any]]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5901
READ_CHUNK = 256 * 1024
FINAL_CODES = frozenset(
    {StreamClose.unauthorized, StreamClose.forbidden, StreamClose.not_found, StreamClose.not_active}
)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this computer only (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_listen(text: str) -> tuple[str, int]:
    """``host:port``, ``[v6]:port`` or ``:port`` → (host, port)."""
    text = text.strip()
    host, sep, port_text = text.rpartition(":")
    if not sep:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    host = host.strip("[]") or DEFAULT_HOST
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"not a port number: {port_text!r}") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"port out of range: {port}")
    return host, port


class VncBridge:
    """A TCP listener whose one viewer at a time is joined to the session's stream.

    Use :meth:`serve` inside an event loop (the command line), or
    :meth:`start` / :meth:`stop` to run it on a thread of its own (the
    console). ``token`` is the access token or a function returning the
    current one (called before each stream is opened; it may block).
    """

    def __init__(
        self,
        server_url: str,
        session_id: int,
        token: Token,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        connect: Connect | None = None,
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        self.server_url = server_url
        self.session_id = int(session_id)
        self.host = host
        self.port = port
        self._token = token
        self._connect: Connect = connect or _default_connect
        self._on_change = on_change
        self.address: tuple[str, int] | None = None
        """Where it listens, once listening (the real port when 0 was asked)."""
        self.viewers_served = 0
        self.viewers_refused = 0
        self.bytes_to_viewer = 0
        self.bytes_from_viewer = 0
        self.stop_reason = ""
        self._busy = False
        self._server: asyncio.Server | None = None
        self._done: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    @property
    def busy(self) -> bool:
        """Whether a viewer is connected now."""
        return self._busy

    # -- running -----------------------------------------------------------------

    async def serve(self) -> None:
        """Listen until :meth:`close` or until the session is over."""
        self._loop = asyncio.get_running_loop()
        self._done = asyncio.Event()
        self._server = await asyncio.start_server(self._client, self.host, self.port)
        sock = self._server.sockets[0].getsockname()
        self.address = (str(sock[0]), int(sock[1]))
        log.info(
            "VNC bridge for assist session %d listening on %s:%d", self.session_id, *self.address
        )
        self._started.set()
        self._changed("listening")
        try:
            await self._done.wait()
        finally:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._changed("stopped")

    def close(self) -> None:
        """Stop listening (thread-safe)."""
        loop, done = self._loop, self._done
        if loop is not None and done is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(done.set)

    def start(self, timeout: float = 10.0) -> tuple[str, int]:
        """Serve on a thread of its own; the address once listening. Raises
        ``OSError`` when the address cannot be used."""

        def run() -> None:
            try:
                asyncio.run(self.serve())
            except BaseException as exc:  # reported to start()'s caller
                self._error = exc
                self._started.set()

        self._thread = threading.Thread(
            target=run, name=f"vnc-bridge-{self.session_id}", daemon=True
        )
        self._thread.start()
        if not self._started.wait(timeout):
            raise TimeoutError("the VNC bridge did not start")
        if self._error is not None:
            raise self._error
        assert self.address is not None
        return self.address

    def stop(self, timeout: float = 5.0) -> bool:
        self.close()
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout)
        return not thread.is_alive()

    # -- connections ---------------------------------------------------------------

    def _changed(self, what: str) -> None:
        if self._on_change is not None:
            try:
                self._on_change(what)
            except Exception:
                log.exception("VNC bridge callback failed")

    def _token_now(self) -> str:
        return self._token() if callable(self._token) else self._token

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if self._busy:
            self.viewers_refused += 1
            log.warning("VNC bridge: refusing a second viewer from %s (one at a time)", peer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            return
        self._busy = True
        self._changed("viewer")
        try:
            await self._join(reader, writer, peer)
        finally:
            self._busy = False
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._changed("listening")

    async def _join(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Any
    ) -> None:
        try:
            token = await asyncio.to_thread(self._token_now)
            ws = await self._connect(self.server_url, self.session_id, token)
        except InvalidStatus as exc:
            status = exc.response.status_code
            log.warning("VNC bridge: the service refused the stream (HTTP %d)", status)
            if status in (401, 403, 404, 409):
                self._finish(f"http {status}")
            return
        except Exception as exc:
            log.warning("VNC bridge: cannot open the stream: %s", exc)
            return
        self.viewers_served += 1
        log.info("VNC bridge: viewer %s joined assist session %d", peer, self.session_id)

        async def upstream() -> None:
            while data := await reader.read(READ_CHUNK):
                self.bytes_from_viewer += len(data)
                await ws.send(data)

        async def downstream() -> None:
            async for message in ws:
                if isinstance(message, str):
                    continue
                self.bytes_to_viewer += len(message)
                writer.write(message)
                await writer.drain()

        up = asyncio.create_task(upstream())
        down = asyncio.create_task(downstream())
        try:
            await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (up, down):
                task.cancel()
            for task in (up, down):
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed, OSError):
                    await task
            with contextlib.suppress(Exception):
                await ws.close()
        code = ws.close_code
        log.info("VNC bridge: viewer %s left (stream close code %s)", peer, code)
        if code in FINAL_CODES:
            self._finish(str(code))

    def _finish(self, reason: str) -> None:
        self.stop_reason = reason
        log.info("VNC bridge for assist session %d stops: %s", self.session_id, reason)
        if self._done is not None:
            self._done.set()


async def _default_connect(server_url: str, session_id: int, token: str) -> Any:
    return await open_stream(server_url, session_id, token)


__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "VncBridge", "is_loopback", "parse_listen"]
