"""Remote-assist benchmark: a real screen through the real relay, end to end.

    python bench/assist.py [--json] [--seconds 10] [--workloads idle,typing,scrolling,video]
                           [--quality medium] [--fps 30] [--screen-hz 60]

Starts Xvfb at 1920 x 1080, ``helpbridge-server`` as its own process on
loopback (fresh SQLite data directory), and a remote-assist session made the
way customers make them (the customer's one-time code, redeemed by the
agent, then the customer's consent). Then:

* the **customer** process runs the portal's :class:`AssistHost` with its
  own settings and the real mss capture of the Xvfb screen (view only);
* this process is the **agent**: the console's :class:`AssistViewer`
  (RFB client, Tight + CopyRect at the chosen quality, as the console
  offers) asking for ``--fps`` frames a second (the console's frame-rate
  choice: 30 by default, 60 at most), through the relay;
* for each workload, ``bench/assist_workload.py`` redraws the screen
  ``--screen-hz`` times a second (``idle``: never; ``typing``: one more
  character each time; ``scrolling``; ``video``) with a frame counter in
  the corner.

Per workload, after a 2 s warm-up, for ``--seconds``:

* ``fps``: distinct workload frames that reached the agent per second;
* ``latency_p50_ms`` / ``latency_p95_ms``: from the customer's capture of a
  frame (the host's grab that first saw its counter) to the agent having it
  decoded (the viewer's picture first showing that counter); one clock
  (``time.monotonic``) for every process on the machine;
* ``kbps``: bytes the agent received, in kilobits per second;
* ``host_cpu_pct``: CPU of the customer's process (100 = one core);
* ``screen_fps``: frames the workload itself managed to paint a second
  (the most the agent could see).

Prints one JSON line per workload with ``--json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from assist_workload import read_marker  # noqa: E402

WIDTH, HEIGHT = 1920, 1080
WORKLOADS = ("idle", "typing", "scrolling", "video")


# --- setup ----------------------------------------------------------------------------


def prepare(data_dir: Path) -> tuple[str, str]:
    """An agent and a customer with access tokens, written straight to the
    database before the service starts (setup, not measured)."""
    from protocol.models import Role
    from server import agents as agent_accounts
    from server import models
    from server.db import Database, sqlite_url
    from server.identity import issue_session

    db = Database(sqlite_url(data_dir))
    db.upgrade()
    ttl = timedelta(hours=2)
    with db.session() as s:
        agent = agent_accounts.create_agent(
            s,
            email="agent@bench.invalid",
            name="Bench Agent",
            password=secrets.token_urlsafe(12),
            role=Role.agent,
        )
        agent_token = issue_session(
            s, "agent", agent.id, access_ttl=ttl, refresh_ttl=ttl
        ).access_token
        customer = models.Customer(external_id="bench-customer", name="Bench Customer")
        s.add(customer)
        s.flush()
        customer_token = issue_session(
            s, "customer", customer.id, access_ttl=ttl, refresh_ttl=ttl
        ).access_token
    db.dispose()
    return agent_token, customer_token


def start_service(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port_file = data_dir / "port"
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "server", "--port", "0", "--data-dir", str(data_dir)),
            *("--port-file", str(port_file), "--log-level", "warning"),
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if port_file.exists():
            url = f"http://127.0.0.1:{port_file.read_text()}"
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{url}/healthz", timeout=1).ok:
                    return proc, url
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("the service did not start")


def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    if shutil.which("Xvfb") is None:
        raise SystemExit("Xvfb is needed (apt install xvfb)")
    for n in range(120, 200):
        if Path(f"/tmp/.X11-unix/X{n}").exists() or Path(f"/tmp/.X{n}-lock").exists():
            continue
        proc = subprocess.Popen(
            ["Xvfb", f":{n}", "-screen", "0", f"{WIDTH}x{HEIGHT}x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if Path(f"/tmp/.X11-unix/X{n}").exists():
                return proc, f":{n}"
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        proc.kill()
    raise SystemExit("Xvfb did not start")


def open_session(url: str, agent_token: str, customer_token: str) -> int:
    """The code flow: the customer's code, redeemed by the agent, then Allow."""
    customer = {"Authorization": f"Bearer {customer_token}"}
    agent = {"Authorization": f"Bearer {agent_token}"}
    r = requests.post(f"{url}/api/v1/assist/codes", headers=customer, timeout=10)
    r.raise_for_status()
    code = r.json()["code"]
    r = requests.post(f"{url}/api/v1/assist/redeem", json={"code": code}, headers=agent, timeout=10)
    r.raise_for_status()
    session_id = int(r.json()["id"])
    r = requests.post(
        f"{url}/api/v1/assist/{session_id}/consent",
        json={"allow": True},
        headers=customer,
        timeout=10,
    )
    r.raise_for_status()
    return session_id


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- the customer's process ----------------------------------------------------------------


