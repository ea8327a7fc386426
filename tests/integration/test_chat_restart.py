"""Chat survives a service restart: open sockets are told to reconnect, and
resuming afterwards replays exactly what was missed, in order (the service
runs as its own process, restarted on the same port)."""

from __future__ import annotations

import json

import requests

from protocol import realtime as rt
from tests.integration.test_chat_support import Peer, customer_token, run
from tests.servers import ServerProcess


def _agent_token(proc: ServerProcess) -> str:
    creds = json.loads((proc.data_dir / "demo-credentials.json").read_text())
    r = requests.post(
        f"{proc.url}/api/v1/agent/login",
        json={"email": creds["agent_email"], "password": creds["agent_password"]},
        timeout=10,
    )
    r.raise_for_status()
    token: str = r.json()["access_token"]
    return token


def _messages(events: list[dict[str, object]], cid: int) -> list[dict[str, object]]:
    return [e for e in events if e["type"] == "message" and e["conversation_id"] == cid]


def test_resume_after_a_service_restart_gets_exactly_the_missed_messages(
    server_process: ServerProcess,
) -> None:
    proc = server_process
    ctoken = customer_token(proc.url, proc.sign("cust-restart", name="Ann"))
    atoken = _agent_token(proc)
    log = rt.ConversationLog()

    async def before() -> int:
        c = await Peer.connect(proc.url, ctoken)
        await c.say("Backup restore fails with LP-1061")
        cid: int = (await c.expect("ack"))["conversation_id"]
        seen = [await c.expect("message", conversation_id=cid, seq=2)]
        agent = await Peer.connect(proc.url, atoken)
        await agent.send(type="accept", conversation_id=cid)
        seen.append(await c.expect("message", conversation_id=cid, seq=3))
        for e in seen + _messages(await c.collect(0.2), cid):
            log.add(rt.ChatMessage.model_validate(e))
        assert log.expected_next(cid) == 4
        await c.close()
        # Written while the customer is away, just before the restart.
        for text in ("before restart A", "before restart B"):
            key = await agent.say(text, conversation_id=cid)
            await agent.expect("ack", client_id=key)
        await agent.close()
        return cid

    cid = run(before())

    async def restart() -> int | None:
        watcher = await Peer.connect(proc.url, ctoken)
        port = proc.port
        assert port is not None
        proc.stop()
        code = await watcher.closed(timeout=10)
        proc.start(port=port)
        return code

    code = run(restart())
    # uvicorn tells open sockets the service restarts; clients reconnect either way.
    assert code in (rt.CloseCode.going_away, rt.CloseCode.service_restart)

    async def after() -> None:
        agent = await Peer.connect(proc.url, atoken)
        key = await agent.say("after restart C", conversation_id=cid)
        assert (await agent.expect("ack", client_id=key))["seq"] == 6
        c = await Peer.connect(
            proc.url, ctoken, resume=[p.model_dump() for p in log.resume_points()]
        )
        assert [s["id"] for s in c.welcome["conversations"]] == [cid]
        replayed = _messages(await c.collect(0.5), cid)
        assert [(e["seq"], e["text"]) for e in replayed] == [
            (4, "before restart A"),
            (5, "before restart B"),
            (6, "after restart C"),
        ]
        for e in replayed:
            assert log.add(rt.ChatMessage.model_validate(e)).in_order
        # Then live again.
        await agent.say("live D", conversation_id=cid)
        live = await c.expect("message", conversation_id=cid, seq=7)
        assert live["text"] == "live D"
        assert log.add(rt.ChatMessage.model_validate(live)).in_order
        assert log.missing(cid) == []
        await c.close()
        await agent.close()

    run(after())
