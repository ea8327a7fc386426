"""The real portal process on Xvfb, chatting with a real service process,
through crashes: nothing the customer writes is lost.

1. The customer asks (the text arrives the way a host application sends it,
   over the local socket; Enter is pressed with xdotool) and the bot answers.
2. The service stops. The customer writes another message and presses
   Enter: the portal keeps it. The portal is then KILLED (SIGKILL, no chance
   to clean up) and the service comes back.
3. The portal starts again: the message written while the service was down
   is delivered, exactly once, in order.
4. A half-typed message survives quitting (SIGTERM) and comes back as the
   draft at the next start.
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

from client.ui.instance import instance_name
from tests.e2e.test_agent_e2e import log_text, stop, type_into, window_of
from tests.servers import ServerProcess
from tests.ui_helpers import Xvfb, screenshot, send_host_line, wait_until

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SHOWN = re.compile(
    r"chat message shown conversation=(?P<cid>\d+) seq=(?P<seq>\d+|None) "
    r"sender=(?P<sender>\w+) state=(?P<state>\w+)"
)


@pytest.fixture
def display() -> Iterator[str]:
    if shutil.which("Xvfb") is None or shutil.which("xdotool") is None:
        pytest.skip("Xvfb and xdotool are needed")
    with Xvfb("1280x800x24") as xvfb:
        yield xvfb.display


def agent_token(proc: ServerProcess) -> str:
    creds = json.loads((proc.data_dir / "demo-credentials.json").read_text())
    r = requests.post(
        f"{proc.url}/api/v1/agent/login",
        json={"email": creds["agent_email"], "password": creds["agent_password"]},
        timeout=10,
    )
    r.raise_for_status()
    token: str = r.json()["access_token"]
    return token


def transcript(proc: ServerProcess, cid: int) -> list[tuple[int, str, str]]:
    r = requests.get(
        f"{proc.url}/api/v1/conversations/{cid}/messages",
        params={"limit": 200},
        headers={"Authorization": f"Bearer {agent_token(proc)}"},
        timeout=10,
    )
    r.raise_for_status()
    return [(m["seq"], m["sender"]["kind"], m["text"]) for m in r.json()["messages"]]


def shown(log: Path) -> list[re.Match[str]]:
    return [m for m in SHOWN.finditer(log_text(log))]


def test_messages_survive_a_killed_portal_and_a_stopped_service(
    display: str, server_process: ServerProcess, tmp_path: Path
) -> None:
    proc = server_process
    data = tmp_path / "portal"
    log = data / "logs" / "portal.log"
    env = {
        **os.environ,
        "DISPLAY": display,
        "QT_QPA_PLATFORM": "xcb",
        "HELPBRIDGE_DATA_DIR": str(data),
        "PYTHONPATH": str(REPO),
        "PYTHON_KEYRING_BACKEND": "tests.keyring_memory.MemoryKeyring",
    }
    identity = proc.sign("e2e-chat", name="Ann Lee")
    name = instance_name(proc.url, str(data))
    errors: list[bytes] = []

    def start_portal() -> tuple[subprocess.Popen[bytes], str]:
        portal = subprocess.Popen(
            [sys.executable, "-m", "client", "--server", proc.url, "--identity-stdin",
             "--lang", "en"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=REPO,
            env=env,
        )  # fmt: skip
        assert portal.stdin is not None
        # The memory keyring lives as long as the process: sign in each time.
        portal.stdin.write(identity.encode() + b"\n")
        portal.stdin.close()
        return portal, window_of(display, portal.pid, "HelpBridge")

    def ask(window: str, text: str, *, enter: bool = True) -> None:
        line = json.dumps({"open": "chat", "query": text}).encode() + b"\n"
        assert send_host_line(name, line) == {"ok": True}
        time.sleep(0.5)
        if enter:
            type_into(display, window, ("key", "Return"))

    portal, window = start_portal()
    try:
        wait_until(lambda: "chat: online" in log_text(log), 30)
        ask(window, "Backup restore fails with LP-1061")
        bot = wait_until(lambda: [m for m in shown(log) if m["sender"] == "bot"], 20)
        cid = int(bot[0]["cid"])
        assert [t for _, k, t in transcript(proc, cid) if k == "customer"] == [
            "Backup restore fails with LP-1061"
        ]

        # The service goes away; the customer writes on.
        port = proc.port
        assert port is not None
        proc.stop()
        wait_until(lambda: "chat: offline" in log_text(log), 20)
        ask(window, "Written while the service is down")
        wait_until(
            lambda: [
                m for m in shown(log) if m["sender"] == "customer" and m["state"] == "sending"
            ],
            10,
        )
        # The portal dies without a chance to clean up.
        portal.send_signal(signal.SIGKILL)
        portal.wait(10)
        errors.append(stop(portal))

        proc.start(port=port)
        portal, window = start_portal()
        wait_until(
            lambda: (
                [t for _, k, t in transcript(proc, cid) if k == "customer"]
                == ["Backup restore fails with LP-1061", "Written while the service is down"]
            ),
            30,
        )
        # Exactly once, in order, with every number accounted for.
        time.sleep(1.0)
        service_side = transcript(proc, cid)
        customer = [t for _, k, t in service_side if k == "customer"]
        assert customer == [
            "Backup restore fails with LP-1061",
            "Written while the service is down",
        ]
        assert [s for s, _, _ in service_side] == sorted({s for s, _, _ in service_side})

        # A half-typed message, then the customer quits.
        ask(window, "My licence key is refused when", enter=False)
        time.sleep(0.3)
        shot = tmp_path / "chat-e2e.png"
        assert screenshot(display, shot) or shutil.which("import") is None
        errors.append(stop(portal))
        portal, window = start_portal()
        wait_until(lambda: log_text(log).count("chat started for customer") >= 3, 30)
        # The customer opens the chat again: what they were writing is there.
        assert send_host_line(name, b'{"open": "chat"}\n') == {"ok": True}
        wait_until(lambda: "chat draft restored (30 characters)" in log_text(log), 30)
        assert portal.poll() is None
    finally:
        errors.append(stop(portal))
    for err in errors:
        assert b"Traceback" not in err, err.decode(errors="replace")[-3000:]
