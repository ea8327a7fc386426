"""Live chat load benchmark: many real websocket clients, message latency.

    python bench/chat.py [--customers 2000] [--agents 20] [--rate 200]
                         [--seconds 20] [--client-procs 1] [--json]

Starts ``helpbridge-server`` as its own process on loopback with a fresh
SQLite data directory holding the customers, the agents and one conversation
per customer already assigned to an agent (round-robin). Then opens one
real websocket per customer and per agent (``websockets`` library, asyncio,
in ``--client-procs`` processes), signs each in with ``hello``, puts the
agents online, and for ``--seconds`` sends ``--rate`` messages a second in
total, half from customers to their agent and half from agents to their
customer, to random conversations. Every connection also sends the
contract's ``ping`` every 10 s.

Each message carries its send time (``time.monotonic``, one clock for every
process on the machine); the receiving side (the other party's connection)
records the delay. ``lost``: sent but never received by the other party
(waiting up to 10 s after the last send); ``duplicated``: received more
than once by the same connection. ``server_rss_mb``: the service's resident
memory at the end (``server_peak_rss_mb``: its high-water mark).
``server_cpu_pct`` / ``client_cpu_pct``: CPU used while messages flow (100 =
one core), which tells a slow service from a busy machine: on a shared
2-core box the tail follows the other load (run it niced, or alone).
``--profile-server FILE`` records the service with py-spy meanwhile.

Clients do not negotiate permessage-deflate (the portal's Qt websocket does
not either). Prints one JSON line with ``--json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import multiprocessing as mp
import os
import random
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import websockets
from websockets.asyncio.client import ClientConnection

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PING_EVERY = 10.0


def raise_fd_limit() -> int:
    """Up to the hard limit: each websocket is a descriptor on both sides."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@dataclass
class Plan:
    url: str
    customer_tokens: list[str]
    agent_tokens: list[str]
    conversations: list[tuple[int, int]]
    """Per customer index: (conversation id, agent index)."""


