"""The real portal process on a real X display (Xvfb): sign in from stdin,
search in Chinese, and check the results were drawn.

The query is sent over the portal's local socket (as a host application
does): xdotool cannot type Chinese through an input method.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from client.ui.instance import instance_name
from tests.servers import LiveServer
from tests.ui_helpers import Xvfb, screenshot, send_host_line, stop_process, wait_until

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SHOWN = re.compile(r"search shown query='(?P<q>[^']*)' results=(?P<n>\d+) first='(?P<first>[^']*)'")


@pytest.fixture
def display() -> Iterator[str]:
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed")
    with Xvfb("1280x800x24") as xvfb:
        yield xvfb.display


def log_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def test_portal_signs_in_and_shows_chinese_results(
    display: str, live_server: LiveServer, tmp_path: Path
) -> None:
    data = tmp_path / "portal"
    env = {
        **os.environ,
        "DISPLAY": display,
        "QT_QPA_PLATFORM": "xcb",
        "HELPBRIDGE_DATA_DIR": str(data),
        "HELPBRIDGE_STARTUP_MARK": str(tmp_path / "painted"),
        "PYTHONPATH": str(REPO),
        "PYTHON_KEYRING_BACKEND": "tests.keyring_memory.MemoryKeyring",
    }
    token = live_server.sign("e2e-001", name="李伟", company="北方贸易有限公司", tier="vip")
    started = time.time()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "client",
            "--server",
            live_server.url,
            "--identity-stdin",
            "--lang",
            "zh_CN",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=env,
    )
    log = data / "logs" / "portal.log"
    try:
        assert proc.stdin is not None
        proc.stdin.write(token.encode() + b"\n")
        proc.stdin.close()
        # First paint of the real window on the X display.
        painted = float(
            wait_until(
                lambda: (tmp_path / "painted").exists() and (tmp_path / "painted").read_text(), 20
            )
        )
        assert painted - started < 10
        wait_until(lambda: any("signed in as customer e2e-001" in x for x in log_lines(log)), 15)

        name = instance_name(live_server.url, str(data))
        query = "发票"
        reply = send_host_line(
            name, json.dumps({"open": "search", "query": query}).encode() + b"\n"
        )
        assert reply == {"ok": True}

        def shown() -> re.Match[str] | None:
            for entry in reversed(log_lines(log)):
                match = SHOWN.search(entry)
                if match and match["q"] == query:
                    return match
            return None

        match = wait_until(shown, 15)
        results = int(match["n"])
        assert results > 0
        expected = requests.get(
            f"{live_server.url}/api/v1/kb/search",
            params={"q": query, "locale": "zh_CN"},
            timeout=10,
        ).json()
        assert results == expected["total"]
        assert match["first"] == expected["results"][0]["title"]
        assert query in match["first"]
        time.sleep(0.5)  # let the window system show the last frame
        shot = tmp_path / "portal-e2e.png"
        assert screenshot(display, shot) or shutil.which("import") is None
        assert proc.poll() is None, "the portal exited"
    finally:
        stop_process(proc, 10)
        assert proc.stderr is not None and proc.stdout is not None
        err = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    assert b"Traceback" not in err