def host_child(url: str, session_id: int) -> int:
    """Runs the portal's AssistHost (view only) with a capture that notes
    when each workload frame counter was first grabbed. Reads the access
    token from stdin; prints ``counter time`` lines, one per new counter."""
    from client.core.assist.capture import MssSource
    from client.core.assist.host import AssistHost, HostConfig

    logging.basicConfig(level=logging.INFO, format="customer: %(levelname)s %(message)s")
    token = sys.stdin.readline().strip()
    out_lock = threading.Lock()

    class MarkingSource:
        def __init__(self) -> None:
            self.inner = MssSource(1)
            self.last: int | None = None

        @property
        def size(self) -> tuple[int, int]:
            return self.inner.size

        def grab(self) -> Any:
            frame = self.inner.grab()
            now = time.monotonic()
            mark = read_marker(frame)
            if mark is not None and mark != self.last:
                self.last = mark
                with out_lock:
                    sys.stdout.write(f"{mark} {now:.6f}\n")
                    sys.stdout.flush()
            return frame

        def close(self) -> None:
            self.inner.close()

    class NoInput:
        def key(self, keysym: int, down: bool) -> None:
            pass

        def pointer(self, x: int, y: int, buttons: int) -> None:
            pass

        def release_all(self) -> None:
            pass

    stopped = threading.Event()
    host = AssistHost(
        url,
        session_id,
        lambda: token,
        MarkingSource,
        NoInput,
        lambda event: None,
        config=HostConfig(),  # the portal's own settings
    )
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    host.start()
    stopped.wait()
    host.stop(timeout=5)
    return 0


# --- the agent's side ----------------------------------------------------------------------


class AgentSide:
    """The console's viewer, noting when each workload frame counter first
    shows in the decoded picture. The picture is pulled on the viewer's own
    thread right after each update is decoded (the console's window pulls
    it on the UI thread instead), so no update goes uncounted."""

    def __init__(self, url: str, session_id: int, token: str, quality: str, fps: int) -> None:
        from client.core.assist.viewer import AssistViewer

        self.viewer = AssistViewer(
            url, session_id, token, on_frame=self._on_frame, quality=quality, fps=fps
        )
        self.frame: np.ndarray | None = None
        self.seen: dict[int, float] = {}
        self.last: int | None = None

    def start(self) -> None:
        self.viewer.start()

    def _on_frame(self) -> None:
        pulled = self.viewer.pull(self.frame)
        if pulled is None:
            return
        self.frame = pulled.frame
        now = time.monotonic()
        mark = read_marker(self.frame)
        if mark is not None and mark != self.last:
            self.last = mark
            self.seen.setdefault(mark, now)

    def stop(self) -> None:
        self.viewer.stop()


def read_host_marks(stream: Any, into: dict[int, float], lock: threading.Lock) -> None:
    for line in stream:
        mark, _, t = line.partition(" ")
        with contextlib.suppress(ValueError), lock:
            into.setdefault(int(mark), float(t))


def read_drawn(stream: Any, into: list[tuple[float, int]]) -> None:
    """The workload's ``drawn N T`` lines: frames it painted by time T."""
    for line in stream:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "drawn":
            with contextlib.suppress(ValueError):
                into.append((float(parts[2]), int(parts[1])))


# --- one workload ----------------------------------------------------------------------------


