"""The portal's realtime client (client.core.realtime) against the real service:
uvicorn on loopback with the chat hub, the real ApiClient for tokens and
history, a real SQLite history file. Agents are websocket peers.

A service restart mid-conversation runs the service as its own process.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from client.core.api import ApiClient
from client.core.chatstore import ChatStore
from client.core.realtime import (
    ApiChatService,
    ConversationChanged,
    RealtimeClient,
    RealtimeConfig,
    TypingChanged,
)
from protocol.models import Session
from tests.integration.test_chat_support import Peer, agent_token, hub_of, new_id
from tests.servers import LiveServer, ServerProcess, start_live_server
from tests.unit.test_realtime_client import Events

CONFIG = RealtimeConfig(backoff_min_s=0.2, backoff_max_s=1.0, open_timeout_s=5)


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_live_server(tmp_path_factory.mktemp("rt-client"))
    hub_of(live).offline_grace = 0.0
    yield live
    live.stop()


class AgentThread:
    """An agent's websocket peer on a loop of its own (the test thread is not async)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = 20) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        async def cancel_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel_rest())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def agents() -> Iterator[AgentThread]:
    a = AgentThread()
    yield a
    a.stop()


class Customer:
    """A signed-in portal: ApiClient, history file and realtime client."""

    def __init__(self, url: str, identity: str, store_path: Path) -> None:
        self.api = ApiClient(url)
        self.access: str | None = None
        self.session: Session | None = None
        self.sessions = 0
        self.api.on_tokens_changed = self._adopt
        self.api.exchange_identity(identity)
        self.events = Events()
        self.store = ChatStore(store_path)
        self.token_override: list[str] = []
        self.service = ApiChatService(self.api, self._token)
        self.client = RealtimeClient(url, self.service, self.store, self.events, config=CONFIG)

    def _adopt(self, session: Session) -> None:
        self.session = session
        self.access = session.access_token
        self.sessions += 1

    def _token(self) -> str | None:
        return self.token_override.pop(0) if self.token_override else self.access

    def wait(self, predicate: Callable[[], Any], timeout: float = 15) -> Any:
        return self.events.wait(predicate, timeout)

    def wait_online(self) -> None:
        self.wait(lambda: self.client.state == "online")

    def state(self, client_id: str) -> str | None:
        m = self.store.by_client_id(client_id)
        return None if m is None else m.state

    def texts(self, cid: int) -> list[tuple[int | None, str, str]]:
        return [(m.seq, m.sender_kind, m.text) for m in self.store.messages(cid, limit=500)]

    def close(self) -> None:
        self.client.stop(5)
        self.store.close()
        self.api.close()


@pytest.fixture
def customers(tmp_path: Path) -> Iterator[Callable[..., Customer]]:
    made: list[Customer] = []

    def make(url: str, identity: str) -> Customer:
        c = Customer(url, identity, tmp_path / f"chat-{len(made)}.sqlite3")
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def product() -> str:
    return f"Prod-{new_id()[:8]}"


def test_bot_answer_feedback_and_a_new_conversation(
    chat: LiveServer, customers: Callable[..., Customer]
) -> None:
    c = customers(chat.url, chat.sign(f"cust-{new_id()}", name="Ann", product=product()))
    c.client.start()
    c.wait_online()
    first = c.client.send("I forgot my password", None)
    c.wait(lambda: c.state(first) == "sent")
    m = c.store.by_client_id(first)
    assert m is not None and m.seq == 1 and m.conversation_id is not None
    cid = m.conversation_id
    bot = c.wait(lambda: [x for x in c.store.messages(cid) if x.sender_kind == "bot"])[0]
    assert bot.seq == 2 and bot.prev_seq == 1
    assert 1 <= len(bot.articles) <= 3
    assert any("password" in str(a["title"]).lower() for a in bot.articles)
    # The store records the resume point when it files the message: wait for it.
    c.wait(lambda: c.store.resume_points().get(cid) == 2)

    c.client.feedback(cid, 2, True)
    c.wait(
        lambda: any(
            isinstance(e, ConversationChanged)
            and e.conversation.id == cid
            and e.conversation.status == "closed"
            for e in c.events.items
        )
    )
    c.wait(lambda: len(c.store.messages(cid)) == 3)
    assert c.store.messages(cid)[-1].text.startswith("Glad that helped")
    # The conversation is closed: the next message starts another one.
    again = c.client.send("Another question: how do I print cheques?", cid)
    c.wait(lambda: c.state(again) == "sent")
    moved = c.store.by_client_id(again)
    assert moved is not None and moved.conversation_id not in (None, cid)


