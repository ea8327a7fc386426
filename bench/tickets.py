"""Ticket benchmark: a 5 MB screenshot ticket end to end, and creation rate.

    python bench/tickets.py [--json] [--clients 20] [--seconds 10]

Starts ``helpbridge-server`` as its own process on loopback with a fresh
SQLite data directory, signs customers in with real identity tokens, then:

* ``submit_5mb_p50_ms``: upload a 5 MB PNG and create a ticket that links it
  (what the portal's outbox does), median over 20 runs;
* ``create_per_s``: tickets created per second by ``--clients`` concurrent
  clients, each with its own customer session and keep-alive connection.

Prints one JSON line with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent


def start_service(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port_file = data_dir / "port"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server",
            "--port",
            "0",
            "--data-dir",
            str(data_dir),
            "--port-file",
            str(port_file),
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if port_file.exists():
            url = f"http://127.0.0.1:{port_file.read_text()}"
            try:
                if requests.get(f"{url}/healthz", timeout=1).ok:
                    return proc, url
            except requests.RequestException:
                pass
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("service did not start")


def add_key(data_dir: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "server",
            "identity-key",
            "add",
            "--kid",
            "bench",
            "--data-dir",
            str(data_dir),
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
    )


def sign(data_dir: Path, sub: str) -> str:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "server",
            "sign-identity",
            "--kid",
            "bench",
            "--sub",
            sub,
            "--data-dir",
            str(data_dir),
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def session_for(url: str, token: str) -> requests.Session:
    s = requests.Session()
    r = s.post(f"{url}/api/v1/auth/identity", json={"token": token}, timeout=10)
    r.raise_for_status()
    s.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return s


def screenshot_bytes(size: int) -> bytes:
    # A PNG header and incompressible bytes: the size a real 5 MB capture has.
    return b"\x89PNG\r\n\x1a\n" + os.urandom(size - 8)


def submit_5mb(url: str, s: requests.Session, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        data = screenshot_bytes(5 * 1024 * 1024)
        t0 = time.perf_counter()
        up = s.put(
            f"{url}/api/v1/attachments/{uuid.uuid4().hex}",
            params={"filename": "screen.png"},
            data=data,
            timeout=30,
        )
        up.raise_for_status()
        r = s.post(
            f"{url}/api/v1/tickets",
            json={
                "client_key": uuid.uuid4().hex,
                "subject": "Printing fails",
                "body": "See screenshot",
                "attachment_ids": [up.json()["id"]],
            },
            timeout=30,
        )
        r.raise_for_status()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def create_rate(url: str, sessions: list[requests.Session], seconds: float) -> tuple[float, int]:
    stop = time.monotonic() + seconds
    counts = [0] * len(sessions)
    errors = [0]

    def worker(i: int) -> None:
        s = sessions[i]
        while time.monotonic() < stop:
            r = s.post(
                f"{url}/api/v1/tickets",
                json={
                    "client_key": uuid.uuid4().hex,
                    "subject": f"Load {i}",
                    "body": "x" * 200,
                    "urgency": "low",
                    "impact": "medium",
                },
                timeout=30,
            )
            if r.status_code == 201:
                counts[i] += 1
            else:
                errors[0] += 1

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(sessions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - t0), errors[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hb-bench-tickets-") as tmp:
        data_dir = Path(tmp)
        add_key(data_dir)
        tokens = [sign(data_dir, f"bench-{i}") for i in range(args.clients)]
        proc, url = start_service(data_dir)
        try:
            sessions = [session_for(url, t) for t in tokens]
            submit_5mb(url, sessions[0], 3)  # warm-up
            times = submit_5mb(url, sessions[0], args.runs)
            server_cpu0, client_cpu0 = cpu_seconds(proc.pid), time.process_time()
            wall0 = time.monotonic()
            rate, errors = create_rate(url, sessions, args.seconds)
            wall = time.monotonic() - wall0
            server_cpu = (cpu_seconds(proc.pid) - server_cpu0) / wall * 100
            client_cpu = (time.process_time() - client_cpu0) / wall * 100
        finally:
            proc.terminate()
            proc.wait(10)
    result = {
        "submit_5mb_p50_ms": round(statistics.median(times), 1),
        "submit_5mb_p95_ms": round(sorted(times)[int(len(times) * 0.95) - 1], 1),
        "create_per_s": round(rate, 1),
        "clients": args.clients,
        "errors": errors,
        "server_cpu_pct": round(server_cpu),
        "load_generator_cpu_pct": round(client_cpu),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>20}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
