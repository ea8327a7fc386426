"""Both desktop apps as real processes on one X display (Xvfb), with a real
service: a customer asks in the portal, the bot suggests articles, the
customer asks for a person ("Talk to a person", by its shortcut); the chat
is routed to the agent signed in to the console, who answers there; the
answer reaches the portal.

The agent's credentials are typed into the console's sign-in dialog and
the answer into its reply box with xdotool (the user's hands); the
customer's questions reach the portal the way a host application sends
them, over its local socket, and Enter sends them.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from client.ui.instance import instance_name
from server import models
from tests.servers import LiveServer, start_live_server
from tests.ui_helpers import Xvfb, screenshot, send_host_line, stop_process, wait_until

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
AGENT = "e2e.agent@example.com"
ANSWER = "Hello from support: restart the export service, then try again."


@pytest.fixture
def display() -> Iterator[str]:
    if shutil.which("Xvfb") is None or shutil.which("xdotool") is None:
        pytest.skip("Xvfb and xdotool are needed")
    with Xvfb("1280x800x24") as xvfb:
        yield xvfb.display


@pytest.fixture
def service(tmp_path: Path) -> Iterator[LiveServer]:
    server = start_live_server(tmp_path / "service")
    yield server
    server.stop()


def xdotool(display: str, *args: str) -> str:
    out = subprocess.run(
        ["xdotool", *args],
        env={**os.environ, "DISPLAY": display},
        check=True,
        capture_output=True,
        text=True,
        timeout=20,
    )
    return out.stdout.strip()


def window_of(display: str, pid: int, name: str) -> str:
    def find() -> str | None:
        try:
            found = xdotool(display, "search", "--onlyvisible", "--pid", str(pid), "--name", name)
        except subprocess.CalledProcessError:
            return None
        return found.splitlines()[-1] if found else None

    return str(wait_until(find, 30, 0.2))


def type_into(display: str, window: str, *keys: tuple[str, str]) -> None:
    """Focus ``window`` and send ("type", text) or ("key", name) steps."""
    xdotool(display, "windowfocus", "--sync", window)
    time.sleep(0.2)
    for kind, value in keys:
        if kind == "type":
            xdotool(display, "type", "--delay", "15", value)
        else:
            xdotool(display, "key", value)


def log_text(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def messages(server: LiveServer) -> list[models.ChatMessage]:
    with server.db.session() as s:
        rows = s.scalars(select(models.ChatMessage).order_by(models.ChatMessage.id)).all()
        s.expunge_all()
        return list(rows)


def portal_texts(data: Path) -> list[str]:
    texts: list[str] = []
    for path in (data / "chat").glob("*.sqlite3"):
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
            for table in tables:
                columns = [r[1] for r in db.execute(f"pragma table_info({table})")]
                if "text" in columns:
                    texts += [str(r[0]) for r in db.execute(f"select text from {table}")]
    return texts


def start(args: list[str], env: dict[str, str], **kw: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=env,
        **kw,
    )


def stop(proc: subprocess.Popen[bytes]) -> bytes:
    stop_process(proc, 10)
    assert proc.stderr is not None
    err = proc.stderr.read()
    proc.stderr.close()
    return err


def test_customer_asks_in_portal_agent_answers_in_console(
    display: str, service: LiveServer, tmp_path: Path
) -> None:
    service.create_agent(AGENT, PASSWORD)
    base_env = {
        **os.environ,
        "DISPLAY": display,
        "QT_QPA_PLATFORM": "xcb",
        "PYTHONPATH": str(REPO),
        "PYTHON_KEYRING_BACKEND": "tests.keyring_memory.MemoryKeyring",
        "LANG": "en_US.UTF-8",
    }
    agent_data = tmp_path / "agent"
    portal_data = tmp_path / "portal"
    console = start(
        ["-m", "client.agent", "--server", service.url, "--lang", "en"],
        {**base_env, "HELPBRIDGE_DATA_DIR": str(agent_data)},
    )
    portal: subprocess.Popen[bytes] | None = None
    agent_log = agent_data / "logs" / "agent.log"
    portal_log = portal_data / "logs" / "portal.log"
    try:
        # The agent signs in: nothing is stored yet, so the dialog asks.
        dialog = window_of(display, console.pid, "Sign in to HelpBridge")
        type_into(
            display,
            dialog,
            ("type", AGENT),
            ("key", "Tab"),
            ("type", PASSWORD),
            ("key", "Return"),
        )
        wait_until(lambda: "agent signed in (agent)" in log_text(agent_log), 20)

        def agent_online() -> bool:
            import requests

            token = service.agent_token(AGENT)
            found = requests.get(
                f"{service.url}/api/v1/agent/presence",
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            ).json()
            return any(a["status"] == "online" for a in found["agents"])

        wait_until(agent_online, 20, 0.3)

        # The customer opens the portal from their application.
        portal = start(
            ["-m", "client", "--server", service.url, "--identity-stdin", "--lang", "en"],
            {**base_env, "HELPBRIDGE_DATA_DIR": str(portal_data)},
            stdin=subprocess.PIPE,
        )
        assert portal.stdin is not None
        portal.stdin.write(service.sign("e2e-cust", name="Li Wei", tier="vip").encode() + b"\n")
        portal.stdin.close()
        wait_until(lambda: "signed in as customer e2e-cust" in log_text(portal_log), 30)
        name = instance_name(service.url, str(portal_data))
        portal_window = window_of(display, portal.pid, "HelpBridge")

        def ask(question: str) -> None:
            line = json.dumps({"open": "chat", "query": question}).encode() + b"\n"
            assert send_host_line(name, line) == {"ok": True}
            time.sleep(0.5)
            type_into(display, portal_window, ("key", "Return"))

        # A question the knowledge base answers: the bot suggests articles.
        ask("How do I export reports to Excel?")
        bot = wait_until(lambda: [m for m in messages(service) if m.sender_kind == "bot"], 20)
        assert bot[0].articles, "the bot suggested no article"

        # Not what they needed: the customer asks for a person (the "Talk to
        # a person" button, by its keyboard shortcut), and the service routes
        # the chat to the agent, whose console brings it up.
        time.sleep(0.5)
        type_into(display, portal_window, ("key", "ctrl+shift+p"))
        wait_until(lambda: "is now this agent's" in log_text(agent_log), 20)
        time.sleep(0.5)
        agent_window = window_of(display, console.pid, "HelpBridge Agent")
        type_into(display, agent_window, ("type", ANSWER), ("key", "ctrl+Return"))

        sent = wait_until(
            lambda: [m for m in messages(service) if m.sender_kind == "agent" and m.text == ANSWER],
            20,
        )
        assert not sent[0].internal
        # The answer reached the portal (stored in its chat history).
        wait_until(lambda: ANSWER in portal_texts(portal_data), 20)
        time.sleep(0.5)
        screenshot(display, tmp_path / "agent-e2e.png")
        assert console.poll() is None and portal.poll() is None
    finally:
        errors = [stop(console)]
        if portal is not None:
            errors.append(stop(portal))
    for err in errors:
        assert b"Traceback" not in err, err.decode(errors="replace")[-3000:]
