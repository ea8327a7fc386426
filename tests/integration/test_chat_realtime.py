"""Live chat against a real service (uvicorn on loopback, SQLite file) with
real websocket clients: the bot, hand-off and routing, tickets from chats,
idempotent sends, resume, close codes, rate limits, receipts."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from protocol import realtime as rt
from tests.integration.test_chat_support import (
    Peer,
    agent_token,
    api,
    customer_token,
    hub_of,
    new_id,
    run,
)
from tests.servers import LiveServer, start_live_server


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One service with the demo knowledge base. Each test uses a product
    of its own (agents serve only that product), so tests cannot route to
    each other's agents."""
    live = start_live_server(tmp_path_factory.mktemp("chat"))
    hub_of(live).offline_grace = 0.0
    yield live
    live.stop()


def product() -> str:
    return f"Prod-{new_id()[:8]}"


def customer(live: LiveServer, prod: str, **claims: Any) -> str:
    claims.setdefault("name", "Ann")
    return customer_token(live.url, live.sign(f"cust-{new_id()}", product=prod, **claims))


async def online_agent(live: LiveServer, prod: str, name: str = "bo", capacity: int = 3) -> Peer:
    agent = await Peer.connect(live.url, agent_token(live, name))
    await agent.send(type="presence", status="online", capacity=capacity, products=[prod])
    me = agent.welcome["you"]["id"]
    await agent.expect("presence", agent_id=me, status="online")
    return agent


async def start_chat(c: Peer, text: str) -> int:
    """Send a first message; the conversation's id once the bot answered
    (the events stay in the peer's backlog)."""
    await c.say(text)
    conv = await c.expect("conversation", conversation=lambda s: s["status"] == "bot")
    cid: int = conv["conversation"]["id"]
    answer = await c.expect("message", conversation_id=cid, sender=lambda s: s["kind"] == "bot")
    c.backlog[:0] = [conv, answer]
    return cid


def is_(kind: str) -> object:
    return lambda s: s["kind"] == kind


# --- the bot ------------------------------------------------------------------------------


def test_customer_question_gets_bot_articles_in_their_language(chat: LiveServer) -> None:
    async def body() -> None:
        c = await Peer.connect(chat.url, customer(chat, product()))
        assert c.welcome["you"]["kind"] == "customer"
        assert c.welcome["protocol"] == rt.PROTOCOL_VERSION
        client_id = await c.say("I forgot my password")
        conv = (await c.expect("conversation"))["conversation"]
        assert conv["status"] == "bot"
        cid = conv["id"]
        mine = await c.expect("message", conversation_id=cid, seq=1)
        assert mine["text"] == "I forgot my password"
        assert mine["client_id"] == client_id
        assert mine["sender"]["kind"] == "customer"
        ack = await c.expect("ack", client_id=client_id)
        assert (ack["conversation_id"], ack["seq"]) == (cid, 1)
        answer = await c.expect("message", conversation_id=cid, seq=2)
        assert answer["sender"]["kind"] == "bot"
        assert answer["prev_seq"] == 1
        assert answer["text"] == "Did this solve it?"
        assert 1 <= len(answer["articles"]) <= 3
        assert any("password" in a["title"].lower() for a in answer["articles"])

        # Chinese text: Chinese articles and a Chinese question.
        await c.say("忘记密码怎么办")
        zh = await c.expect("message", sender=is_("bot"), conversation_id=lambda i: i != cid)
        assert zh["text"] == "这些文章解决您的问题了吗？"
        assert zh["articles"]
        assert all(re.search(r"[\u4e00-\u9fff]", a["title"]) for a in zh["articles"])

        # "Yes, that solved it": thanks, and the conversation closes.
        await c.send(type="bot_feedback", conversation_id=cid, seq=2, helpful=True)
        thanks = await c.expect("message", conversation_id=cid, seq=3)
        assert thanks["sender"]["kind"] == "bot"
        assert thanks["text"].startswith("Glad that helped")
        await c.expect(
            "conversation", conversation=lambda s: s["id"] == cid and s["status"] == "closed"
        )
        late = await c.say("one more thing", conversation_id=cid)
        err = await c.expect("error", client_id=late)
        assert err["code"] == "conflict"
        await c.close()

    run(body())


