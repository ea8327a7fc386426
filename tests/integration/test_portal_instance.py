"""The running portal's local socket: host requests navigate the window; a
second ``helpbridge`` launch forwards its request and exits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keyring
import pytest

from client.ui.instance import InstanceServer, instance_name
from client.ui.mainwindow import PAGE_ARTICLE, PAGE_RESULTS, SECTION_CHAT, SECTION_TICKETS
from tests.keyring_memory import MemoryKeyring
from tests.servers import LiveServer
from tests.ui_helpers import PortalHarness, send_host_line

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot


REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def running(
    qtbot: QtBot, live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    data = tmp_path / "portal"
    monkeypatch.setenv("HELPBRIDGE_DATA_DIR", str(data))
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    h = PortalHarness(qtbot, live_server.url)
    server = InstanceServer(h.window.handle_request)
    name = instance_name(live_server.url, str(data))
    assert server.listen(name)
    h.start()
    h.wait_online()
    h.instance_name = name
    h.data_dir = data
    yield h
    server.close()
    h.close()
    keyring.set_keyring(previous)


def ask(qtbot: QtBot, name: str, payload: bytes) -> dict[str, Any] | None:
    box: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: box.setdefault("reply", send_host_line(name, payload)))
    thread.start()
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=10000)
    return box.get("reply")


def line(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode() + b"\n"


def test_search_request_navigates(qtbot: QtBot, running: PortalHarness) -> None:
    reply = ask(qtbot, running.instance_name, line({"open": "search", "query": "printer"}))
    assert reply == {"ok": True}
    _q, total, _first = running.wait_shown("printer")
    assert total > 0
    assert running.window.search_box.text() == "printer"
    assert running.window.pages.currentIndex() == PAGE_RESULTS


def test_article_ticket_chat_and_home_requests(
    qtbot: QtBot, running: PortalHarness, live_server: LiveServer
) -> None:
    import requests

    hit = requests.get(
        f"{live_server.url}/api/v1/kb/search", params={"q": "backup", "locale": "en"}, timeout=10
    ).json()["results"][0]
    assert ask(qtbot, running.instance_name, line({"open": "article", "article": hit["id"]})) == {
        "ok": True
    }
    qtbot.waitUntil(lambda: running.window.article_title.text() == hit["title"], timeout=10000)
    assert running.window.pages.currentIndex() == PAGE_ARTICLE
    assert ask(
        qtbot, running.instance_name, line({"open": "ticket", "context": {"app_version": "6.3"}})
    ) == {"ok": True}
    qtbot.waitUntil(lambda: running.window.section_stack.currentIndex() == SECTION_TICKETS)
    assert ask(qtbot, running.instance_name, line({"open": "chat"})) == {"ok": True}
    qtbot.waitUntil(lambda: running.window.section_stack.currentIndex() == SECTION_CHAT)
    assert ask(qtbot, running.instance_name, line({"open": "home"})) == {"ok": True}
    assert running.window.pages.currentIndex() != PAGE_ARTICLE


def test_malformed_requests_get_errors_and_the_app_keeps_running(
    qtbot: QtBot, running: PortalHarness
) -> None:
    for payload in (
        b"{not json\n",
        b'{"open": "search", "query": 5}\n',
        b'{"open":"article"}\n',
        b'"x"\n',
    ):
        reply = ask(qtbot, running.instance_name, payload)
        assert reply is not None and reply["ok"] is False and reply["error"]
    assert ask(qtbot, running.instance_name, b"x" * (70 * 1024)) is None  # dropped, no newline
    assert ask(qtbot, running.instance_name, line({"open": "search", "query": "licence"})) == {
        "ok": True
    }
    _q, total, _f = running.wait_shown("licence")
    assert total > 0


def test_identity_over_the_socket_signs_in(
    qtbot: QtBot, running: PortalHarness, live_server: LiveServer
) -> None:
    token = live_server.sign("cust-sock", name="Sun Li", company="Blue Sky")
    assert ask(qtbot, running.instance_name, line({"open": "home", "identity": token})) == {
        "ok": True
    }
    qtbot.waitUntil(lambda: running.window.customer_name.text() == "Sun Li", timeout=10000)


def launch(
    running: PortalHarness, live_server: LiveServer, *args: str, stdin: str | None = None
) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "HELPBRIDGE_DATA_DIR": str(running.data_dir),
        "QT_QPA_PLATFORM": "offscreen",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "client", "--server", live_server.url, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )


def finish(qtbot: QtBot, proc: subprocess.Popen[str], stdin: str | None = None) -> tuple[int, str]:
    assert proc.stdin is not None and proc.stderr is not None
    if stdin is not None:
        proc.stdin.write(stdin)
    proc.stdin.close()
    # The portal in this process must keep serving while the launch waits.
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=30000)
    return proc.returncode, proc.stderr.read()


def test_second_launch_forwards_a_help_url_and_exits(
    qtbot: QtBot, running: PortalHarness, live_server: LiveServer
) -> None:
    proc = launch(running, live_server, "helpbridge://search?q=password")
    code, err = finish(qtbot, proc)
    assert code == 0, err
    _q, total, _f = running.wait_shown("password")
    assert total > 0


def test_second_launch_forwards_its_stdin_identity(
    qtbot: QtBot, running: PortalHarness, live_server: LiveServer
) -> None:
    token = live_server.sign("cust-second", name="Guo Mei", tier="vip")
    proc = launch(running, live_server, "--identity-stdin")
    code, err = finish(qtbot, proc, stdin=token + "\n")
    assert code == 0, err
    qtbot.waitUntil(lambda: running.window.customer_name.text() == "Guo Mei", timeout=10000)
    assert running.window.tier_badge.text() == "VIP"


def test_second_launch_refuses_a_bad_help_url(
    qtbot: QtBot, running: PortalHarness, live_server: LiveServer
) -> None:
    proc = launch(running, live_server, "helpbridge://article/0")
    code, err = finish(qtbot, proc)
    assert code == 2
    assert "article" in err
    assert running.shown == []


def test_second_launch_forwards_a_request_line_with_identity(
    qtbot: QtBot, running: PortalHarness, live_server: LiveServer
) -> None:
    token = live_server.sign("cust-request", name="Zhou Yu")
    proc = launch(running, live_server, "--request-stdin")
    request = {
        "open": "search",
        "query": "password",
        "context": {"module": "Login"},
        "identity": token,
    }
    code, err = finish(qtbot, proc, stdin=json.dumps(request) + "\n")
    assert code == 0, err
    _q, total, _f = running.wait_shown("password")
    assert total > 0
    qtbot.waitUntil(lambda: running.window.customer_name.text() == "Zhou Yu", timeout=10000)


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("not json\n", "not valid JSON"),
        ('{"open": "nowhere"}\n', "open"),
        ('{"open": "home", "identity": "abc"}\n', "token"),
        ("", "empty request"),
    ],
)
def test_request_stdin_refuses_bad_lines(
    qtbot: QtBot, running: PortalHarness, live_server: LiveServer, stdin: str, message: str
) -> None:
    proc = launch(running, live_server, "--request-stdin")
    code, err = finish(qtbot, proc, stdin=stdin)
    assert code == 2
    assert message.lower() in err.lower(), err
    assert "Traceback" not in err
