"""The portal process takes its default service and language from branding.json,
and a bad file is reported without stopping it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.servers import LiveServer
from tests.ui_helpers import wait_until

REPO = Path(__file__).resolve().parents[2]


def start_portal(tmp_path: Path, branding: str, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    (tmp_path / "branding.json").write_text(branding, encoding="utf-8")
    data = tmp_path / "data"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HELPBRIDGE_DATA_DIR": str(data),
        "HELPBRIDGE_BRANDING": str(tmp_path / "branding.json"),
        "PYTHONPATH": str(REPO),
        "PYTHON_KEYRING_BACKEND": "tests.keyring_memory.MemoryKeyring",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "client", *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=REPO, env=env,
    )  # fmt: skip
    return proc, data / "logs" / "portal.log"


def stop(proc: subprocess.Popen[bytes]) -> bytes:
    proc.terminate()
    try:
        _out, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
    return err


def lines(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def test_branded_service_and_language_are_the_defaults(
    tmp_path: Path, live_server: LiveServer
) -> None:
    branding = {
        "product_name": "LedgerPro Help",
        "service_url": live_server.url,
        "language": "zh_CN",
    }
    proc, log = start_portal(tmp_path, json.dumps(branding))
    try:
        wait_until(lambda: any(f"service {live_server.url} is online" in x for x in lines(log)), 30)
        assert any("locale zh_CN" in x for x in lines(log))
        assert any("branding from" in x for x in lines(log))
    finally:
        err = stop(proc)
    assert b"Traceback" not in err


def test_command_line_wins_over_branding(tmp_path: Path, live_server: LiveServer) -> None:
    branding = {"service_url": "http://127.0.0.1:9", "language": "zh_CN"}
    proc, log = start_portal(
        tmp_path, json.dumps(branding), "--server", live_server.url, "--lang", "en"
    )
    try:
        wait_until(lambda: any(f"service {live_server.url} is online" in x for x in lines(log)), 30)
        assert any("locale en" in x for x in lines(log))
    finally:
        stop(proc)


def test_bad_branding_is_reported_and_the_portal_still_starts(
    tmp_path: Path, live_server: LiveServer
) -> None:
    proc, log = start_portal(
        tmp_path, '{"colors": {"accent": "blue"}}', "--server", live_server.url
    )
    try:
        wait_until(lambda: any("is online" in x for x in lines(log)), 30)
        assert proc.poll() is None
    finally:
        err = stop(proc).decode()
    assert "helpbridge: branding:" in err
    assert "colors.accent: Value error, must be a colour like #1d4ed8" in err
    assert "using the default look" in err