def test_no_article_found_hands_over_to_a_person(chat: LiveServer) -> None:
    async def body() -> None:
        prod = product()
        agent = await online_agent(chat, prod)
        c = await Peer.connect(chat.url, customer(chat, prod))
        await c.say("zzqxv wqpmtt")
        nothing = await c.expect("message", sender=is_("bot"))
        assert nothing["articles"] == []
        assert "person" in nothing["text"]
        cid = nothing["conversation_id"]
        assigned = await agent.expect(
            "conversation", conversation=lambda s: s["id"] == cid and s["status"] == "assigned"
        )
        assert assigned["conversation"]["assignee"]["id"] == agent.welcome["you"]["id"]
        await c.close()
        await agent.close()

    run(body())


# --- people ---------------------------------------------------------------------------------


def test_handoff_to_an_online_agent_then_messages_typing_receipts_and_unread(
    chat: LiveServer,
) -> None:
    async def body() -> None:
        prod = product()
        agent = await online_agent(chat, prod, "bo")
        me = agent.welcome["you"]["id"]
        name = agent.welcome["you"]["name"]
        ctoken = customer(chat, prod, tier="vip", company="Acme")
        c = await Peer.connect(chat.url, ctoken)
        cid = await start_chat(c, "The export to Excel fails")
        await c.send(type="handoff", conversation_id=cid)
        connecting = await c.expect("message", conversation_id=cid, seq=3)
        assert connecting["sender"]["kind"] == "system"
        assert connecting["text"] == "Connecting you to a person…"
        joined = await c.expect("message", conversation_id=cid, seq=4)
        assert joined["text"] == f"{name} joined the chat."
        summary = (
            await c.expect(
                "conversation", conversation=lambda s: s["id"] == cid and s["status"] == "assigned"
            )
        )["conversation"]
        assert summary["assignee"] == {"id": me, "name": name}
        assert summary["queue"] == f"vip/{prod}"
        assert summary["customer"]["company"] == "Acme"

        mine = await agent.expect(
            "conversation", conversation=lambda s: s["id"] == cid and s["status"] == "assigned"
        )
        assert mine["conversation"]["assignee"]["id"] == me
        assert (await agent.expect("message", conversation_id=cid, seq=4))["sender"][
            "kind"
        ] == "system"
        # The agent reads what came before from history.
        page = api(chat.url, agent.token, "GET", f"/conversations/{cid}/messages")
        assert page.status_code == 200, page.text
        assert [m["seq"] for m in page.json()["messages"]] == [1, 2, 3, 4]
        # Agents' unread: the customer's message and the bot's, not notices.
        assert unread(chat, agent.token, cid) == 2

        await agent.send(type="typing", conversation_id=cid, typing=True)
        typing = await c.expect("typing", conversation_id=cid)
        assert typing["typing"] is True
        assert typing["who"]["kind"] == "agent"
        await c.send(type="typing", conversation_id=cid, typing=False)
        assert (await agent.expect("typing", conversation_id=cid))["who"]["kind"] == "customer"

        answer_id = await agent.say("Try File > Export > Excel 2007", conversation_id=cid)
        assert (await agent.expect("ack", client_id=answer_id))["seq"] == 5
        got = await c.expect("message", conversation_id=cid, seq=5)
        assert got["sender"] == {"kind": "agent", "id": me, "name": name}
        assert got["text"] == "Try File > Export > Excel 2007"
        note_id = await agent.say("customer is on v9", conversation_id=cid, internal=True)
        assert (await agent.expect("ack", client_id=note_id))["seq"] == 6
        await agent.expect("message", conversation_id=cid, seq=6, internal=True)
        again = await agent.say("<b>Did it work?</b>", conversation_id=cid)
        assert (await agent.expect("ack", client_id=again))["seq"] == 7
        got = await c.expect("message", conversation_id=cid, seq=7)
        assert got["prev_seq"] == 5  # the internal note is not the customer's
        assert got["text"] == "<b>Did it work?</b>"  # stored and sent verbatim
        assert not any(e.get("seq") == 6 for e in c.backlog)

        # Unread for the customer: the bot's answer and the agent's two replies.
        assert unread(chat, ctoken, cid) == 3
        await c.send(type="read", conversation_id=cid, seq=7)
        receipt = await agent.expect("read", conversation_id=cid)
        assert (receipt["reader_kind"], receipt["seq"]) == ("customer", 7)
        assert unread(chat, ctoken, cid) == 0
        await agent.send(type="read", conversation_id=cid, seq=7)
        # (The customer's own receipt reaches their other windows too.)
        own = await c.expect("read", conversation_id=cid, reader_kind="customer")
        assert own["seq"] == 7
        receipt = await c.expect("read", conversation_id=cid, reader_kind="agent")
        assert receipt["seq"] == 7
        assert unread(chat, agent.token, cid) == 0
        reply = await c.say("yes it worked", conversation_id=cid)
        await c.expect("ack", client_id=reply)
        await agent.expect("message", conversation_id=cid, seq=8)
        assert unread(chat, agent.token, cid) == 1

        # The agent's second window is welcomed with the conversation.
        second = await Peer.connect(chat.url, agent.token)
        listed = {s["id"]: s for s in second.welcome["conversations"]}
        assert listed[cid]["unread"] == 1
        assert listed[cid]["last_seq"] == 8
        await second.close()

        await agent.send(type="close", conversation_id=cid)
        closed = await c.expect("message", conversation_id=cid, seq=9)
        assert closed["text"] == "The chat was closed."
        await c.expect(
            "conversation", conversation=lambda s: s["id"] == cid and s["status"] == "closed"
        )
        await c.close()
        await agent.close()

    run(body())


