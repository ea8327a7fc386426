"""The chat hub and the team settings, against a real service with real
websocket clients: disabling an agent closes their connections and hands
their chats back at once (through the API and from the command line), a
forced sign-out closes the connections, the router keeps to supervisors'
chat caps and to ``chats.take``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from protocol import realtime as rt
from protocol.models import Role
from server import models, team
from server.chat.hub import team_limits
from tests.integration.test_chat_realtime import customer, online_agent, product, start_chat
from tests.integration.test_chat_support import Peer, api, eventually, hub_of, run
from tests.servers import LiveServer, start_live_server


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_live_server(tmp_path_factory.mktemp("chat-team"))
    hub_of(live).offline_grace = 0.0
    live.create_agent("boss@example.com", role=Role.admin)
    yield live
    live.stop()


def _boss(live: LiveServer) -> str:
    return live.agent_token("boss@example.com")


def _conversation(live: LiveServer, cid: int) -> models.Conversation:
    with live.db.session() as s:
        conv = s.get(models.Conversation, cid)
        assert conv is not None
        s.expunge(conv)
        return conv


async def _assigned_chat(live: LiveServer, prod: str, agent: Peer) -> tuple[Peer, int]:
    """A customer's chat handed to ``agent`` (the only one serving ``prod``)."""
    me = agent.welcome["you"]["id"]
    c = await Peer.connect(live.url, customer(live, prod))
    cid = await start_chat(c, "The barcode scanner stopped working")
    await c.send(type="handoff", conversation_id=cid)
    await agent.expect(
        "conversation",
        conversation=lambda s: s["id"] == cid and s["assignee"] and s["assignee"]["id"] == me,
    )
    return c, cid


async def _post(live: LiveServer, token: str, path: str, **kw: Any) -> Any:
    r = await asyncio.to_thread(api, live.url, token, "POST", path, **kw)
    assert r.status_code == 200, r.text
    return r.json()


def test_disabling_an_agent_closes_their_connections_and_requeues_their_chats_at_once(
    chat: LiveServer,
) -> None:
    async def body() -> None:
        hub = hub_of(chat)
        prod = product()
        ann = await online_agent(chat, prod, "ann")
        ann_id = ann.welcome["you"]["id"]
        c, cid = await _assigned_chat(chat, prod, ann)
        ben = await online_agent(chat, prod, "ben")  # comes after the chat went to Ann
        ben_id = ben.welcome["you"]["id"]
        hub.requeue_after = 3600.0  # only the hook may hand the chat back
        try:
            done = await _post(chat, _boss(chat), f"/team/agents/{ann_id}/disable")
            assert done["agent"]["active"] is False
            # Her connection is closing when the answer comes; the chat goes
            # back to the queue right after (not after the usual grace).
            assert await ann.closed() == rt.CloseCode.unauthorized
            assert ann.ws.close_reason == "the agent account is disabled"
            await c.expect("conversation", conversation=lambda s: s["status"] == "queued")
            # Then the router hands it to Ben, who serves the same product.
            await ben.expect(
                "conversation",
                conversation=lambda s: s["id"] == cid and (s["assignee"] or {}).get("id") == ben_id,
            )
            assert _conversation(chat, cid).assignee_id == ben_id
            # Others see Ann go offline; she is off the board and gets nothing.
            await ben.expect("presence", agent_id=ann_id, status="offline")
            assert ann_id not in {a.agent_id for a in hub.presence_list({})}
            # Her token no longer opens a connection.
            late = await Peer.raw(chat.url)
            await late.send(type="hello", token=ann.token, protocol=rt.PROTOCOL_VERSION, resume=[])
            assert await late.closed() == rt.CloseCode.unauthorized
        finally:
            hub.requeue_after = 120.0
        await c.close()
        await ben.close()

    run(body())


def test_disabling_from_the_command_line_is_noticed_by_the_running_hub(chat: LiveServer) -> None:
    async def body() -> None:
        prod = product()
        cy = await online_agent(chat, prod, "cy")
        cy_id = cy.welcome["you"]["id"]
        c, cid = await _assigned_chat(chat, prod, cy)
        # The command line's process has no hub: nothing but the database changes.
        actor = team.Actor("cli", "operator")
        await asyncio.to_thread(team.disable_agent, chat.db, actor, cy_id)
        assert await cy.closed(timeout=15) == rt.CloseCode.unauthorized
        await eventually(lambda: _conversation(chat, cid).assignee_id != cy_id, timeout=15)
        await c.close()

    run(body())


