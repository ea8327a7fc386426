"""Helpers for portal tests and benchmarks: a private Xvfb display, waiting
for conditions, screenshots and a line client for the portal's local socket."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


class Xvfb:
    """``Xvfb -displayfd`` on a free display number; stop() when done."""

    def __init__(self, size: str = "1280x800x24") -> None:
        self.size = size
        self.proc: subprocess.Popen[bytes] | None = None
        self.display = ""

    def start(self, timeout: float = 10.0) -> Xvfb:
        if shutil.which("Xvfb") is None:
            raise RuntimeError("Xvfb is not installed (Debian package xvfb)")
        read_fd, write_fd = os.pipe()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", self.size, "-nolisten", "tcp"],
            pass_fds=(write_fd,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write_fd)
        deadline = time.monotonic() + timeout
        data = b""
        try:
            while b"\n" not in data:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("Xvfb did not start")
                chunk = os.read(read_fd, 64)
                if not chunk:
                    raise RuntimeError("Xvfb closed its display pipe")
                data += chunk
        finally:
            os.close(read_fd)
        self.display = ":" + data.decode().strip()
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            stop_process(self.proc, 5)

    def __enter__(self) -> Xvfb:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def stop_process(proc: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    """Ask a child process to end (SIGTERM), then kill it after ``timeout``."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def screenshot(display: str, path: Path) -> bool:
    """Grab the whole screen of ``display`` with ImageMagick's ``import``."""
    if shutil.which("import") is None:
        return False
    result = subprocess.run(
        ["import", "-display", display, "-window", "root", str(path)],
        capture_output=True,
        timeout=20,
        check=False,
    )
    return result.returncode == 0 and path.is_file()


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; raise on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def closed_port_url() -> str:
    """An http URL on loopback where (almost certainly) nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


def send_host_line(name: str, line: bytes, timeout: float = 5.0) -> dict[str, Any] | None:
    """Send raw bytes to the portal's local socket ``name`` (Unix: a socket
    file in the temp directory) and return the decoded reply line, or None
    when the connection was closed without a reply."""
    import tempfile

    path = name if name.startswith("/") else os.path.join(tempfile.gettempdir(), name)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(line)
        data = b""
        while b"\n" not in data:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                return None
            if not chunk:
                return None
            data += chunk
    reply: dict[str, Any] = json.loads(data.split(b"\n", 1)[0])
    return reply


# -- in-process portal for pytest-qt tests --------------------------------------


class PortalHarness:
    """A portal window wired to a real service, as the app builds it (minus
    the tray and the single-instance socket)."""

    def __init__(
        self,
        qtbot: Any,
        server_url: str,
        *,
        locale: str = "en",
        retry_initial_s: float = 2.0,
        retry_max_s: float = 60.0,
        show: bool = True,
    ) -> None:
        from client.ui.mainwindow import MainWindow
        from client.ui.portal import Portal
        from client.ui.settings import PortalSettings
        from client.ui.tasks import TaskRunner

        self.qtbot = qtbot
        # Filled in by tests that also run the single-instance socket.
        self.instance_name = ""
        self.data_dir: Path | None = None
        self.runner = TaskRunner()
        self.portal = Portal(
            self.runner,
            server_url,
            locale,
            retry_initial_s=retry_initial_s,
            retry_max_s=retry_max_s,
        )
        self.window = MainWindow(self.portal, PortalSettings())
        qtbot.addWidget(self.window)
        self.shown: list[tuple[str, int, str]] = []
        self.window.search_shown.connect(lambda q, n, first: self.shown.append((q, n, first)))
        self.online_changes: list[bool] = []
        self.portal.online_changed.connect(self.online_changes.append)
        if show:
            self.window.show()
            qtbot.waitExposed(self.window)

    def start(self, identity: str | None = None) -> None:
        self.portal.start(identity)
        self.window.load_categories()

    def wait_online(self, online: bool = True, timeout: int = 10000) -> None:
        self.qtbot.waitUntil(lambda: self.portal.online is online, timeout=timeout)

    def wait_shown(self, query: str, timeout: int = 10000) -> tuple[str, int, str]:
        self.qtbot.waitUntil(lambda: any(s[0] == query for s in self.shown), timeout=timeout)
        return [s for s in self.shown if s[0] == query][-1]

    def search(self, query: str, timeout: int = 10000) -> tuple[str, int, str]:
        self.shown.clear()
        self.window.search_box.setText(query)
        return self.wait_shown(query, timeout)

    def close(self) -> None:
        self.runner.shutdown(5000)
        self.window.close()
