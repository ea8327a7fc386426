"""The real portal on a real X display (Xvfb): a host opens the ticket form
over the local socket with its context, the customer types the subject
(xdotool) and submits with Ctrl+Enter; the portal is killed (SIGKILL) right
after the ticket is queued and started again: the service ends up with
exactly one ticket, with the host's context. Nothing lost, nothing doubled.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from client.core.api import ApiClient
from client.ui.instance import instance_name
from tests.servers import LiveServer
from tests.ui_helpers import Xvfb, screenshot, send_host_line, stop_process, wait_until

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
CONTEXT = {
    "product": "LedgerPro",
    "version": "6.3.1",
    "module": "Invoicing",
    "error_code": "LP-1043",
}
DESCRIPTION = "Since the 6.3.1 update every invoice print stops with LP-1043."
SHOTS = Path(os.environ.get("HELPBRIDGE_SHOTS", "")) if os.environ.get("HELPBRIDGE_SHOTS") else None
"""Set to a folder to keep the screenshots (the docs images come from there)."""


@pytest.fixture
def display() -> Iterator[str]:
    if shutil.which("Xvfb") is None or shutil.which("xdotool") is None:
        pytest.skip("Xvfb and xdotool are needed")
    with Xvfb("1280x800x24") as xvfb:
        yield xvfb.display


def log_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def xdotool(display: str, *args: str) -> str:
    done = subprocess.run(
        ["xdotool", *args],
        env={**os.environ, "DISPLAY": display},
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    return done.stdout


class Portal:
    """``python -m client`` on the display, signed in from stdin."""

    def __init__(self, display: str, server: LiveServer, data: Path, token: str) -> None:
        self.log = data / "logs" / "portal.log"
        self.mark = len(log_lines(self.log))
        env = {
            **os.environ,
            "DISPLAY": display,
            "QT_QPA_PLATFORM": "xcb",
            "HELPBRIDGE_DATA_DIR": str(data),
            "PYTHONPATH": str(REPO),
            "PYTHON_KEYRING_BACKEND": "tests.keyring_memory.MemoryKeyring",
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "client",
                "--server",
                server.url,
                "--identity-stdin",
                "--lang",
                "en",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=REPO,
            env=env,
        )
        assert self.proc.stdin is not None
        self.proc.stdin.write(token.encode() + b"\n")
        self.proc.stdin.close()

    def lines(self) -> list[str]:
        return log_lines(self.log)[self.mark :]

    def wait_log(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        regex = re.compile(pattern)

        def found() -> re.Match[str] | None:
            for line in self.lines():
                match = regex.search(line)
                if match:
                    return match
            if self.proc.poll() is not None:
                raise AssertionError(f"the portal exited: {self.stderr()[-2000:]}")
            return None

        match: re.Match[str] = wait_until(found, timeout, 0.01)
        return match

    def stderr(self) -> str:
        assert self.proc.stderr is not None
        return (
            self.proc.stderr.read().decode(errors="replace") if self.proc.poll() is not None else ""
        )

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        if self.proc.poll() is None:
            stop_process(self.proc, 10)
        return self.proc.returncode


def window_origin(display: str) -> tuple[int, int]:
    ids = xdotool(display, "search", "--onlyvisible", "--name", "^HelpBridge$").split()
    geometry = xdotool(display, "getwindowgeometry", ids[-1])
    match = re.search(r"Position: (\d+),(\d+)", geometry)
    assert match, geometry
    return int(match[1]), int(match[2])


def shot(display: str, tmp_path: Path, name: str) -> Path:
    path = (SHOTS or tmp_path) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    time.sleep(0.4)  # the last frame reaches the screen
    assert screenshot(display, path) or shutil.which("import") is None
    return path


def test_ticket_from_the_host_survives_a_kill_right_after_submit(
    display: str, live_server: LiveServer, tmp_path: Path
) -> None:
    data = tmp_path / "portal"
    sub = f"e2e-tk-{os.getpid()}"
    token = live_server.sign(sub, name="Li Wei", company="Northwind Trading", tier="vip")
    first = Portal(display, live_server, data, token)
    try:
        first.wait_log(rf"signed in as customer {sub}")
        first.wait_log(r"outbox open for the customer")
        name = instance_name(live_server.url, str(data))
        request = {"open": "ticket", "context": CONTEXT}
        reply = send_host_line(name, json.dumps(request).encode() + b"\n")
        assert reply == {"ok": True}
        first.wait_log(
            r"ticket form opened context=\['error_code', 'module', 'product', 'version'\]"
        )
        ids = xdotool(display, "search", "--onlyvisible", "--name", "^HelpBridge$").split()
        xdotool(display, "windowfocus", "--sync", ids[-1])
        time.sleep(0.3)
        # The subject was prefilled from the error code; the caret is at its end.
        xdotool(display, "type", "--delay", "15", " when printing invoices")
        xdotool(display, "key", "alt+d")  # the Description label's mnemonic
        xdotool(display, "type", "--delay", "10", DESCRIPTION)
        time.sleep(0.3)
        shot(display, tmp_path, "tickets-form.png")
        xdotool(display, "key", "ctrl+Return")
        first.wait_log(r"outbox: ticket #1 queued", timeout=15)
        first.kill()
    finally:
        if first.proc.poll() is None:
            first.kill()
    killed_while = (
        "delivered" if any("item #1 delivered" in x for x in first.lines()) else "pending"
    )

    second = Portal(display, live_server, data, token)
    try:
        second.wait_log(rf"signed in as customer {sub}")
        api = ApiClient(live_server.url)
        api.exchange_identity(live_server.sign(sub))
        mine = wait_until(lambda: api.tickets().total == 1 and api.tickets(), 20)
        if killed_while == "pending":
            # Usually so: the kill came before the outbox wrote "delivered";
            # the restarted portal finds the item and sends it once.
            second.wait_log(r"outbox: delivery started \(1 pending\)")
            second.wait_log(r"outbox: item #1 delivered", timeout=20)
        time.sleep(1.0)  # anything doubled would have arrived by now
        assert api.tickets().total == 1
        ticket = api.ticket(mine.tickets[0].id)
        assert ticket.subject == "Error LP-1043 when printing invoices"
        assert ticket.context == CONTEXT
        assert ticket.body == DESCRIPTION

        # Support answers; the customer opens the ticket from My tickets.
        from server import agents

        email = f"anna.zhang.{os.getpid()}@northwind.example"
        with live_server.db.session() as session:
            agents.create_agent(
                session, email=email, name="Anna Zhang", password="correct horse battery"
            )
        requests.post(
            f"{live_server.url}/api/v1/agent/tickets/{ticket.id}/comments",
            json={
                "client_key": f"agent-reply-{os.getpid()}",
                "body": "Thanks, Li Wei. LP-1043 means the invoice printer driver is out of date: "
                "please install driver 6.3.2 from Settings → Printers and try again.",
            },
            headers={"Authorization": f"Bearer {live_server.agent_token(email)}"},
            timeout=10,
        ).raise_for_status()
        x, y = window_origin(display)
        xdotool(display, "mousemove", str(x + 337), str(y + 44), "click", "1")  # Tickets
        second.wait_log(r"outbox open for the customer")
        time.sleep(1.0)
        xdotool(display, "mousemove", str(x + 170), str(y + 226), "click", "1")  # first row
        second.wait_log(rf"ticket shown id={ticket.id} ", timeout=15)
        shot(display, tmp_path, "tickets-view.png")
        assert second.proc.poll() is None, "the portal exited"
    finally:
        code = second.stop()
    assert code == 0, second.stderr()[-2000:]