def test_forced_sign_out_closes_the_connections_and_keeps_the_chats(chat: LiveServer) -> None:
    async def body() -> None:
        prod = product()
        dee = await online_agent(chat, prod, "dee")
        dee_id = dee.welcome["you"]["id"]
        second = await Peer.connect(chat.url, dee.token)  # another window
        c, cid = await _assigned_chat(chat, prod, dee)
        hub_of(chat).requeue_after = 3600.0
        try:
            out = await _post(chat, _boss(chat), f"/team/agents/{dee_id}/sign-out")
            assert out["sessions"] >= 1
            for peer in (dee, second):
                assert await peer.closed() == rt.CloseCode.unauthorized
            # Not disabled: the chat stays theirs (they sign in again).
            conv = _conversation(chat, cid)
            assert conv.assignee_id == dee_id
            assert conv.status == rt.ConversationStatus.assigned.value
        finally:
            hub_of(chat).requeue_after = 120.0
        await c.close()

    run(body())


def test_router_keeps_to_the_supervisors_chat_cap(chat: LiveServer) -> None:
    async def body() -> None:
        prod = product()
        eve = await online_agent(chat, prod, "eve", capacity=3)
        eve_id = eve.welcome["you"]["id"]
        boss = _boss(chat)
        r = await asyncio.to_thread(
            api, chat.url, boss, "PATCH", f"/team/agents/{eve_id}", json={"max_chats": 1}
        )
        assert r.status_code == 200 and r.json()["chat_capacity"] == 1, r.text
        c1, cid1 = await _assigned_chat(chat, prod, eve)
        c2 = await Peer.connect(chat.url, customer(chat, prod))
        cid2 = await start_chat(c2, "A second question about the scanner")
        await c2.send(type="handoff", conversation_id=cid2)
        await c2.expect("conversation", conversation=lambda s: s["status"] == "queued")
        # The board shows the cap, not the 3 Eve chose in her console.
        await eve.expect("presence", agent_id=eve_id, load=1, capacity=1)
        presence = await asyncio.to_thread(api, chat.url, boss, "GET", "/agent/presence")
        mine = [a for a in presence.json()["agents"] if a["agent_id"] == eve_id]
        assert mine and mine[0]["capacity"] == 1
        hub = hub_of(chat)
        await eventually(lambda: hub._caps.get(eve_id) == 1)
        assert _conversation(chat, cid2).status == rt.ConversationStatus.queued.value
        # Closing the first frees the slot: the second comes to Eve.
        await eve.send(type="close", conversation_id=cid1)
        await c2.expect(
            "conversation",
            conversation=lambda s: s["status"] == "assigned" and s["assignee"]["id"] == eve_id,
            timeout=10,
        )
        for peer in (eve, c1, c2):
            await peer.close()

    run(body())


def test_agent_without_chats_take_gets_no_chats_and_cannot_accept(chat: LiveServer) -> None:
    async def body() -> None:
        prod = product()
        fay = await online_agent(chat, prod, "fay")
        fay_id = fay.welcome["you"]["id"]
        r = await asyncio.to_thread(
            api,
            chat.url,
            _boss(chat),
            "PUT",
            f"/team/agents/{fay_id}/permissions",
            json={"changes": [{"permission": "chats.take", "allowed": False}]},
        )
        assert r.status_code == 200 and r.json()["chat_capacity"] == 0, r.text
        await eventually(lambda: hub_of(chat)._caps.get(fay_id) == 0)
        c = await Peer.connect(chat.url, customer(chat, prod))
        cid = await start_chat(c, "Nobody who takes chats serves this product")
        await c.send(type="handoff", conversation_id=cid)
        # Nobody eligible: the customer is offered a ticket instead.
        await c.expect("message", text=lambda t: "ticket #" in t, timeout=10)
        assert _conversation(chat, cid).assignee_id is None
        await fay.send(type="accept", conversation_id=cid)
        refused = await fay.expect("error", conversation_id=cid)
        assert refused["code"] == "forbidden" and "chats.take" in refused["message"]
        await c.close()
        await fay.close()

    run(body())


def test_team_limits_agree_with_chat_capacity(chat: LiveServer) -> None:
    for email, role in (("gus@example.com", Role.agent), ("hal@example.com", Role.supervisor)):
        chat.create_agent(email, role=role)
    with chat.db.session() as s:
        ids = {a.email: a.id for a in s.query(models.Agent).all()}
        actor = team.Actor("cli", "operator")
        gus = s.get(models.Agent, ids["gus@example.com"])
        hal = s.get(models.Agent, ids["hal@example.com"])
        assert gus is not None and hal is not None
        team.set_max_chats(s, actor, gus, 2)
        team.set_grants(s, actor, hal, {"chats.take": False})
    with chat.db.session() as s:
        limits = team_limits(s, ids.values())
        assert limits.caps == {aid: team.chat_capacity(s, aid) for aid in ids.values()}
        assert limits.caps[ids["gus@example.com"]] == 2
        assert limits.caps[ids["hal@example.com"]] == 0
        assert limits.caps[ids["boss@example.com"]] == team.DEFAULT_MAX_CHATS
