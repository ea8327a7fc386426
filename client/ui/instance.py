"""Single instance: one running portal per user, service and data directory.

The first portal listens on a :class:`~PySide6.QtNetwork.QLocalServer` whose
name is derived from the user name, the service URL and the data directory,
so two users on one machine (or one user's test and real profiles) never
collide. A second launch connects, sends its request as one JSON line
(protocol/host.py) and exits. The listener answers each line with one JSON
line: ``{"ok": true}`` or ``{"ok": false, "error": "<message>"}``.

Safety:

* the socket is created with ``UserAccessOption`` (owner-only on Unix);
* a line longer than ``MAX_LINE_BYTES`` drops the connection;
* a malformed line gets an error reply; nothing a peer sends can raise out of
  the handler.

A ``QLockFile`` next to the socket decides who is first when two launches
race, and lets the owner remove a stale socket left by a crashed portal.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QDir, QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

if TYPE_CHECKING:
    from protocol.host import HostRequest

log = logging.getLogger(__name__)

Handler = Callable[["HostRequest"], str | None]
"""Handles one request; returns an error message, or None on success."""

CONNECT_TIMEOUT_MS = 1500
REPLY_TIMEOUT_MS = 5000
MAX_CONNECTIONS = 16


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return str(os.getuid()) if hasattr(os, "getuid") else "user"


def instance_name(server_url: str, data_dir: str = "") -> str:
    """The local socket name for this user, service and data directory."""
    key = "\n".join(
        (_user(), server_url.rstrip("/").lower(), os.path.abspath(data_dir) if data_dir else "")
    )
    return "helpbridge-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def forward(
    name: str,
    payload: dict[str, Any],
    *,
    connect_timeout_ms: int = CONNECT_TIMEOUT_MS,
    reply_timeout_ms: int = REPLY_TIMEOUT_MS,
) -> dict[str, Any] | None:
    """Send ``payload`` to the portal listening on ``name``.

    Returns its reply, or None when no portal listens there. Blocking: only
    used by a second launch before it has any window.
    """
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(connect_timeout_ms):
        return None
    line = json.dumps(payload, ensure_ascii=False).encode("utf-8") + b"\n"
    socket.write(QByteArray(line))
    if not socket.waitForBytesWritten(reply_timeout_ms):
        return {"ok": False, "error": "the running HelpBridge did not accept the request"}
    buffer = b""
    while b"\n" not in buffer:
        if not socket.waitForReadyRead(reply_timeout_ms):
            break
        buffer += bytes(socket.readAll().data())
    socket.disconnectFromServer()
    reply_line = buffer.split(b"\n", 1)[0]
    try:
        reply = json.loads(reply_line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {"ok": False, "error": "the running HelpBridge did not answer"}
    return reply if isinstance(reply, dict) else {"ok": False, "error": "unexpected answer"}


class InstanceLock:
    """Decides which launch is first; held for the first portal's lifetime."""

    def __init__(self, name: str) -> None:
        self._lock = QLockFile(os.path.join(QDir.tempPath(), f"{name}.lock"))
        self._lock.setStaleLockTime(0)  # stale only when its owner process is gone

    def try_lock(self, timeout_ms: int = 0) -> bool:
        return bool(self._lock.tryLock(timeout_ms))

    def unlock(self) -> None:
        self._lock.unlock()


class InstanceServer(QObject):
    """Listens for host requests from later launches and host applications.

    Signals:
        request_handled(object, str): a request was parsed (HostRequest) and
            handled; the str is the error message, empty on success.
    """

    request_handled = Signal(object, str)

    def __init__(self, handler: Handler, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._handler = handler
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._on_new_connection)
        self._buffers: dict[QLocalSocket, bytearray] = {}

    @property
    def name(self) -> str:
        return self._server.serverName()

    def listen(self, name: str, *, remove_stale: bool = True) -> bool:
        """Start listening. With ``remove_stale`` (the caller holds the
        :class:`InstanceLock`) a leftover socket file is removed first."""
        if remove_stale:
            QLocalServer.removeServer(name)
        ok = self._server.listen(name)
        if not ok:
            log.warning("cannot listen on %s: %s", name, self._server.errorString())
        return bool(ok)

    def close(self) -> None:
        for socket in list(self._buffers):
            socket.abort()
        self._buffers.clear()
        self._server.close()

    def _on_new_connection(self) -> None:
        while self._server.hasPendingConnections():
            socket = self._server.nextPendingConnection()
            if socket is None:
                break
            if len(self._buffers) >= MAX_CONNECTIONS:
                socket.abort()
                socket.deleteLater()
                continue
            self._buffers[socket] = bytearray()
            socket.readyRead.connect(lambda s=socket: self._on_ready_read(s))
            socket.disconnected.connect(lambda s=socket: self._forget(s))

    def _forget(self, socket: QLocalSocket) -> None:
        self._buffers.pop(socket, None)
        # The socket may already be gone when the listener closes at exit.
        with contextlib.suppress(RuntimeError):
            socket.deleteLater()

    def _on_ready_read(self, socket: QLocalSocket) -> None:
        # Imported here, not at the top: pydantic is not needed to paint the window.
        from protocol.host import MAX_LINE_BYTES

        buffer = self._buffers.get(socket)
        if buffer is None:
            return
        buffer += bytes(socket.readAll().data())
        while True:
            newline = buffer.find(b"\n")
            if newline == -1:
                if len(buffer) > MAX_LINE_BYTES:
                    log.warning(
                        "dropped a host connection: line longer than %d bytes", MAX_LINE_BYTES
                    )
                    self._buffers.pop(socket, None)
                    socket.abort()
                    socket.deleteLater()
                return
            line = bytes(buffer[:newline])
            del buffer[: newline + 1]
            if len(line) > MAX_LINE_BYTES:
                self._buffers.pop(socket, None)
                socket.abort()
                socket.deleteLater()
                return
            reply = self._handle_line(line)
            socket.write(QByteArray(json.dumps(reply, ensure_ascii=False).encode("utf-8") + b"\n"))
            socket.flush()

    def _handle_line(self, line: bytes) -> dict[str, Any]:
        from protocol.host import HostRequestError, parse_host_line

        try:
            request = parse_host_line(line)
        except HostRequestError as exc:
            log.info("refused a host request: %s", exc)
            return {"ok": False, "error": str(exc)}
        try:
            error = self._handler(request)
        except Exception as exc:  # a handler bug must not kill the listener
            log.exception("host request handler failed")
            error = f"internal error: {type(exc).__name__}"
        with contextlib.suppress(RuntimeError):
            self.request_handled.emit(request, error or "")
        if error:
            return {"ok": False, "error": error}
        return {"ok": True}