def unread(live: LiveServer, token: str, cid: int) -> int:
    r = api(live.url, token, "GET", f"/conversations/{cid}")
    assert r.status_code == 200, r.text
    n: int = r.json()["unread"]
    return n


def test_no_agent_online_turns_the_chat_into_a_ticket_with_transcript_and_files(
    chat: LiveServer,
) -> None:
    async def body() -> None:
        token = customer(chat, product())
        r = api(
            chat.url,
            token,
            "PUT",
            f"/attachments/{new_id()}",
            params={"filename": "screen.png"},
            data=b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
        )
        assert r.status_code == 200, r.text
        file_id = r.json()["id"]
        c = await Peer.connect(chat.url, token)
        await c.say("Cheque printing is misaligned", attachment_ids=[file_id])
        first = await c.expect("message", seq=1)
        assert [a["id"] for a in first["attachments"]] == [file_id]
        assert first["attachments"][0]["filename"] == "screen.png"
        cid = first["conversation_id"]
        await c.expect("message", conversation_id=cid, seq=2, sender=is_("bot"))
        await c.send(type="bot_feedback", conversation_id=cid, seq=2, helpful=False)
        told = await c.expect(
            "message", conversation_id=cid, text=lambda t: "ticket #" in t, timeout=8
        )
        assert told["sender"]["kind"] == "system"
        number = int(re.search(r"#(\d+)", told["text"]).group(1))  # type: ignore[union-attr]
        assert told["text"] == (
            f"No one is available right now — we've turned this into ticket #{number}; "
            "we'll reply there."
        )
        summary = (await c.expect("conversation", conversation=lambda s: s["status"] == "closed"))[
            "conversation"
        ]
        assert summary["ticket_number"] == number
        ticket = api(chat.url, token, "GET", f"/tickets/{summary['ticket_id']}").json()
        assert ticket["number"] == number
        assert ticket["subject"] == "Cheque printing is misaligned"
        assert "Ann: Cheque printing is misaligned" in ticket["body"]
        assert "Did this solve it?" in ticket["body"]
        assert "[file: screen.png]" in ticket["body"]
        assert [a["id"] for a in ticket["attachments"]] == [file_id]
        assert ticket["context"] == {"source": "chat", "conversation_id": str(cid)}
        # The file is no longer sendable in chat: it belongs to the ticket now.
        late = await c.say("and this", attachment_ids=[file_id])
        assert (await c.expect("error", client_id=late))["code"] == "invalid_request"
        await c.close()

    run(body())


