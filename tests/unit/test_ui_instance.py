"""The single-instance socket: one JSON line per request, one reply per line."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from client.ui import instance
from client.ui.instance import InstanceLock, InstanceServer, forward, instance_name
from protocol.host import MAX_LINE_BYTES, HostRequest
from tests.ui_helpers import send_host_line

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication
    from pytestqt.qtbot import QtBot


REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def name() -> str:
    return f"helpbridge-test-{os.getpid()}-{secrets.token_hex(4)}"


@dataclass
class Listener:
    server: InstanceServer
    handled: list[HostRequest]


@pytest.fixture
def listener(qapp: QApplication, name: str) -> Iterator[Listener]:
    handled: list[HostRequest] = []

    def handler(request: HostRequest) -> str | None:
        if request.open == "article" and request.article == 999:
            return "no such article"
        if request.open == "article" and request.article == 666:
            raise RuntimeError("bug")
        handled.append(request)
        return None

    server = InstanceServer(handler)
    assert server.listen(name)
    yield Listener(server, handled)
    server.close()
    server.deleteLater()


def ask(qtbot: QtBot, name: str, line: bytes) -> dict[str, Any] | None:
    """Send from another thread (the listener needs this thread's event loop)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["reply"] = send_host_line(name, line)
        except Exception as exc:  # reported below
            box["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=8000)
    if "error" in box:
        raise box["error"]
    reply: dict[str, Any] | None = box["reply"]
    return reply


def test_valid_request_is_handled(qtbot: QtBot, listener: Listener, name: str) -> None:
    reply = ask(qtbot, name, b'{"open": "search", "query": "\xe5\x8f\x91\xe7\xa5\xa8"}\n')
    assert reply == {"ok": True}
    assert [(r.open, r.query) for r in listener.handled] == [("search", "发票")]


def test_malformed_lines_get_an_error_and_the_listener_keeps_working(
    qtbot: QtBot, listener: Listener, name: str
) -> None:
    for line in (b"not json\n", b"[1,2]\n", b'{"open": "nowhere"}\n', b"\xff\xfe\n", b"\n"):
        reply = ask(qtbot, name, line)
        assert reply is not None and reply["ok"] is False and reply["error"], line
    assert ask(qtbot, name, b'{"open": "home"}\n') == {"ok": True}


def test_handler_errors_become_replies(qtbot: QtBot, listener: Listener, name: str) -> None:
    assert ask(qtbot, name, b'{"open": "article", "article": 999}\n') == {
        "ok": False,
        "error": "no such article",
    }
    reply = ask(qtbot, name, b'{"open": "article", "article": 666}\n')
    assert reply is not None and reply["ok"] is False and "internal error" in reply["error"]
    assert ask(qtbot, name, b'{"open": "chat"}\n') == {"ok": True}


def test_several_lines_on_one_connection(qtbot: QtBot, listener: Listener, name: str) -> None:
    box: dict[str, bytes] = {}

    def run() -> None:
        import socket
        import tempfile

        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(os.path.join(tempfile.gettempdir(), name))
            sock.sendall(b'{"open": "home"}\n{"open": "ticket"}\nbad\n')
            data = b""
            while data.count(b"\n") < 3:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            box["data"] = data

    thread = threading.Thread(target=run)
    thread.start()
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=8000)
    replies = [json.loads(x) for x in box["data"].splitlines()]
    assert [r["ok"] for r in replies] == [True, True, False]


def test_overlong_line_drops_the_connection(qtbot: QtBot, listener: Listener, name: str) -> None:
    line = b'{"open": "search", "query": "' + b"a" * (MAX_LINE_BYTES + 10) + b'"}\n'
    assert ask(qtbot, name, line) is None
    assert ask(qtbot, name, b'{"open": "home"}\n') == {"ok": True}


def test_forward_talks_to_the_listener(qtbot: QtBot, listener: Listener, name: str) -> None:
    # forward() runs in a second launch before it has an event loop; run it in
    # a real separate process (in a thread of this one, PySide's blocking
    # socket calls would hold the GIL the listener's slots need).
    code = (
        "import json, sys; from client.ui.instance import forward; "
        f"print(json.dumps(forward({name!r}, {{'open': 'article', 'article': 7}})))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, cwd=REPO, text=True
    )
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=20000)
    assert proc.stdout is not None
    assert json.loads(proc.stdout.read()) == {"ok": True}
    assert listener.handled[-1].article == 7


def test_forward_without_listener(name: str) -> None:
    assert forward(name, {"open": "home"}, connect_timeout_ms=200) is None


def test_names_differ_by_user_service_and_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    a = instance_name("http://127.0.0.1:8765", "/tmp/a")
    assert a == instance_name("http://127.0.0.1:8765/", "/tmp/a")
    assert a != instance_name("http://127.0.0.1:8766", "/tmp/a")
    assert a != instance_name("http://127.0.0.1:8765", "/tmp/b")
    monkeypatch.setattr(instance, "_user", lambda: "someone-else")
    assert a != instance_name("http://127.0.0.1:8765", "/tmp/a")
    assert a.startswith("helpbridge-") and len(a) < 64


def test_lock_is_exclusive(name: str, qapp: QApplication) -> None:
    first, second = InstanceLock(name), InstanceLock(name)
    assert first.try_lock()
    assert not second.try_lock()
    first.unlock()
    assert second.try_lock()
    second.unlock()


def test_stale_socket_is_replaced(qapp: QApplication, name: str) -> None:
    # A crashed portal leaves its socket file behind; the lock holder removes it.
    first = InstanceServer(lambda r: None)
    assert first.listen(name)
    first.deleteLater()
    second = InstanceServer(lambda r: None)
    try:
        assert second.listen(name, remove_stale=True)
    finally:
        second.close()
        first.close()