def test_agent_reply_typing_and_read_receipts(
    chat: LiveServer, customers: Callable[..., Customer], agents: AgentThread
) -> None:
    prod = product()

    async def online() -> Peer:
        agent = await Peer.connect(chat.url, agent_token(chat, "kim"))
        await agent.send(type="presence", status="online", capacity=3, products=[prod])
        await agent.expect("presence", agent_id=agent.welcome["you"]["id"], status="online")
        return agent

    agent: Peer = agents.run(online())
    c = customers(chat.url, chat.sign(f"cust-{new_id()}", name="Bo", product=prod))
    c.client.start()
    c.wait_online()
    mine = c.client.send("The export to Excel fails", None)
    c.wait(lambda: c.state(mine) == "sent")
    stored = c.store.by_client_id(mine)
    assert stored is not None and stored.conversation_id is not None
    cid = stored.conversation_id
    c.wait(lambda: any(x.sender_kind == "bot" for x in c.store.messages(cid)))
    c.client.handoff(cid)
    agents.run(
        agent.expect(
            "conversation", conversation=lambda s: s["id"] == cid and s["status"] == "assigned"
        )
    )
    agents.run(agent.send(type="typing", conversation_id=cid, typing=True))
    typing = c.wait(lambda: [e for e in c.events.items if isinstance(e, TypingChanged)])[0]
    assert typing.typing and typing.who.kind == "agent"
    reply = '<b>Try</b> File > Export > "Excel 2007"'
    agents.run(agent.say(reply, conversation_id=cid))
    got = c.wait(lambda: [x for x in c.store.messages(cid) if x.sender_kind == "agent"])[0]
    assert got.text == reply and got.state == "received"
    assert c.store.unread(cid) == 2, "the bot's answer and the reply"
    # The agent reads everything: the customer's message shows as read.
    agents.run(agent.send(type="read", conversation_id=cid, seq=got.seq))
    c.wait(lambda: c.state(mine) == "read")
    # The customer reads the reply: the agent is told.
    c.client.mark_read(cid, got.seq)
    receipt = agents.run(agent.expect("read", conversation_id=cid, reader_kind="customer"))
    assert receipt["seq"] == got.seq
    assert c.store.unread() == 0
    # The transcript on the service and on this computer are the same.
    page = c.service.messages(cid, None, 100)
    assert [(m.seq, m.text) for m in page.messages] == [
        (m.seq, m.text) for m in c.store.messages(cid)
    ]
    agents.run(agent.close())


def test_an_expired_token_is_refreshed_through_the_api_client(
    chat: LiveServer, customers: Callable[..., Customer]
) -> None:
    c = customers(chat.url, chat.sign(f"cust-{new_id()}", name="Cy"))
    assert c.sessions == 1 and c.session is not None
    # The portal's access token is no good any more (expired, say); its
    # refresh token still is.
    c.api.set_session("an-access-token-the-service-does-not-know", c.session.refresh_token)
    c.access = "an-access-token-the-service-does-not-know"
    c.client.start()
    c.wait_online()
    # 4401 made the client refresh once through ApiClient (a new pair).
    assert c.sessions == 2
    sent = c.client.send("hello after a refresh", None)
    c.wait(lambda: c.state(sent) == "sent")


def test_a_token_refreshed_elsewhere_is_used_without_refreshing_again(
    chat: LiveServer, customers: Callable[..., Customer]
) -> None:
    c = customers(chat.url, chat.sign(f"cust-{new_id()}", name="Di"))
    # The first hello goes out with a stale token; by the time 4401 comes,
    # the portal holds a newer one (another request refreshed it).
    c.token_override = ["stale-token-from-before"]
    c.client.start()
    c.wait_online()
    assert c.sessions == 1, "no second refresh"


def test_transcript_complete_and_in_order_after_a_service_restart(
    server_process: ServerProcess, customers: Callable[..., Customer], agents: AgentThread
) -> None:
    proc = server_process
    creds = json.loads((proc.data_dir / "demo-credentials.json").read_text())
    r = requests.post(
        f"{proc.url}/api/v1/agent/login",
        json={"email": creds["agent_email"], "password": creds["agent_password"]},
        timeout=10,
    )
    r.raise_for_status()
    atoken = r.json()["access_token"]
    c = customers(proc.url, proc.sign("cust-restart-client", name="Ann"))
    c.client.start()
    c.wait_online()
    first = c.client.send("Backup restore fails with LP-1061", None)
    c.wait(lambda: c.state(first) == "sent")
    cid = c.store.by_client_id(first).conversation_id  # type: ignore[union-attr]
    assert cid is not None

    async def accept_and_answer() -> None:
        agent = await Peer.connect(proc.url, atoken)
        await agent.send(type="accept", conversation_id=cid)
        await agent.expect("conversation", conversation=lambda s: s["status"] == "assigned")
        key = await agent.say("Which version are you on?", conversation_id=cid)
        await agent.expect("ack", client_id=key)
        await agent.close()

    agents.run(accept_and_answer())
    c.wait(lambda: any(m.text == "Which version are you on?" for m in c.store.messages(cid)))
    sent_before = [c.client.send(f"before restart {i}", cid) for i in range(2)]
    c.wait(lambda: all(c.state(k) == "sent" for k in sent_before))

    port = proc.port
    assert port is not None
    proc.stop()
    c.wait(lambda: c.client.state != "online")
    # Written while the service is down: kept, sent after it is back.
    while_down = [c.client.send(f"while down {i}", cid) for i in range(3)]
    c.wait(lambda: len(c.store.pending()) == 3)
    proc.start(port=port)
    c.client.kick()
    c.wait(lambda: all(c.state(k) == "sent" for k in while_down), timeout=30)

    async def answer_after() -> None:
        agent = await Peer.connect(proc.url, atoken)
        key = await agent.say("Version 9 has a fix: please update.", conversation_id=cid)
        await agent.expect("ack", client_id=key)
        await agent.close()

    agents.run(answer_after())
    c.wait(lambda: any(m.text.startswith("Version 9") for m in c.store.messages(cid)))
    page = c.service.messages(cid, None, 200)
    service_side = [(m.seq, m.sender.kind.value, m.text) for m in page.messages]
    assert c.texts(cid) == service_side, "complete, in order, nothing twice"
    customer_texts = [t for _, kind, t in service_side if kind == "customer"]
    assert customer_texts == [
        "Backup restore fails with LP-1061",
        "before restart 0",
        "before restart 1",
        "while down 0",
        "while down 1",
        "while down 2",
    ]
    assert c.store.resume_points()[cid] == service_side[-1][0]