def test_replayed_client_id_stores_once_and_gets_the_same_ack(chat: LiveServer) -> None:
    async def body() -> None:
        token = customer(chat, product())
        c = await Peer.connect(chat.url, token)
        key = new_id()
        await c.say("Payroll run stuck", client_id=key)
        first = await c.expect("ack", client_id=key)
        cid = first["conversation_id"]
        await c.expect("message", conversation_id=cid, sender=is_("bot"))
        # The same send again (say the ack was lost): same answer, no new conversation.
        await c.say("Payroll run stuck", client_id=key)
        assert await c.expect("ack", client_id=key) == first
        await c.close()
        c = await Peer.connect(chat.url, token)
        await c.say("Payroll run stuck", conversation_id=cid, client_id=key)
        assert await c.expect("ack", client_id=key) == first
        # And a reply twice into the existing conversation.
        reply = new_id()
        await c.say("still stuck", conversation_id=cid, client_id=reply)
        await c.say("still stuck", conversation_id=cid, client_id=reply)
        a1 = await c.expect("ack", client_id=reply)
        a2 = await c.expect("ack", client_id=reply)
        assert a1 == a2
        await c.close()
        page = api(chat.url, token, "GET", f"/conversations/{cid}/messages").json()
        mine = [m["client_id"] for m in page["messages"] if m["sender"]["kind"] == "customer"]
        assert mine == [key, reply]
        listed = api(chat.url, token, "GET", "/conversations").json()["conversations"]
        assert [s["id"] for s in listed] == [cid]

    run(body())


# --- resume -----------------------------------------------------------------------------------


def test_resume_after_disconnect_gets_exactly_the_missed_messages_in_order(
    chat: LiveServer,
) -> None:
    async def body() -> None:
        prod = product()
        agent = await online_agent(chat, prod)
        token = customer(chat, prod)
        log = rt.ConversationLog()
        c = await Peer.connect(chat.url, token)
        cid = await start_chat(c, "Inventory count is wrong")
        await c.send(type="handoff", conversation_id=cid)
        await agent.expect("message", conversation_id=cid, seq=4)
        for e in await c.collect(0.3):
            if e["type"] == "message":
                log.add(rt.ChatMessage.model_validate(e))
        assert log.expected_next(cid) == 5
        await c.close()

        # Missed while away: three replies and a note the customer never gets.
        for i in range(3):
            await agent.say(f"missed {i}", conversation_id=cid)
        await agent.say("note", conversation_id=cid, internal=True)
        for _ in range(4):
            await agent.expect("ack")

        c = await Peer.connect(
            chat.url, token, resume=[p.model_dump() for p in log.resume_points()]
        )
        # While it catches up, the agent keeps writing.
        burst = [await agent.say(f"live {i}", conversation_id=cid) for i in range(10)]
        got = [e for e in await c.collect(1.5) if e["type"] == "message"]
        seqs = [e["seq"] for e in got]
        assert seqs == sorted(set(seqs)), seqs  # in order, once each
        assert [e["text"] for e in got] == [f"missed {i}" for i in range(3)] + [
            f"live {i}" for i in range(10)
        ]
        assert seqs == [5, 6, 7, *range(9, 19)]
        for e in got:
            assert log.add(rt.ChatMessage.model_validate(e)).new
        assert log.missing(cid) == []
        assert log.expected_next(cid) == 19
        assert len(burst) == 10
        await c.close()
        await agent.close()

    run(body())


def test_resume_of_a_foreign_conversation_is_refused(chat: LiveServer) -> None:
    async def body() -> None:
        owner = await Peer.connect(chat.url, customer(chat, product()))
        cid = await start_chat(owner, "Bank reconciliation differences")
        other = await Peer.connect(
            chat.url,
            customer(chat, product()),
            resume=[
                {"conversation_id": cid, "after_seq": 0},
                {"conversation_id": 10**6, "after_seq": 0},
            ],
        )
        errors = [await other.expect("error"), await other.expect("error")]
        assert {(e["code"], e["conversation_id"]) for e in errors} == {
            ("not_found", cid),
            ("not_found", 10**6),
        }
        assert not [e for e in await other.collect(0.3) if e["type"] == "message"]
        await owner.close()
        await other.close()

    run(body())


