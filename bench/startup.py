"""Portal start-up benchmark: time to first paint and idle memory.

Launches ``python -m client`` as a real process on an X display (its own
Xvfb when ``DISPLAY`` is not set), with a fresh data directory each run,
against a service (a ``python -m server --demo`` started here unless
``--server`` is given; then the portal also signs in with a demo identity
on stdin, as a host application would).

* ``cold_start_s``: process start → the main window's first paint event
  (the portal writes ``time.time()`` of that paint to the file named by
  ``HELPBRIDGE_STARTUP_MARK``);
* ``idle_rss_mb``: resident memory (``VmRSS``) after ``--idle`` seconds of
  idling, by which time the portal has connected, signed in and loaded the
  categories.

    python bench/startup.py --json

prints one JSON line ``{"cold_start_s": ..., "idle_rss_mb": ..., "runs": 5}``
(medians); without ``--json`` a readable summary of every run.

    python bench/startup.py --frozen dist/helpbridge --json

measures the PyInstaller bundle (scripts/build.sh) the same way and adds
``"bundle_mb"``, its size on disk.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.servers import ServerProcess  # noqa: E402
from tests.ui_helpers import Xvfb, wait_until  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def bundle_mb(folder: Path) -> float:
    """Size of a one-dir bundle on disk (file sizes, symlinks not followed)."""
    total = sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    return total / (1024 * 1024)


def one_run(
    server_url: str, display: str, idle_s: float, token: str | None, program: list[str]
) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="hb-startup-") as tmp:
        mark = Path(tmp) / "painted"
        env = {
            **os.environ,
            "DISPLAY": display,
            "QT_QPA_PLATFORM": "xcb",
            "HELPBRIDGE_DATA_DIR": str(Path(tmp) / "data"),
            "HELPBRIDGE_STARTUP_MARK": str(mark),
        }
        args = [*program, "--server", server_url]
        if token:
            args.append("--identity-stdin")
        started = time.time()
        proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=REPO,
            env=env,
        )
        try:
            assert proc.stdin is not None
            if token:
                proc.stdin.write(token.encode() + b"\n")
            proc.stdin.close()
            try:
                painted = float(wait_until(lambda: mark.exists() and mark.read_text().strip(), 60))
            except TimeoutError:
                proc.kill()
                err = proc.communicate()[1].decode(errors="replace")
                raise RuntimeError(f"the portal did not paint: {err[-1500:]}") from None
            time.sleep(idle_s)
            if proc.poll() is not None:
                raise RuntimeError("the portal exited while idling")
            memory = rss_mb(proc.pid)
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    return painted - started, memory


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", help="service URL (default: start a demo service)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle", type=float, default=3.0, help="seconds to idle before RSS")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument(
        "--frozen",
        metavar="DIR",
        type=Path,
        help="measure the PyInstaller bundle in DIR (e.g. dist/helpbridge) instead of the "
        "source tree; also reports the bundle's size",
    )
    args = parser.parse_args()
    program = [sys.executable, "-m", "client"]
    if args.frozen is not None:
        exe = args.frozen / "helpbridge"
        if not exe.is_file():
            parser.error(f"{exe} does not exist; build it with scripts/build.sh portal")
        program = [str(exe.resolve())]

    with ExitStack() as stack:
        display = os.environ.get("DISPLAY", "")
        if not display:
            display = stack.enter_context(Xvfb("1280x800x24")).display
        token = None
        server_url = args.server
        if not server_url:
            service_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hb-svc-")))
            service = ServerProcess(service_dir).start()
            stack.callback(service.stop)
            server_url = service.url
            token = service.sign("bench-001", name="Bench Customer", company="Bench Ltd")
        runs = [one_run(server_url, display, args.idle, token, program) for _ in range(args.runs)]

    cold = statistics.median(r[0] for r in runs)
    idle = statistics.median(r[1] for r in runs)
    if args.json:
        result: dict[str, object] = {
            "cold_start_s": round(cold, 3),
            "idle_rss_mb": round(idle, 1),
            "runs": len(runs),
        }
        if args.frozen is not None:
            result["frozen"] = True
            result["bundle_mb"] = round(bundle_mb(args.frozen), 1)
        print(json.dumps(result))
    else:
        for i, (c, m) in enumerate(runs, 1):
            print(f"run {i}: first paint {c:.3f} s, idle RSS {m:.1f} MB")
        print(f"median: first paint {cold:.3f} s, idle RSS {idle:.1f} MB ({len(runs)} runs)")
        if args.frozen is not None:
            print(f"bundle {args.frozen}: {bundle_mb(args.frozen):.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