def prepare(
    data_dir: Path, customers: int, agents: int
) -> tuple[list[str], list[str], list[tuple[int, int]]]:
    """Accounts, sessions and assigned conversations, written straight to
    the database before the service starts (setup, not measured)."""
    from protocol.models import Role
    from server import agents as agent_accounts
    from server import models
    from server.db import Database, sqlite_url
    from server.identity import issue_session

    db = Database(sqlite_url(data_dir))
    db.upgrade()
    ttl = timedelta(hours=2)
    customer_tokens: list[str] = []
    agent_tokens: list[str] = []
    conversations: list[tuple[int, int]] = []
    now = datetime.now(UTC)
    with db.session() as s:
        agent_ids = []
        for i in range(agents):
            a = agent_accounts.create_agent(
                s,
                email=f"agent{i}@bench.invalid",
                name=f"Agent {i}",
                password=secrets.token_urlsafe(12),
                role=Role.agent,
            )
            agent_ids.append(a.id)
            s.add(
                models.AgentPresence(
                    agent_id=a.id, status="online", capacity=customers, products=[]
                )
            )
            issued = issue_session(s, "agent", a.id, access_ttl=ttl, refresh_ttl=ttl)
            agent_tokens.append(issued.access_token)
        for i in range(customers):
            c = models.Customer(
                external_id=f"bench-{i}",
                name=f"Customer {i}",
                tier=("svip", "vip", "normal")[i % 3],
            )
            s.add(c)
            s.flush()
            issued = issue_session(s, "customer", c.id, access_ttl=ttl, refresh_ttl=ttl)
            customer_tokens.append(issued.access_token)
            owner = i % agents
            conv = models.Conversation(
                customer_id=c.id,
                status="assigned",
                assignee_id=agent_ids[owner],
                tier=c.tier,
                product="",
                locale="en",
                created_at=now,
                updated_at=now,
                assigned_at=now,
            )
            s.add(conv)
            s.flush()
            conversations.append((conv.id, owner))
    db.dispose()
    return customer_tokens, agent_tokens, conversations


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
        stderr=(data_dir / "server.log").open("wb"),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"service exited: {(data_dir / 'server.log').read_text()[-2000:]}")
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


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> tuple[float, float]:
    """(resident, peak resident) in MB, from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


# --- the client processes ------------------------------------------------------------------


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    received: dict[str, int] = field(default_factory=dict)
    sent: list[str] = field(default_factory=list)
    acked: set[str] = field(default_factory=set)
    closed: list[int | None] = field(default_factory=list)
    errors: int = 0
    """``error`` events from the service."""
    send_failures: int = 0


class Client:
    def __init__(self, ws: ClientConnection, kind: str, tally: Tally) -> None:
        self.ws = ws
        self.kind = kind
        self.tally = tally
        self.other = "agent" if kind == "customer" else "customer"

    async def read(self) -> None:
        tally = self.tally
        try:
            async for frame in self.ws:
                now = time.monotonic()
                event = json.loads(frame)
                kind = event.get("type")
                if kind == "message":
                    if event["sender"]["kind"] != self.other:
                        continue  # our own, echoed to our other windows
                    text: str = event["text"]
                    if not text.startswith("bench "):
                        continue
                    _, key, stamp = text.split(" ", 2)
                    seen = tally.received.get(key, 0)
                    tally.received[key] = seen + 1
                    if not seen:
                        tally.latencies_ms.append((now - float(stamp)) * 1000)
                elif kind == "ack":
                    tally.acked.add(event["client_id"])
                elif kind == "error":
                    tally.errors += 1
        except websockets.ConnectionClosed:
            pass
        tally.closed.append(self.ws.close_code)

    async def pinger(self) -> None:
        await asyncio.sleep(random.uniform(0, PING_EVERY))
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await self.ws.send('{"type":"ping"}')
                await asyncio.sleep(PING_EVERY)


async def _connect(
    url: str, token: str, kind: str, tally: Tally, gate: asyncio.Semaphore, tasks: list[Any]
) -> Client:
    """Sign in, then read and ping from the start (the service closes a
    connection silent for 30 s)."""
    async with gate:
        ws = await websockets.connect(
            url, compression=None, ping_interval=None, open_timeout=60, max_size=2**20
        )
        await ws.send(json.dumps({"type": "hello", "token": token, "protocol": 1}))
        welcome = json.loads(await ws.recv())
        if welcome.get("type") != "welcome":
            raise RuntimeError(f"not welcomed: {welcome}")
    client = Client(ws, kind, tally)
    tasks.append(asyncio.create_task(client.read()))
    tasks.append(asyncio.create_task(client.pinger()))
    return client


@dataclass
class Sync:
    """Start line shared by the client processes."""

    ready: Any  # multiprocessing queue: a part number once connected
    go: Any  # multiprocessing event
    start_at: Any  # multiprocessing double: epoch seconds


async def _client_main(
    part: int, parts: int, plan: Plan, rate: float, seconds: float, sync: Sync
) -> dict[str, Any]:
    ws_url = plan.url.replace("http://", "ws://") + "/api/v1/realtime"
    tally = Tally()
    gate = asyncio.Semaphore(100)
    mine_c = [i for i in range(len(plan.customer_tokens)) if i % parts == part]
    mine_a = [i for i in range(len(plan.agent_tokens)) if i % parts == part]
    tasks: list[Any] = []
    t0 = time.monotonic()
    agent_clients = await asyncio.gather(
        *(_connect(ws_url, plan.agent_tokens[i], "agent", tally, gate, tasks) for i in mine_a)
    )
    for a in agent_clients:
        await a.ws.send(json.dumps({"type": "presence", "status": "online", "capacity": 50}))
    cust_clients = await asyncio.gather(
        *(_connect(ws_url, plan.customer_tokens[i], "customer", tally, gate, tasks) for i in mine_c)
    )
    connect_s = time.monotonic() - t0
    # The measuring side must not pause for garbage collection mid-run: its
    # 2,000 connections are long-lived, so keep them out of collections.
    gc.collect()
    gc.freeze()
    agents = dict(zip(mine_a, agent_clients, strict=True))
    customers = dict(zip(mine_c, cust_clients, strict=True))

    # Senders this process owns: its customers, and its agents' conversations.
    senders: list[tuple[Client, int]] = [(customers[i], plan.conversations[i][0]) for i in mine_c]
    agent_convs: list[tuple[Client, int]] = [
        (agents[owner], cid) for cid, owner in plan.conversations if owner in agents
    ]
    # Everyone starts sending at the same moment, once every process is connected.
    sync.ready.put(part)
    await asyncio.to_thread(sync.go.wait)
    await asyncio.sleep(max(0.0, sync.start_at.value - time.time()))
    interval = parts / rate
    total = int(seconds * rate / parts)
    begin = time.monotonic()
    cpu_begin = time.process_time()
    rng = random.Random(part)
    for n in range(total):
        delay = begin + n * interval - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        pool = senders if (n % 2 == 0 or not agent_convs) else agent_convs
        client, cid = rng.choice(pool)
        key = secrets.token_hex(8)
        text = f"bench {key} {time.monotonic():.6f}"
        frame = json.dumps({"type": "send", "client_id": key, "conversation_id": cid, "text": text})
        try:
            await client.ws.send(frame)
            tally.sent.append(key)
        except websockets.ConnectionClosed:
            tally.send_failures += 1
    send_s = time.monotonic() - begin
    client_cpu = (time.process_time() - cpu_begin) / send_s
    # Let the last messages land.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(tally.acked) < len(tally.sent):
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)
    for t in tasks:
        t.cancel()
    await asyncio.gather(
        *(c.ws.close() for c in (*agents.values(), *customers.values())), return_exceptions=True
    )
    return {
        "latencies_ms": tally.latencies_ms,
        "received": tally.received,
        "sent": tally.sent,
        "acked": len(tally.acked & set(tally.sent)),
        "errors": tally.errors,
        "send_failures": tally.send_failures,
        "closed_early": [code for code in tally.closed if code not in (None, 1000)],
        "connect_s": connect_s,
        "send_s": send_s,
        "client_cpu": client_cpu,
    }


def client_process(
    part: int, parts: int, plan: Plan, rate: float, seconds: float, sync: Sync, out: Any
) -> None:
    raise_fd_limit()
    try:
        out.put((part, asyncio.run(_client_main(part, parts, plan, rate, seconds, sync))))
    except BaseException as exc:
        out.put((part, {"failed": repr(exc)}))
        raise


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 1000) - 1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--agents", type=int, default=20)
    ap.add_argument("--rate", type=float, default=200, help="messages per second, in total")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--client-procs", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--profile-server",
        type=Path,
        help="record the service with py-spy while messages flow (raw stacks to this file)",
    )
    args = ap.parse_args()
    if args.customers < 1 or args.agents < 1 or args.rate <= 0:
        ap.error("need at least one customer and one agent, and a positive rate")
    fds = raise_fd_limit()
    needed = args.customers + args.agents + 200
    if fds < needed:
        print(f"warning: {fds} file descriptors allowed, {needed} wanted", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="helpbridge-chat-bench-") as tmp:
        data_dir = Path(tmp)
        t = time.monotonic()
        ctoks, atoks, convs = prepare(data_dir, args.customers, args.agents)
        setup_s = time.monotonic() - t
        proc, url = start_service(data_dir)
        try:
            plan = Plan(url, ctoks, atoks, convs)
            ctx = mp.get_context("spawn")
            out = ctx.Queue()
            sync = Sync(ctx.Queue(), ctx.Event(), ctx.Value("d", 0.0))
            workers = [
                ctx.Process(
                    target=client_process,
                    args=(k, args.client_procs, plan, args.rate, args.seconds, sync, out),
                )
                for k in range(args.client_procs)
            ]
            for w in workers:
                w.start()
            for _ in workers:
                sync.ready.get(timeout=600)
            # A second for the last welcomes to settle, then everyone sends.
            sync.start_at.value = time.time() + 1.0
            sync.go.set()
            time.sleep(1.0)
            cpu_before, wall_before = cpu_seconds(proc.pid), time.monotonic()
            spy = None
            if args.profile_server:
                spy = subprocess.Popen(
                    [
                        "py-spy",
                        "record",
                        "--pid",
                        str(proc.pid),
                        "--duration",
                        str(int(args.seconds)),
                        "--format",
                        "raw",
                        "--output",
                        str(args.profile_server),
                        "--nonblocking",
                    ],
                    stdout=subprocess.DEVNULL,
                )
            results = [out.get(timeout=300 + args.seconds) for _ in workers]
            server_cpu = (cpu_seconds(proc.pid) - cpu_before) / (time.monotonic() - wall_before)
            if spy is not None:
                spy.wait(60)
            for w in workers:
                w.join(30)
            rss, peak = rss_mb(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    failed = [r for _, r in results if "failed" in r]
    if failed:
        raise SystemExit(f"a client process failed: {failed[0]['failed']}")
    parts = [r for _, r in sorted(results, key=lambda pr: pr[0])]
    latencies = [x for r in parts for x in r["latencies_ms"]]
    sent = [k for r in parts for k in r["sent"]]
    received: dict[str, int] = {}
    for r in parts:
        for k, n in r["received"].items():
            received[k] = received.get(k, 0) + n
    lost = sum(1 for k in sent if k not in received)
    duplicated = sum(n - 1 for n in received.values() if n > 1)
    report = {
        "customers": args.customers,
        "agents": args.agents,
        "rate": args.rate,
        "p50_ms": round(percentile(latencies, 0.5), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "lost": lost,
        "duplicated": duplicated,
        "server_rss_mb": round(rss, 1),
        "server_peak_rss_mb": round(peak, 1),
        "server_cpu_pct": round(server_cpu * 100, 1),
        "server_cpu_ms_per_msg": round(server_cpu * 1000 / args.rate, 2),
        "client_cpu_pct": [round(r["client_cpu"] * 100, 1) for r in parts],
        "messages": len(sent),
        "acked": sum(r["acked"] for r in parts),
        "max_ms": round(max(latencies), 2) if latencies else None,
        "p90_ms": round(percentile(latencies, 0.9), 2),
        "achieved_rate": round(len(sent) / max(r["send_s"] for r in parts), 1),
        "errors": sum(r["errors"] for r in parts),
        "send_failures": sum(r["send_failures"] for r in parts),
        "closed_early": sorted(c for r in parts for c in r["closed_early"]),
        "connect_s": round(max(r["connect_s"] for r in parts), 1),
        "connects_per_s": round(
            (args.customers + args.agents) / max(r["connect_s"] for r in parts), 1
        ),
        "setup_s": round(setup_s, 1),
        "client_procs": args.client_procs,
        "cpus": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:>20}: {value}")
    return 0 if lost == 0 and duplicated == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