# --- refusals and close codes ------------------------------------------------------------------


def test_malformed_and_oversized_frames_close_only_that_connection(chat: LiveServer) -> None:
    async def body() -> None:
        bystander = await Peer.connect(chat.url, customer(chat, product()))

        bad = await Peer.connect(chat.url, customer(chat, product()))
        await bad.ws.send("this is not json")
        assert await bad.closed() == rt.CloseCode.malformed

        unknown = await Peer.connect(chat.url, customer(chat, product()))
        await unknown.send(type="shout", text="hi")
        assert await unknown.closed() == rt.CloseCode.malformed

        huge = await Peer.connect(chat.url, customer(chat, product()))
        await huge.say("x" * (rt.MAX_FRAME_BYTES + 10))
        assert await huge.closed() == rt.CloseCode.too_large

        long_text = await Peer.connect(chat.url, customer(chat, product()))
        await long_text.say("y" * (rt.MAX_TEXT_CHARS + 1))
        assert await long_text.closed() == rt.CloseCode.malformed

        twice = await Peer.connect(chat.url, customer(chat, product()))
        await twice.send(type="hello", token="x")
        assert await twice.closed() == rt.CloseCode.malformed

        # The bystander never noticed.
        await bystander.send(type="ping")
        await bystander.expect("pong")
        key = await bystander.say("still here")
        await bystander.expect("ack", client_id=key)
        await bystander.close()

    run(body())


def test_hello_problems_have_their_close_codes(chat: LiveServer) -> None:
    async def body() -> None:
        hub = hub_of(chat)
        no_token = await Peer.raw(chat.url)
        await no_token.send(type="hello", token="not-a-session")
        assert await no_token.closed() == rt.CloseCode.unauthorized

        token = customer(chat, product())
        newer = await Peer.raw(chat.url)
        await newer.send(type="hello", token=token, protocol=rt.PROTOCOL_VERSION + 1)
        assert await newer.closed() == rt.CloseCode.unsupported_protocol

        rude = await Peer.raw(chat.url)
        await rude.send(type="ping")
        assert await rude.closed() == rt.CloseCode.malformed

        hub.hello_timeout, hub.idle_timeout = 0.3, 0.6
        try:
            silent = await Peer.raw(chat.url)
            assert await silent.closed() == rt.CloseCode.timeout
            idle = await Peer.connect(chat.url, token)
            assert await idle.closed(timeout=3) == rt.CloseCode.timeout
            # Pings keep a connection alive.
            alive = await Peer.connect(chat.url, token)
            for _ in range(5):
                await asyncio.sleep(0.2)
                await alive.send(type="ping")
                await alive.expect("pong")
            await alive.close()
        finally:
            hub.hello_timeout, hub.idle_timeout = rt.HELLO_TIMEOUT_S, rt.IDLE_TIMEOUT_S

    run(body())


def test_foreign_conversations_and_agent_events_are_refused(chat: LiveServer) -> None:
    async def body() -> None:
        owner_token = customer(chat, product())
        owner = await Peer.connect(chat.url, owner_token)
        cid = await start_chat(owner, "Where is my e-invoice?")
        await owner.expect("message", conversation_id=cid, seq=1)
        owner.backlog.clear()
        intruder_token = customer(chat, product())
        intruder = await Peer.connect(chat.url, intruder_token)
        key = await intruder.say("let me in", conversation_id=cid)
        err = await intruder.expect("error", client_id=key)
        assert (err["code"], err["conversation_id"]) == ("not_found", cid)
        event: dict[str, Any]
        for event in (
            {"type": "typing", "conversation_id": cid, "typing": True},
            {"type": "read", "conversation_id": cid, "seq": 1},
            {"type": "handoff", "conversation_id": cid},
            {"type": "bot_feedback", "conversation_id": cid, "seq": 2, "helpful": False},
        ):
            await intruder.send(**event)
            assert (await intruder.expect("error", conversation_id=cid))["code"] == "not_found"
        for event in (
            {"type": "accept", "conversation_id": cid},
            {"type": "close", "conversation_id": cid},
            {"type": "presence", "status": "online"},
            {"type": "to_ticket", "conversation_id": cid},
        ):
            await intruder.send(**event)
            assert (await intruder.expect("error"))["code"] == "forbidden"
        notes = await intruder.say("secret", conversation_id=cid, internal=True)
        assert (await intruder.expect("error", client_id=notes))["code"] == "forbidden"
        r = api(chat.url, intruder_token, "GET", f"/conversations/{cid}/messages")
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"

        # An agent who has not taken the chat may not answer in it.
        bystander = await Peer.connect(chat.url, agent_token(chat))
        key = await bystander.say("hello from nowhere", conversation_id=cid)
        assert (await bystander.expect("error", client_id=key))["code"] == "forbidden"
        await bystander.send(type="typing", conversation_id=cid, typing=True)
        assert (await bystander.expect("error", conversation_id=cid))["code"] == "forbidden"

        # The owner saw none of it, and their chat is as it was.
        assert not [e for e in await owner.collect(0.3) if e["type"] in ("message", "typing")]
        page = api(chat.url, owner_token, "GET", f"/conversations/{cid}/messages").json()
        assert [m["seq"] for m in page["messages"]] == [1, 2]
        for peer in (owner, intruder, bystander):
            await peer.close()

    run(body())


