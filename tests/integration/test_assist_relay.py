"""The remote-assist stream relay against a real service: real websocket
clients (``client.core.assist.stream.open_stream``, the ``websockets``
package) on both sides of a session, bytes checked end to end."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from client.core.assist.stream import open_stream
from protocol.assist import StreamClose
from protocol.models import Role
from server import models, team
from server.assist.service import AssistService
from server.cli import uvicorn_config
from tests.integration.test_assist_api import (
    A,
    agent_id,
    agt,
    audit_rows,
    cust,
    service_of,
    ticket_of,
)
from tests.integration.test_chat_support import Peer, run
from tests.integration.test_tickets_api import Client
from tests.servers import LiveServer, start_live_server

WS_LIMIT = 128 * 1024
"""The service's websocket message limit (``server.cli.uvicorn_config``)."""


def test_the_service_runs_with_the_websocket_limit_the_relay_tests_assume() -> None:
    app: Any = object()
    assert uvicorn_config(app).ws_max_size == WS_LIMIT


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_live_server(tmp_path_factory.mktemp("assist-relay"), seed_kb=False)
    yield server
    server.stop()


@pytest.fixture
def svc(live: LiveServer) -> Iterator[AssistService]:
    """The service's tunables, put back after each test."""
    s = service_of(live)
    saved = (s.grace, s.idle_timeout, s.max_kbps)
    yield s
    s.grace, s.idle_timeout, s.max_kbps = saved


def token(c: Client) -> str:
    return c.h["Authorization"].split()[1]


def session(live: LiveServer, *, allow: bool = True) -> tuple[Client, Client, int]:
    """A customer, an agent and their session (active unless ``allow`` is False)."""
    c, a = cust(live), agt(live)
    r = a.req("POST", f"{A}/requests", json={"ticket_id": ticket_of(c)})
    assert r.status_code == 201, r.text
    sid = int(r.json()["id"])
    if allow:
        r = c.req("POST", f"{A}/{sid}/consent", json={"allow": True})
        assert r.json()["status"] == "active"
    return c, a, sid


async def connect(live: LiveServer, who: Client | str, sid: int) -> ClientConnection:
    t = who if isinstance(who, str) else token(who)
    return await open_stream(live.url, sid, t)


async def closed_with(ws: ClientConnection, timeout: float = 15.0) -> tuple[int | None, bytes]:
    """Wait until the service closes ``ws``: its close code and any bytes
    that arrived first."""
    got = b""
    try:
        while True:
            msg = await asyncio.wait_for(ws.recv(), timeout)
            got += msg if isinstance(msg, bytes) else msg.encode()
    except ConnectionClosed:
        pass
    return ws.close_code, got


async def read_exactly(ws: ClientConnection, n: int, timeout: float = 20.0) -> bytes:
    got = b""
    while len(got) < n:
        msg = await asyncio.wait_for(ws.recv(), timeout)
        assert isinstance(msg, bytes)
        got += msg
    assert len(got) == n
    return got


def get(who: Client, sid: int) -> dict[str, Any]:
    r = who.req("GET", f"{A}/{sid}")
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


