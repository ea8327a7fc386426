"""``helpbridge demo --no-portal``: real service process, real signed token."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from client.core.api import ApiClient, OfflineError

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses SIGTERM")


class Demo:
    """``python -m client demo --no-portal`` with its output read line by line."""

    def __init__(self, data_dir: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "client", "demo", "--no-portal", "--data-dir", str(data_dir)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            match = re.search(pattern, line)
            if match:
                return match
        raise AssertionError(f"{pattern!r} not printed; output so far:\n" + "\n".join(self.seen))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(20)


@pytest.fixture
def demo_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "demo-server"


def test_no_portal_serves_and_signs(demo_dir: Path) -> None:
    demo = Demo(demo_dir)
    try:
        url = demo.wait_for(r"service on (http://127\.0\.0\.1:\d+)").group(1)
        demo.wait_for(r"identity token")
        token = demo.wait_for(r"^([\w-]+\.[\w-]+\.[\w-]+)$").group(1)
        demo.wait_for(r"--identity-stdin")
        client = ApiClient(url)
        session = client.exchange_identity(token)
        assert session.customer is not None
        me = client.me()
        assert (me.external_id, me.name, me.tier, me.product) == (
            "demo-customer-001",
            "Li Wei",
            "vip",
            "LedgerPro",
        )
        assert client.search("backup").total > 0  # the demo knowledge base is there
    finally:
        code = demo.stop()
    assert code == 130
    # The service went down with the launcher.
    with pytest.raises(OfflineError):
        ApiClient(url, timeout=2).health()
    assert "Traceback" not in "\n".join(demo.seen)

    # A second run reuses the port, so the portal keeps one keyring entry.
    again = Demo(demo_dir)
    try:
        assert again.wait_for(r"service on (http://127\.0\.0\.1:\d+)").group(1) == url
    finally:
        again.stop()


def test_unusable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = subprocess.run(
        [sys.executable, "-m", "client", "demo", "--no-portal", "--data-dir", str(blocker / "x")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "HelpBridge demo: cannot create" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