def test_flooding_is_closed_with_4429_and_others_carry_on(chat: LiveServer) -> None:
    async def body() -> None:
        other = await Peer.connect(chat.url, customer(chat, product()))
        flood = await Peer.connect(chat.url, customer(chat, product()))
        try:
            for _ in range(rt.RATE_BURST * 5):
                await flood.send(type="ping")
        except ConnectionClosed:
            pass
        assert await flood.closed() == rt.CloseCode.rate_limited
        pongs = [e for e in flood.backlog if e["type"] == "pong"]
        assert rt.RATE_BURST <= len(pongs) < rt.RATE_BURST * 2
        await other.send(type="ping")
        await other.expect("pong")
        await other.close()

    run(body())


# --- routing -----------------------------------------------------------------------------------


def test_queue_serves_higher_tiers_first_then_transfer_and_ticket_on_demand(
    chat: LiveServer,
) -> None:
    async def body() -> None:
        prod = product()
        first = await online_agent(chat, prod, "first", capacity=1)
        first_id = first.welcome["you"]["id"]
        busy = await Peer.connect(chat.url, customer(chat, prod))
        busy_cid = await start_chat(busy, "Year-end closing")
        await busy.send(type="handoff", conversation_id=busy_cid)
        await first.expect("message", conversation_id=busy_cid, seq=4)

        # The agent is full: these two wait, the normal one longer.
        waiting = {}
        for tier in ("normal", "svip"):
            peer = await Peer.connect(chat.url, customer(chat, prod, tier=tier))
            cid = await start_chat(peer, "Backup restore failed")
            await peer.send(type="handoff", conversation_id=cid)
            await peer.expect("conversation", conversation=lambda s: s["status"] == "queued")
            waiting[tier] = (peer, cid)
        waiting_list = api(
            chat.url, first.token, "GET", "/conversations", params={"filter": "waiting"}
        ).json()["conversations"]
        assert [s["id"] for s in waiting_list if s["queue"].endswith(prod)] == [
            waiting["normal"][1],
            waiting["svip"][1],
        ]

        await first.send(type="close", conversation_id=busy_cid)
        svip_peer, svip_cid = waiting["svip"]
        got = await svip_peer.expect(
            "conversation", conversation=lambda s: s["status"] == "assigned"
        )
        assert got["conversation"]["assignee"]["id"] == first_id
        assert got["conversation"]["queue"] == f"svip/{prod}"
        normal_peer, _ = waiting["normal"]
        assert not [
            e
            for e in await normal_peer.collect(0.3)
            if e["type"] == "conversation" and e["conversation"]["status"] == "assigned"
        ]

        # A second agent comes online and takes the normal one.
        second = await online_agent(chat, prod, "second", capacity=1)
        second_id = second.welcome["you"]["id"]
        got = await normal_peer.expect(
            "conversation", conversation=lambda s: s["status"] == "assigned"
        )
        assert got["conversation"]["assignee"]["id"] == second_id

        # Presence shows both, with their loads.
        board = api(chat.url, first.token, "GET", "/agent/presence").json()["agents"]
        loads = {a["agent_id"]: (a["status"], a["load"], a["capacity"]) for a in board}
        assert loads[first_id] == ("online", 1, 1)
        assert loads[second_id] == ("online", 1, 1)

        # Transfer needs an online agent.
        await first.send(type="transfer", conversation_id=svip_cid, agent_id=10**6)
        assert (await first.expect("error", conversation_id=svip_cid))["code"] == "conflict"
        await first.send(type="transfer", conversation_id=svip_cid, agent_id=second_id)
        second_name = second.welcome["you"]["name"]
        moved = await svip_peer.expect("message", text=f"{second_name} is taking over.")
        assert moved["sender"]["kind"] == "system"
        await second.expect(
            "conversation",
            conversation=lambda s: s["id"] == svip_cid and s["assignee"]["id"] == second_id,
        )
        # The second agent turns it into a ticket.
        await second.send(type="to_ticket", conversation_id=svip_cid)
        told = await svip_peer.expect("message", text=lambda t: "ticket #" in t)
        number = int(re.search(r"#(\d+)", told["text"]).group(1))  # type: ignore[union-attr]
        assert told["text"] == f"We've turned this chat into ticket #{number}; we'll reply there."
        summary = (
            await svip_peer.expect("conversation", conversation=lambda s: s["status"] == "closed")
        )["conversation"]
        second_token = second.token
        ticket = api(chat.url, second_token, "GET", f"/agent/tickets/{summary['ticket_id']}").json()
        assert ticket["assignee"]["id"] == second_id
        assert "Backup restore failed" in ticket["body"]
        panel = api(
            chat.url, second_token, "GET", f"/agent/customers/{summary['customer']['id']}"
        ).json()
        assert panel["customer"]["tier"] == "svip"
        assert [t["id"] for t in panel["tickets"]] == [summary["ticket_id"]]
        assert [s["id"] for s in panel["conversations"]] == [svip_cid]
        for peer in (first, second, busy, svip_peer, normal_peer):
            await peer.close()

    run(body())