def run_workload(
    name: str,
    display: str,
    agent: AgentSide,
    host_pid: int,
    host_marks: dict[int, float],
    lock: threading.Lock,
    seconds: float,
    fps: float,
) -> dict[str, Any]:
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    env.pop("WAYLAND_DISPLAY", None)
    work = subprocess.Popen(
        [sys.executable, str(REPO / "bench" / "assist_workload.py"), name, "--fps", str(fps)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert work.stdout is not None
        if work.stdout.readline().strip() != "ready":
            raise SystemExit(f"workload {name} did not start")
        drawn: list[tuple[float, int]] = []
        threading.Thread(target=read_drawn, args=(work.stdout, drawn), daemon=True).start()
        time.sleep(2.0)  # warm-up: the window's first full picture goes out
        with lock:
            host_marks.clear()
        agent.seen.clear()
        stats0 = agent.viewer.stats()
        cpu0 = cpu_seconds(host_pid)
        t0 = time.monotonic()
        time.sleep(seconds)
        t1 = time.monotonic()
        cpu1 = cpu_seconds(host_pid)
        stats1 = agent.viewer.stats()
        time.sleep(0.5)  # let frames in flight arrive for the latency pairs
    finally:
        work.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            work.wait(5)
        if work.poll() is None:
            work.kill()
    elapsed = t1 - t0
    seen = {m: t for m, t in agent.seen.items() if t0 <= t <= t1}
    with lock:
        captured = dict(host_marks)
    latencies = [(t - captured[m]) * 1000 for m, t in seen.items() if m in captured]
    received = stats1.bytes_received - stats0.bytes_received
    window = [(t, n) for t, n in drawn if t0 <= t <= t1 + 0.5]
    screen_fps = (
        round((window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0]), 1)
        if len(window) >= 2 and window[-1][0] > window[0][0]
        else 0.0
    )
    return {
        "workload": name,
        "fps": round(len(seen) / elapsed, 1),
        "latency_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "latency_p95_ms": round(percentile(latencies, 0.95), 1) if latencies else None,
        "kbps": round(received * 8 / 1000 / elapsed, 1),
        "host_cpu_pct": round((cpu1 - cpu0) / elapsed * 100, 1),
        "frames_decoded": stats1.frames - stats0.frames,
        "screen_fps": screen_fps,
        "encoding": "tight+copyrect",
        "seconds": round(elapsed, 1),
    }


# --- main ------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--quality", choices=("low", "medium", "high"), default="medium")
    parser.add_argument(
        "--fps", type=float, default=30.0, help="the agent's frame-rate choice (console: 5 to 60)"
    )
    parser.add_argument(
        "--screen-hz", type=float, default=60.0, help="how often the workload redraws its screen"
    )
    parser.add_argument("--host-child", nargs=2, metavar=("URL", "SESSION"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.host_child:
        return host_child(args.host_child[0], int(args.host_child[1]))

    names = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = set(names) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads: {', '.join(sorted(unknown))}")

    tmp = Path(tempfile.mkdtemp(prefix="helpbridge-bench-assist-"))
    procs: list[subprocess.Popen[Any]] = []
    agent: AgentSide | None = None
    try:
        xvfb, display = start_xvfb()
        procs.append(xvfb)
        agent_token, customer_token = prepare(tmp)
        service, url = start_service(tmp)
        procs.append(service)
        session_id = open_session(url, agent_token, customer_token)
        env = {**os.environ, "DISPLAY": display}
        host = subprocess.Popen(
            [
                *(sys.executable, str(Path(__file__).resolve())),
                *("--host-child", url, str(session_id)),
            ],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        procs.append(host)
        assert host.stdin is not None and host.stdout is not None
        host.stdin.write(customer_token + "\n")
        host.stdin.close()
        host_marks: dict[int, float] = {}
        lock = threading.Lock()
        threading.Thread(
            target=read_host_marks, args=(host.stdout, host_marks, lock), daemon=True
        ).start()
        agent = AgentSide(url, session_id, agent_token, args.quality, int(args.fps))
        agent.start()
        deadline = time.monotonic() + 20
        while agent.viewer.stats().frames == 0:
            if time.monotonic() > deadline:
                raise SystemExit("the agent never saw the customer's screen")
            time.sleep(0.05)
        for name in names:
            row = run_workload(
                name, display, agent, host.pid, host_marks, lock, args.seconds, args.screen_hz
            )
            row["quality"] = args.quality
            row["fps_choice"] = int(args.fps)
            if args.json:
                print(json.dumps(row), flush=True)
            else:
                print(
                    f"{name:10} fps {row['fps']:5}  latency p50 {row['latency_p50_ms']} ms"
                    f" p95 {row['latency_p95_ms']} ms  {row['kbps']} kbit/s"
                    f"  host CPU {row['host_cpu_pct']} %",
                    flush=True,
                )
    finally:
        if agent is not None:
            agent.stop()
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
