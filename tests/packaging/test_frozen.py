"""The frozen portal (PyInstaller one-dir bundle) on a real X display.

The bundle is built by scripts/build.sh; scripts/test.sh builds it once
before pytest and sets ``HELPBRIDGE_FROZEN_DIR``, so in CI a missing bundle is
a failure. Without that variable the tests use ``dist/helpbridge`` when it
exists and are skipped otherwise (a developer who has not built it).

Checks: ``--version``; then the frozen portal, branded through
``$HELPBRIDGE_BRANDING``, signs in against a real service with an identity
on stdin, opens a ``helpbridge://open?topic=`` link, its window appears under
the vendor's name (xdotool), and the service sees the sign-in and the search.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from client import __version__
from tests.servers import LiveServer
from tests.ui_helpers import Xvfb, screenshot, stop_process, wait_until

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SHOWN = re.compile(r"search shown query='(?P<q>[^']*)' results=(?P<n>\d+) first='(?P<first>[^']*)'")


def bundle_dir() -> Path:
    configured = os.environ.get("HELPBRIDGE_FROZEN_DIR", "").strip()
    folder = Path(configured) if configured else REPO / "dist" / "helpbridge"
    exe = folder / "helpbridge"
    if not exe.is_file():
        if configured:
            pytest.fail(f"HELPBRIDGE_FROZEN_DIR={configured} holds no helpbridge program")
        pytest.skip("no frozen bundle: run scripts/build.sh portal")
    return folder


@pytest.fixture
def frozen() -> Path:
    return bundle_dir() / "helpbridge"


@pytest.fixture
def display() -> Iterator[str]:
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed")
    with Xvfb("1280x800x24") as xvfb:
        yield xvfb.display


class Requests(logging.Handler):
    """The service's access log (one record per HTTP request)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str, int]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "request":
            self.seen.append(
                (
                    getattr(record, "method", ""),
                    getattr(record, "path", ""),
                    getattr(record, "status", 0),
                )
            )


@pytest.fixture
def access_log() -> Iterator[Requests]:
    handler = Requests()
    logger = logging.getLogger("helpbridge.server")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def test_frozen_version(frozen: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(frozen), "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"helpbridge {__version__}\n"


def test_frozen_bundle_carries_its_resources(frozen: Path) -> None:
    internal = frozen.parent / "_internal"
    assert sorted(p.name for p in (internal / "resources" / "translations").glob("*.qm")) == [
        "helpbridge_agent_zh_CN.qm",
        "helpbridge_zh_CN.qm",
    ]
    assert (internal / "resources" / "icons" / "helpbridge.svg").is_file()
    assert len(list((internal / "resources" / "kb").rglob("*.md"))) > 50
    # Left out: the service stack and Qt modules the portal never loads.
    assert not (internal / "uvicorn").exists()
    assert not list(internal.rglob("libQt6Quick*")) and not list(internal.rglob("libQt6Qml*"))
    assert not list(internal.rglob("libQt6WebEngine*"))


def test_every_library_in_the_bundle_loads(frozen: Path) -> None:
    """The dynamic loader accepts every shared library the bundle carries
    (stripping wheels' libraries, e.g. numpy's OpenBLAS, makes them
    unloadable, and the portal imports numpy only when it takes a screenshot)."""
    if shutil.which("ldd") is None:
        pytest.skip("ldd is not available")
    internal = frozen.parent / "_internal"
    env = {**os.environ, "LD_LIBRARY_PATH": f"{internal}:{internal / 'PySide6' / 'Qt' / 'lib'}"}
    libraries = [p for p in internal.rglob("*.so*") if p.is_file() and not p.is_symlink()]
    assert len(libraries) > 50
    broken = []
    for library in libraries:
        out = subprocess.run(
            ["ldd", str(library)], env=env, capture_output=True, text=True, timeout=30, check=False
        )
        text = out.stdout + out.stderr
        if "error while loading" in text or "not page-aligned" in text:
            broken.append(f"{library.relative_to(internal)}: {text.strip()[:200]}")
    assert broken == []


def test_frozen_portal_against_a_real_service(
    frozen: Path, display: str, live_server: LiveServer, access_log: Requests, tmp_path: Path
) -> None:
    product = "Frozen Test Help"
    (tmp_path / "branding.json").write_text(
        json.dumps({"product_name": product, "colors": {"accent": "#0f766e"}}), encoding="utf-8"
    )
    data = tmp_path / "portal"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "QT_"))},
        "DISPLAY": display,
        "QT_QPA_PLATFORM": "xcb",
        "HELPBRIDGE_DATA_DIR": str(data),
        "HELPBRIDGE_BRANDING": str(tmp_path / "branding.json"),
    }
    token = live_server.sign("frozen-001", name="Frozen Customer", company="Bundle Ltd")
    topic = "invoice"
    proc = subprocess.Popen(
        [str(frozen), "--server", live_server.url, "--identity-stdin", "--lang", "en",
         f"helpbridge://open?topic={topic}&module=Invoicing"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=env,
    )  # fmt: skip
    log = data / "logs" / "portal.log"

    def log_lines() -> list[str]:
        return log.read_text(encoding="utf-8").splitlines() if log.exists() else []

    try:
        assert proc.stdin is not None
        proc.stdin.write(token.encode() + b"\n")
        proc.stdin.close()

        # Its window, under the vendor's name, on the X display.
        def window() -> str:
            found = subprocess.run(
                ["xdotool", "search", "--onlyvisible", "--name", product],
                env=env, capture_output=True, text=True, timeout=20, check=False,
            )  # fmt: skip
            return found.stdout.strip()

        if shutil.which("xdotool") is not None:
            wait_until(window, 30)

        # The service saw the sign-in with the identity and the topic's search.
        wait_until(lambda: ("POST", "/api/v1/auth/identity", 200) in access_log.seen, 30)
        wait_until(lambda: ("GET", "/api/v1/kb/search", 200) in access_log.seen, 30)
        wait_until(lambda: any("signed in as customer frozen-001" in x for x in log_lines()), 30)

        def shown() -> re.Match[str] | None:
            for entry in reversed(log_lines()):
                match = SHOWN.search(entry)
                if match and match["q"] == topic:
                    return match
            return None

        match = wait_until(shown, 30)
        expected = requests.get(
            f"{live_server.url}/api/v1/kb/search", params={"q": topic, "locale": "en"}, timeout=10
        ).json()
        assert int(match["n"]) == expected["total"] > 0
        assert match["first"] == expected["results"][0]["title"]
        if os.environ.get("GNOME_KEYRING_CONTROL") and os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
            # The bundle carries keyring's Secret Service backend.
            assert not any("token store falls back to memory" in x for x in log_lines())
        time.sleep(0.3)  # let the window system show the last frame
        screenshot(display, tmp_path / "frozen-portal.png")
        assert proc.poll() is None, "the frozen portal exited"
    finally:
        stop_process(proc, 10)
        assert proc.stderr is not None and proc.stdout is not None
        err = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    assert b"Traceback" not in err