def test_an_agent_gone_for_good_gives_the_chat_back_to_the_queue(chat: LiveServer) -> None:
    async def body() -> None:
        hub = hub_of(chat)
        prod = product()
        agent = await online_agent(chat, prod)
        c = await Peer.connect(chat.url, customer(chat, prod))
        cid = await start_chat(c, "Stocktake with barcode scanner")
        await c.send(type="handoff", conversation_id=cid)
        await c.expect("conversation", conversation=lambda s: s["status"] == "assigned")
        hub.requeue_after = 0.2
        try:
            await agent.close()
            # Nobody else serves this product: back to the queue, then a ticket.
            await c.expect(
                "conversation", conversation=lambda s: s["status"] == "queued", timeout=8
            )
            await c.expect("message", text=lambda t: "ticket #" in t, timeout=8)
        finally:
            hub.requeue_after = 120.0
        await c.close()

    run(body())


def test_history_pages_back_with_before_seq(chat: LiveServer) -> None:
    async def body() -> None:
        token = customer(chat, product())
        c = await Peer.connect(chat.url, token)
        cid = await start_chat(c, "Custom report template")
        for i in range(6):
            key = await c.say(f"line {i}", conversation_id=cid)
            await c.expect("ack", client_id=key)
        await c.close()
        newest = api(chat.url, token, "GET", f"/conversations/{cid}/messages", params={"limit": 3})
        page = newest.json()
        seqs = [m["seq"] for m in page["messages"]]
        assert page["has_more"] is True
        older = api(
            chat.url,
            token,
            "GET",
            f"/conversations/{cid}/messages",
            params={"limit": 50, "before_seq": seqs[0]},
        ).json()
        assert [m["seq"] for m in older["messages"]] + seqs == list(range(1, seqs[-1] + 1))
        assert older["has_more"] is False
        bad = api(chat.url, token, "GET", f"/conversations/{cid}/messages", params={"limit": 0})
        assert bad.status_code == 422
        json.dumps(page)  # plain JSON all the way

    run(body())