async def until(check: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = await asyncio.to_thread(check)
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def chunks(rng: random.Random, total: int) -> list[bytes]:
    out, left = [], total
    while left:
        n = min(left, rng.choice([1, 2, 3, 7, 12, 13, 255, 1021, 4097, 65_521]))
        out.append(rng.randbytes(n))
        left -= n
    return out


# --- copying ------------------------------------------------------------------------------------


def test_bytes_cross_exactly_both_ways_and_stop_at_end(live: LiveServer) -> None:
    c, a, sid = session(live)
    rng = random.Random(6)

    async def body() -> None:
        host = await connect(live, c, sid)
        # The RFB server speaks first, before the viewer is there: kept for it.
        await host.send(b"RFB 003.008\n")
        await until(lambda: get(a, sid)["customer_connected"])
        assert not get(a, sid)["agent_connected"]
        viewer = await connect(live, a, sid)
        assert await read_exactly(viewer, 12) == b"RFB 003.008\n"
        await until(lambda: get(c, sid)["agent_connected"])

        up = chunks(rng, 300_000)  # customer -> agent
        down = chunks(rng, 50_000)  # agent -> customer

        async def send_all(ws: ClientConnection, parts: list[bytes]) -> None:
            for p in parts:
                await ws.send(p)

        sent = asyncio.gather(send_all(host, up), send_all(viewer, down))
        got_up, got_down = await asyncio.gather(
            read_exactly(viewer, sum(map(len, up))), read_exactly(host, sum(map(len, down)))
        )
        await sent
        assert got_up == b"".join(up) and got_down == b"".join(down)
        live_counts = get(a, sid)
        assert live_counts["bytes_to_agent"] == 12 + len(got_up)
        assert live_counts["bytes_to_customer"] == len(got_down)

        # End: both sockets closed at once, nothing after, no way back in.
        ended = await asyncio.to_thread(c.req, "POST", f"{A}/{sid}/end")
        assert ended.json()["status"] == "ended"
        (code_v, late_v), (code_h, late_h) = await asyncio.gather(
            closed_with(viewer), closed_with(host)
        )
        assert code_v == code_h == StreamClose.not_active
        assert late_v == late_h == b""
        for who in (c, a):
            again = await connect(live, who, sid)
            assert await closed_with(again) == (StreamClose.not_active, b"")
        final = ended.json()
        assert final["bytes_to_agent"] == 12 + len(got_up)
        assert final["bytes_to_customer"] == len(got_down)
        assert not final["agent_connected"] and not final["customer_connected"]

    run(body(), timeout=90)
    (record,) = [
        e for e in audit_rows(live, "assist.session") if e.target == f"assist session {sid}"
    ]
    assert record.detail["bytes_to_agent"] == str(12 + 300_000)
    assert record.detail["bytes_to_customer"] == str(50_000)
    assert record.detail["mode"] == "view" and record.detail["end_reason"] == "customer"


def test_streams_are_refused_before_consent_to_strangers_and_without_a_token(
    live: LiveServer,
) -> None:
    c, a, sid = session(live, allow=False)
    other_c, other_a = cust(live), agt(live)

    async def body() -> None:
        # Requested, not allowed: nothing flows; the socket closes at once.
        host = await connect(live, c, sid)
        viewer = await connect(live, a, sid)
        with pytest.raises(ConnectionClosed):
            await host.send(b"RFB 003.008\n")
            await host.send(b"x")
            await asyncio.wait_for(host.recv(), 10)
        assert host.close_code == StreamClose.not_active
        assert await closed_with(viewer) == (StreamClose.not_active, b"")
        for stranger in (other_c, other_a):
            ws = await connect(live, stranger, sid)
            assert await closed_with(ws) == (StreamClose.not_found, b"")
        ws = await connect(live, c, 10**6)
        assert (await closed_with(ws))[0] == StreamClose.not_found
        ws = await connect(live, "not-a-token", sid)
        assert (await closed_with(ws))[0] == StreamClose.unauthorized
        raw = await open_stream(live.url, sid, "")
        assert (await closed_with(raw))[0] == StreamClose.unauthorized
        # Denied: still nothing.
        await asyncio.to_thread(c.req, "POST", f"{A}/{sid}/consent", json={"allow": False})
        ws = await connect(live, c, sid)
        assert await closed_with(ws) == (StreamClose.not_active, b"")

    run(body())
    assert get(c, sid)["bytes_to_agent"] == 0


def test_text_frames_are_refused_and_the_peer_told_to_reconnect(live: LiveServer) -> None:
    c, a, sid = session(live)

    async def body() -> None:
        host = await connect(live, c, sid)
        viewer = await connect(live, a, sid)
        await until(lambda: get(a, sid)["agent_connected"] and get(a, sid)["customer_connected"])
        await viewer.send("hello as text")
        assert (await closed_with(viewer))[0] == 1003
        assert (await closed_with(host))[0] == StreamClose.peer_gone
        assert get(c, sid)["status"] == "active"
        # Messages up to the service's websocket limit pass; a larger one is refused.
        host = await connect(live, c, sid)
        viewer = await connect(live, a, sid)
        biggest = random.Random(3).randbytes(WS_LIMIT)
        await host.send(biggest)
        assert await read_exactly(viewer, len(biggest)) == biggest
        await host.send(biggest + b"!")
        assert (await closed_with(host))[0] == 1009
        assert (await closed_with(viewer))[0] == StreamClose.peer_gone

    run(body())


def test_a_newer_socket_replaces_the_older_and_the_peer_restarts(live: LiveServer) -> None:
    c, a, sid = session(live)

    async def body() -> None:
        first = await connect(live, c, sid)
        await first.send(b"old handshake")
        await until(lambda: get(a, sid)["customer_connected"])
        second = await connect(live, c, sid)
        assert await closed_with(first) == (StreamClose.replaced, b"")
        # The old socket's bytes never reach anyone; the new one's do.
        await second.send(b"RFB 003.008\n")
        viewer = await connect(live, a, sid)
        assert await read_exactly(viewer, 12) == b"RFB 003.008\n"
        # Replacing a paired side sends its partner back to the start too.
        newer = await connect(live, c, sid)
        assert (await closed_with(second))[0] == StreamClose.replaced
        assert (await closed_with(viewer))[0] == StreamClose.peer_gone
        viewer = await connect(live, a, sid)
        await newer.send(b"again")
        assert await read_exactly(viewer, 5) == b"again"
        await asyncio.to_thread(a.req, "POST", f"{A}/{sid}/end")
        assert (await closed_with(viewer))[0] == StreamClose.not_active
        assert (await closed_with(newer))[0] == StreamClose.not_active

    run(body())


# --- drops, grace, idle ---------------------------------------------------------------------------


def test_peer_gone_then_reconnect_within_grace_keeps_the_session(
    live: LiveServer, svc: AssistService
) -> None:
    svc.grace = 3.0
    c, a, sid = session(live)

    async def body() -> None:
        host = await connect(live, c, sid)
        viewer = await connect(live, a, sid)
        await host.send(b"1")
        assert await read_exactly(viewer, 1) == b"1"
        await host.close()  # the customer's network drops
        assert (await closed_with(viewer))[0] == StreamClose.peer_gone
        host = await connect(live, c, sid)
        viewer = await connect(live, a, sid)
        await host.send(b"22")
        assert await read_exactly(viewer, 2) == b"22"
        await viewer.send(b"333")
        assert await read_exactly(host, 3) == b"333"
        assert get(a, sid)["status"] == "active"
        # Now nobody comes back: the session ends (network) after the grace.
        await host.close()
        assert (await closed_with(viewer))[0] == StreamClose.peer_gone
        s = await until(lambda: (got := get(a, sid))["status"] == "ended" and got)
        assert s["end_reason"] == "network"
        assert (s["bytes_to_agent"], s["bytes_to_customer"]) == (3, 3)

    run(body(), timeout=60)


def test_what_a_side_sent_just_before_leaving_still_reaches_the_other(
    live: LiveServer,
) -> None:
    """A VNC viewer that types a key and disconnects at once: the key is
    delivered before the host is told to reconnect, and nothing of the old
    connection reaches the host's next socket."""
    c, a, sid = session(live)

    async def body() -> None:
        host = await connect(live, c, sid)
        viewer = await connect(live, a, sid)
        await host.send(b"RFB")
        assert await read_exactly(viewer, 3) == b"RFB"
        # More than the relay holds for a side (the host is not reading
        # yet), then the viewer leaves while some of it still waits there.
        last = random.Random(5).randbytes(2_000_000)

        async def send_and_leave() -> None:
            for i in range(0, len(last), 60_000):
                await viewer.send(last[i : i + 60_000])
            await viewer.close()

        leaving = asyncio.create_task(send_and_leave())
        await asyncio.sleep(1.0)  # let the relay's outbox for the host fill up
        code, got = await closed_with(host)
        await leaving
        assert code == StreamClose.peer_gone
        assert got == last, (len(got), len(last))
        host = await connect(live, c, sid)
        viewer = await connect(live, a, sid)
        await viewer.send(b"new")
        assert await read_exactly(host, 3) == b"new"
        await host.close()
        await viewer.close()

    run(body(), timeout=60)


def test_a_paused_session_stays_paired_and_idle_sessions_end(
    live: LiveServer, svc: AssistService
) -> None:
    svc.idle_timeout = 1.5
    c, a, sid = session(live)

    async def body() -> None:
        host = await connect(live, c, sid)
        viewer = await connect(live, a, sid)
        r = await asyncio.to_thread(c.req, "POST", f"{A}/{sid}/pause", json={"paused": True})
        assert r.json()["status"] == "paused"
        await viewer.send(b"req")
        assert await read_exactly(host, 3) == b"req"
        # Then nothing either way: the session ends (idle), both sockets closed.
        (code_h, _), (code_v, _) = await asyncio.gather(closed_with(host), closed_with(viewer))
        assert code_h == code_v == StreamClose.not_active
        s = await until(lambda: (got := get(c, sid))["status"] == "ended" and got)
        assert s["end_reason"] == "idle"

    run(body())


def test_an_allowed_session_nobody_connects_to_ends_after_the_grace(
    live: LiveServer, svc: AssistService
) -> None:
    svc.grace = 1.0
    c, _, sid = session(live)

    async def body() -> None:
        s = await until(lambda: (got := get(c, sid))["status"] == "ended" and got)
        assert s["end_reason"] == "network"

    run(body())


# --- the bandwidth cap ---------------------------------------------------------------------------


def test_bandwidth_cap_slows_the_stream_without_losing_bytes(
    live: LiveServer, svc: AssistService
) -> None:
    svc.max_kbps = 800  # 100 kB/s, both directions together
    c, a, sid = session(live)
    total = 400_000
    parts = chunks(random.Random(8), total)

    async def body() -> float:
        host = await connect(live, c, sid)
        viewer = await connect(live, a, sid)
        await until(lambda: get(a, sid)["agent_connected"] and get(a, sid)["customer_connected"])
        started = time.monotonic()

        async def send_all() -> None:
            for p in parts:
                await host.send(p)

        sender = asyncio.create_task(send_all())
        got = await read_exactly(viewer, total, timeout=30)
        elapsed = time.monotonic() - started
        await sender
        assert got == b"".join(parts)
        await asyncio.to_thread(a.req, "POST", f"{A}/{sid}/end")
        return elapsed

    elapsed = run(body(), timeout=90)
    # 400 kB at 100 kB/s with a quarter second of burst: at least 3.75 s.
    assert elapsed >= 3.5, elapsed
    print(
        f"400 kB through an 800 kbit/s cap: {elapsed:.2f} s ({total * 8 / elapsed / 1000:.0f} kbit/s)"
    )


# --- the agent disabled ----------------------------------------------------------------------------


def test_disabling_the_agent_ends_their_sessions_and_tells_both_parties(live: LiveServer) -> None:
    c, a, sid = session(live)
    admin = agt(live, Role.admin)
    aid = agent_id(live, a)

    async def body() -> None:
        cp = await Peer.connect(live.url, token(c))
        host = await connect(live, c, sid)
        viewer = await connect(live, a, sid)
        ev = await cp.expect(
            "assist",
            session=lambda s: s["id"] == sid and s["customer_connected"] and s["agent_connected"],
        )
        assert ev["session"]["status"] == "active"
        r = await asyncio.to_thread(admin.req, "POST", f"/team/agents/{aid}/disable")
        assert r.status_code == 200, r.text
        (code_h, _), (code_v, _) = await asyncio.gather(closed_with(host), closed_with(viewer))
        assert code_h == code_v == StreamClose.not_active
        ev = await cp.expect("assist", session=lambda s: s["id"] == sid and s["status"] == "ended")
        assert ev["session"]["end_reason"] == "agent_disabled"
        await cp.close()

    run(body())
    (record,) = [
        e for e in audit_rows(live, "assist.session") if e.target == f"assist session {sid}"
    ]
    assert record.detail["end_reason"] == "agent_disabled" and record.actor_type == "system"


def test_a_restarted_service_gives_live_sessions_the_grace(tmp_path: Any) -> None:
    live = start_live_server(tmp_path / "svc", seed_kb=False)
    c, a, sid = session(live)
    live.stop()
    with live.db.session() as s:  # the test helper adds its signing key again
        s.execute(delete(models.IdentityKey))
    again = start_live_server(tmp_path / "svc", seed_kb=False, assist_reconnect_grace_s=1.0)
    try:
        c.base = a.base = f"{again.url}/api/v1"

        async def body() -> None:
            host = await connect(again, c, sid)
            viewer = await connect(again, a, sid)
            await host.send(b"back")
            assert await read_exactly(viewer, 4) == b"back"
            await host.close()
            await viewer.close()
            s = await until(lambda: (got := get(c, sid))["status"] == "ended" and got)
            assert s["end_reason"] == "network" and s["bytes_to_agent"] == 4

        run(body())
    finally:
        again.stop()


def test_an_agent_disabled_from_the_command_line_loses_their_sessions(live: LiveServer) -> None:
    """The command line changes the database only; the running service
    notices and closes the sockets."""
    c, a, sid = session(live)
    aid = agent_id(live, a)

    async def body() -> None:
        host = await connect(live, c, sid)
        viewer = await connect(live, a, sid)
        await until(lambda: get(c, sid)["agent_connected"] and get(c, sid)["customer_connected"])
        await asyncio.to_thread(team.disable_agent, live.db, team.Actor("cli", "operator"), aid)
        (code_h, _), (code_v, _) = await asyncio.gather(closed_with(host), closed_with(viewer))
        assert code_h == code_v == StreamClose.not_active
        s = get(c, sid)
        assert (s["status"], s["end_reason"]) == ("ended", "agent_disabled")

    run(body())
