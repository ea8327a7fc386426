"""The realtime client against a scripted websocket service on 127.0.0.1:0.

The service here is small but real (the ``websockets`` asyncio server, the
protocol's own models): it stores messages, numbers them, deduplicates by
``client_id``, acknowledges, replays after ``resume`` and refuses bad tokens.
Tests script it to drop connections, go silent, delay acks, send duplicates
and leave gaps, and check that the client loses nothing and shows nothing twice.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from client.core.api import ApiError, OfflineError
from client.core.chatstore import ChatStore
from client.core.realtime import (
    ConnectionChanged,
    ConversationChanged,
    Event,
    HistoryLoaded,
    MessagesChanged,
    Problem,
    RealtimeClient,
    RealtimeConfig,
    TypingChanged,
    UnreadChanged,
    Welcomed,
    backoff_delay,
    realtime_url,
)
from protocol.realtime import (
    Ack,
    ChatCustomer,
    ChatMessage,
    CloseCode,
    ConversationEvent,
    ConversationStatus,
    ConversationSummary,
    ErrorEvent,
    MessageEvent,
    MessagePage,
    Party,
    Pong,
    ReadEvent,
    SenderKind,
    TypingEvent,
    Welcome,
    You,
    encode,
    parse_client_frame,
)

FAST = RealtimeConfig(
    ping_interval_s=0.2,
    idle_timeout_s=0.8,
    backoff_min_s=0.05,
    backoff_max_s=0.2,
    open_timeout_s=2,
    welcome_timeout_s=2,
    close_timeout_s=0.5,
)

# --- a scripted service ----------------------------------------------------------------------


@dataclass
class Conv:
    id: int
    status: ConversationStatus = ConversationStatus.assigned
    messages: list[ChatMessage] = field(default_factory=list)

    @property
    def last_seq(self) -> int:
        return self.messages[-1].seq if self.messages else 0


class FakeChat:
    """A chat service with knobs. Runs on its own loop thread."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.convs: dict[int, Conv] = {}
        self.by_client: dict[str, tuple[int, int]] = {}
        self.tokens = {"tok-1"}
        self.hellos: list[dict[str, Any]] = []
        self.received: list[dict[str, Any]] = []
        self.sockets: set[ServerConnection] = set()
        self.down = False
        self.stopping = False
        self.ack_delay = 0.0
        self.drop_before_ack = 0
        """Close the connection abruptly instead of acking the next N sends."""
        self.drop_before_store = 0
        """Close the connection abruptly on the next N sends, storing nothing."""
        self.refuse_sends: dict[str, str] = {}
        """text -> error code for sends to refuse."""
        self.duplicate_messages = False
        self.silent_after_welcome = False
        self.skip_seqs: set[int] = set()
        """Live messages with these seqs are not pushed (a gap)."""
        self.bot_reply = False
        self.next_conv = 100
        self.loop = asyncio.new_event_loop()
        self.server: Server | None = None
        self.port = 0
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> FakeChat:
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(self._start(), self.loop)
        fut.result(5)
        return self

    async def _start(self) -> None:
        self.server = await serve(
            self.handler,
            "127.0.0.1",
            0,
            process_request=self._gate,
            ping_interval=None,
        )
        self.port = self.server.sockets[0].getsockname()[1]

    def _gate(self, connection: ServerConnection, request: Any) -> Any:
        if self.down:
            return connection.respond(503, "down for maintenance\n")
        return None

    def stop(self) -> None:
        self.stopping = True

        async def close() -> None:
            assert self.server is not None
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(5)

    def drop_all(self, code: int | None = None) -> None:
        """Close every connection: abruptly (no close frame) or with ``code``."""

        async def drop() -> None:
            for ws in list(self.sockets):
                if code is None:
                    ws.transport.abort()
                else:
                    await ws.close(code)

        self.run(drop())

    # -- the service's data ---------------------------------------------------------

    def conv(self, cid: int | None = None, *, status: ConversationStatus | None = None) -> Conv:
        with self.lock:
            if cid is None:
                self.next_conv += 1
                cid = self.next_conv
            c = self.convs.setdefault(cid, Conv(cid))
            if status is not None:
                c.status = status
            return c

    def add(self, cid: int, kind: str, text: str, client_id: str = "", **extra: Any) -> ChatMessage:
        with self.lock:
            c = self.conv(cid)
            seq = c.last_seq + 1
            names = {"customer": "Ann", "agent": "Alex", "bot": "Assistant", "system": ""}
            m = ChatMessage(
                conversation_id=cid,
                seq=seq,
                prev_seq=c.last_seq,
                client_id=client_id,
                sender=Party(kind=SenderKind(kind), id=3 if kind == "agent" else None,
                             name=names[kind]),
                text=text,
                created_at=datetime.now(UTC),
                **extra,
            )  # fmt: skip
            c.messages.append(m)
            return m

    def summary(self, c: Conv) -> ConversationSummary:
        now = datetime.now(UTC)
        return ConversationSummary(
            id=c.id,
            status=c.status,
            customer=ChatCustomer(id=1, name="Ann"),
            last_seq=c.last_seq,
            queue="normal",
            created_at=now,
            updated_at=now,
        )

    def agent_says(self, cid: int, text: str, **extra: Any) -> ChatMessage:
        m = self.add(cid, "agent", text, **extra)
        self.push(MessageEvent(**m.model_dump()))
        return m

    def push(self, event: Any) -> None:
        async def push() -> None:
            for ws in list(self.sockets):
                if isinstance(event, MessageEvent) and event.seq in self.skip_seqs:
                    continue
                try:
                    await ws.send(encode(event))
                    if self.duplicate_messages and isinstance(event, MessageEvent):
                        await ws.send(encode(event))
                except ConnectionClosed:
                    pass

        self.run(push())

    def texts(self, cid: int) -> list[str]:
        with self.lock:
            return [m.text for m in self.conv(cid).messages]

    def page(self, cid: int, before: int | None, limit: int) -> MessagePage:
        with self.lock:
            msgs = self.conv(cid).messages
            if before is not None:
                msgs = [m for m in msgs if m.seq < before]
            chunk = msgs[-limit:]
            return MessagePage(conversation_id=cid, messages=chunk, has_more=len(msgs) > len(chunk))

    # -- the websocket ---------------------------------------------------------------

    async def handler(self, ws: ServerConnection) -> None:
        try:
            first = json.loads(await ws.recv())
        except ConnectionClosed:
            return
        self.hellos.append(first)
        if first.get("token") not in self.tokens:
            await ws.close(CloseCode.unauthorized, "token expired")
            return
        with self.lock:
            mine = [c for c in self.convs.values() if c.status != ConversationStatus.closed]
            welcome = Welcome(
                you=You(kind="customer", id=1, name="Ann"),
                server_time=datetime.now(UTC),
                conversations=[self.summary(c) for c in mine],
            )
        await ws.send(encode(welcome))
        for point in first.get("resume", []):
            with self.lock:
                c = self.conv(point["conversation_id"])
                replay = [m for m in c.messages if m.seq > point["after_seq"]]
            for m in replay:
                await ws.send(encode(MessageEvent(**m.model_dump())))
        if self.silent_after_welcome:
            # Reads nothing, answers nothing (not even websocket pings).
            ws.transport.pause_reading()
            while not self.stopping and not ws.transport.is_closing():
                await asyncio.sleep(0.05)
            ws.transport.abort()
            return
        self.sockets.add(ws)
        try:
            async for raw in ws:
                event = parse_client_frame(raw)
                self.received.append(json.loads(raw))
                await self.on_event(ws, event)
        except ConnectionClosed:
            pass
        finally:
            self.sockets.discard(ws)

    async def on_event(self, ws: ServerConnection, event: Any) -> None:
        if event.type == "ping":
            await ws.send(encode(Pong()))
        elif event.type == "send":
            if event.text in self.refuse_sends:
                code = self.refuse_sends.pop(event.text)
                await ws.send(
                    encode(ErrorEvent(code=code, message="refused", client_id=event.client_id))
                )
                return
            if self.drop_before_store > 0:
                self.drop_before_store -= 1
                ws.transport.abort()
                return
            closed = event.conversation_id is not None and (
                self.conv(event.conversation_id).status == ConversationStatus.closed
            )
            if closed and event.client_id not in self.by_client:
                await ws.send(
                    encode(
                        ErrorEvent(
                            code="conflict",
                            message="the conversation is closed; start a new one",
                            client_id=event.client_id,
                            conversation_id=event.conversation_id,
                        )
                    )
                )
                return
            with self.lock:
                known = self.by_client.get(event.client_id)
                if known is None:
                    cid = event.conversation_id or self.conv().id
                    m = self.add(cid, "customer", event.text, event.client_id)
                    known = self.by_client[event.client_id] = (cid, m.seq)
                    fresh = True
                else:
                    fresh = False
            if self.drop_before_ack > 0:
                self.drop_before_ack -= 1
                ws.transport.abort()
                return
            if self.ack_delay:
                await asyncio.sleep(self.ack_delay)
            await ws.send(encode(Ack(client_id=event.client_id, conversation_id=known[0],
                                     seq=known[1])))  # fmt: skip
            if fresh and self.bot_reply:
                reply = self.add(known[0], "bot", f"Bot answer to {event.text}")
                await ws.send(encode(MessageEvent(**reply.model_dump())))


@pytest.fixture
def fake() -> Iterator[FakeChat]:
    chat = FakeChat().start()
    yield chat
    chat.stop()


# --- the client side -----------------------------------------------------------------------


class Service:
    """The REST side of the fake: tokens and history pages."""

    def __init__(self, chat: FakeChat) -> None:
        self.chat = chat
        self.token: str | None = "tok-1"
        self.refreshes = 0
        self.refresh_error: ApiError | None = None
        self.pages: list[tuple[int, int | None]] = []
        self.offline = False

    def access_token(self) -> str | None:
        return self.token

    def refresh_access_token(self) -> str:
        self.refreshes += 1
        if self.refresh_error is not None:
            raise self.refresh_error
        self.token = f"tok-r{self.refreshes}"
        self.chat.tokens.add(self.token)
        return self.token

    def messages(self, conversation_id: int, before_seq: int | None, limit: int) -> MessagePage:
        self.pages.append((conversation_id, before_seq))
        if self.offline:
            raise OfflineError("down")
        return self.chat.page(conversation_id, before_seq, limit)


class Events:
    def __init__(self) -> None:
        self.items: list[Event] = []
        self.cond = threading.Condition()

    def __call__(self, event: Event) -> None:
        with self.cond:
            self.items.append(event)
            self.cond.notify_all()

    def of(self, kind: type[Any]) -> list[Any]:
        with self.cond:
            return [e for e in self.items if isinstance(e, kind)]

    def wait(self, predicate: Callable[[], Any], timeout: float = 8.0) -> Any:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                value = predicate()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out; last events: {self.items[-8:]}")
                self.cond.wait(min(left, 0.05))

    def states(self) -> list[str]:
        return [e.state for e in self.of(ConnectionChanged)]

    def online_count(self) -> int:
        return self.states().count("online")


@dataclass
class Harness:
    client: RealtimeClient
    store: ChatStore
    events: Events
    service: Service

    def state_of(self, client_id: str) -> str | None:
        m = self.store.by_client_id(client_id)
        return None if m is None else m.state

    def wait_state(self, state: str, timeout: float = 8.0) -> None:
        self.events.wait(lambda: self.client.state == state, timeout)

    def wait_sent(self, *client_ids: str) -> None:
        def done() -> bool:
            found = [self.store.by_client_id(c) for c in client_ids]
            return all(m is not None and m.state in ("sent", "read") for m in found)

        self.events.wait(done)


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def factory(
        chat: FakeChat,
        *,
        url: str | None = None,
        store: ChatStore | None = None,
        config: RealtimeConfig = FAST,
        **kwargs: Any,
    ) -> Harness:
        events = Events()
        service = Service(chat)
        store = store or ChatStore(tmp_path / f"chat-{len(made)}.sqlite3")
        client = RealtimeClient(url or chat.url, service, store, events, config=config, **kwargs)
        h = Harness(client, store, events, service)
        made.append(h)
        return h

    yield factory
    for h in made:
        h.client.stop(3)


# --- tests ------------------------------------------------------------------------------------


def test_realtime_url() -> None:
    assert realtime_url("https://help.example.com/") == "wss://help.example.com/api/v1/realtime"
    assert realtime_url("http://127.0.0.1:8080") == "ws://127.0.0.1:8080/api/v1/realtime"
    with pytest.raises(ValueError):
        realtime_url("ftp://x")


class _Edge(random.Random):
    """uniform() returns one end of the range."""

    def __init__(self, high: bool) -> None:
        super().__init__(0)
        self.high = high

    def uniform(self, a: float, b: float) -> float:
        return b if self.high else a


def test_backoff_doubles_to_the_cap_with_full_jitter() -> None:
    cfg = RealtimeConfig()
    assert [backoff_delay(n, _Edge(True), cfg) for n in range(8)] == [
        0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0,
    ]  # fmt: skip
    # The low end of the jitter is held at the minimum.
    assert {backoff_delay(n, _Edge(False), cfg) for n in range(8)} == {0.5}
    rng = random.Random(42)
    delays = [backoff_delay(n, rng, cfg) for n in range(200)]
    assert all(0.5 <= d <= 30.0 for d in delays)
    assert backoff_delay(10_000, random.Random(1), cfg) <= 30.0  # no overflow


def test_send_is_stored_first_then_acked(fake: FakeChat, make: Callable[..., Harness]) -> None:
    h = make(fake)
    h.client.start()
    h.wait_state("online")
    assert fake.hellos[0]["token"] == "tok-1" and fake.hellos[0]["protocol"] == 1
    cid = h.client.send("hello <b>there</b>", None)
    first = h.events.wait(lambda: h.events.of(MessagesChanged))[0].messages[0]
    assert (first.client_id, first.state) == (cid, "sending")
    h.wait_sent(cid)
    m = h.store.by_client_id(cid)
    assert m is not None and m.seq == 1 and m.conversation_id == 101
    assert fake.texts(101) == ["hello <b>there</b>"]
    assert h.events.of(Welcomed)[0].you.name == "Ann"


def test_messages_written_offline_arrive_once_in_order(
    fake: FakeChat, make: Callable[..., Harness]
) -> None:
    fake.down = True
    h = make(fake)
    h.client.start()
    h.events.wait(lambda: "offline" in h.events.states())
    ids = [h.client.send(f"offline {i}", None) for i in range(4)]
    h.events.wait(lambda: len(h.store.pending()) == 4)
    assert h.client.state in ("offline", "connecting")
    fake.down = False
    h.client.kick()
    h.wait_sent(*ids)
    cids = {h.store.by_client_id(i).conversation_id for i in ids}  # type: ignore[union-attr]
    assert cids == {101}, "all joined the conversation the first one started"
    assert fake.texts(101) == [f"offline {i}" for i in range(4)]
    assert [m.seq for m in h.store.messages(101)] == [1, 2, 3, 4]


def test_connection_dropped_before_ack_resends_without_duplicates(
    fake: FakeChat, make: Callable[..., Harness]
) -> None:
    conv = fake.conv()
    fake.drop_before_ack = 2
    h = make(fake)
    h.client.start()
    h.wait_state("online")
    cid = h.client.send("are you there?", conv.id)
    h.wait_sent(cid)
    sends = [f for f in fake.received if f["type"] == "send"]
    # Sent again after the first drop; after the second, the replay of the
    # stored copy may already confirm it before the resend.
    assert 2 <= len(sends) <= 3 and {f["client_id"] for f in sends} == {cid}
    assert fake.texts(conv.id) == ["are you there?"], "the service stored it once"
    assert h.store.count(conv.id) == 1
    assert h.events.online_count() >= 2


def test_message_lost_by_the_service_is_sent_again(
    fake: FakeChat, make: Callable[..., Harness]
) -> None:
    conv = fake.conv()
    fake.drop_before_store = 2
    h = make(fake)
    h.client.start()
    h.wait_state("online")
    cid = h.client.send("third time lucky", conv.id)
    h.wait_sent(cid)
    sends = [f for f in fake.received if f["type"] == "send"]
    assert len(sends) == 3 and {f["client_id"] for f in sends} == {cid}
    assert fake.texts(conv.id) == ["third time lucky"]


def test_ack_delay_keeps_message_sending(fake: FakeChat, make: Callable[..., Harness]) -> None:
    conv = fake.conv()
    fake.ack_delay = 0.6
    h = make(fake)
    h.client.start()
    h.wait_state("online")
    cid = h.client.send("slow", conv.id)
    time.sleep(0.3)
    assert h.store.by_client_id(cid).state == "sending"  # type: ignore[union-attr]
    h.wait_sent(cid)


def test_resume_replays_what_was_missed_exactly_once(
    fake: FakeChat, make: Callable[..., Harness]
) -> None:
    conv = fake.conv()
    h = make(fake)
    h.client.start()
    h.wait_state("online")
    for i in range(3):
        fake.agent_says(conv.id, f"live {i}")
    h.events.wait(lambda: h.store.count(conv.id) == 3)
    fake.down = True
    fake.drop_all()
    h.events.wait(lambda: h.client.state != "online")
    fake.add(conv.id, "agent", "while away 1")
    fake.add(conv.id, "agent", "while away 2")
    fake.down = False
    h.client.kick()
    h.events.wait(lambda: h.store.resume_points().get(conv.id) == 5)
    resume = fake.hellos[-1]["resume"]
    assert {"conversation_id": conv.id, "after_seq": 3} in resume
    assert [m.text for m in h.store.messages(conv.id)] == fake.texts(conv.id)
    assert h.store.resume_points()[conv.id] == 5
    # Events reach the listener after the store files them: wait for all five.
    def shown() -> list[int]:
        return sorted(m.seq for e in h.events.of(MessagesChanged) for m in e.messages)

    h.events.wait(lambda: set(shown()) == {1, 2, 3, 4, 5})
    assert shown() == [1, 2, 3, 4, 5], "each shown once"


def test_duplicate_frames_are_ignored(fake: FakeChat, make: Callable[..., Harness]) -> None:
    conv = fake.conv()
    fake.duplicate_messages = True
    h = make(fake)
    h.client.start()
    h.wait_state("online")
    fake.agent_says(conv.id, "once")
    fake.agent_says(conv.id, "twice")
    h.events.wait(lambda: h.store.count(conv.id) == 2)
    time.sleep(0.2)
    shown = [m.text for e in h.events.of(MessagesChanged) for m in e.messages]
    assert shown == ["once", "twice"]


def test_a_gap_is_filled_from_history(fake: FakeChat, make: Callable[..., Harness]) -> None:
    conv = fake.conv()
    h = make(fake)
    h.client.start()
    h.wait_state("online")
    fake.agent_says(conv.id, "one")
    fake.skip_seqs = {2}
    fake.agent_says(conv.id, "two (lost on the way)")
    fake.agent_says(conv.id, "three")
    h.events.wait(lambda: h.store.count(conv.id) == 3)
    assert [m.text for m in h.store.messages(conv.id)] == fake.texts(conv.id)
    assert (conv.id, 3) in h.service.pages
    assert h.store.resume_points()[conv.id] == 3


def test_expired_token_is_refreshed_then_reconnects(
    fake: FakeChat, make: Callable[..., Harness]
) -> None:
    fake.tokens = {"fresh-only"}
    h = make(fake)
    h.client.start()
    h.wait_state("online")
    assert h.service.refreshes == 1
    assert [x["token"] for x in fake.hellos] == ["tok-1", "tok-r1"]
    # Expired again later: the service closes 4401 on the open connection.
    fake.tokens = set()
    fake.drop_all(CloseCode.unauthorized)
    h.events.wait(
        lambda: h.service.refreshes == 2
        and fake.hellos[-1]["token"] == "tok-r2"
        and h.client.state == "online"
    )
    assert [x["token"] for x in fake.hellos][-1] == "tok-r2"


def test_lost_session_waits_for_sign_in(fake: FakeChat, make: Callable[..., Harness]) -> None:
    fake.tokens = set()
    h = make(fake)
    h.service.refresh_error = ApiError("session_revoked", "revoked", 401)
    h.client.start()
    h.wait_state("signed_out")
    hellos = len(fake.hellos)
    time.sleep(0.5)
    assert len(fake.hellos) == hellos, "no reconnect storm without a session"
    # The customer signs in again (the portal then kicks the client).
    h.service.refresh_error = None
    h.service.token = "tok-new"
    fake.tokens = {"tok-new"}
    h.client.kick()
    h.wait_state("online")


def test_no_token_means_signed_out(fake: FakeChat, make: Callable[..., Harness]) -> None:
    h = make(fake)
    h.service.token = None
    h.client.start()
    h.wait_state("signed_out")
    assert fake.hellos == []
    h.service.token = "tok-1"
    h.client.kick()
    h.wait_state("online")


def test_silent_service_is_detected_by_the_heartbeat(
    fake: FakeChat, make: Callable[..., Harness]
) -> None:
    fake.silent_after_welcome = True
    h = make(fake)
    h.client.start()
    h.wait_state("online")
    started = time.monotonic()
    h.events.wait(lambda: any(e.reason == "heartbeat" for e in h.events.of(ConnectionChanged)))
    took = time.monotonic() - started
    # idle_timeout is 0.8 s: dead between 0.8 s and a ping interval later.
    assert 0.6 <= took <= 2.5, took
    fake.silent_after_welcome = False
    h.events.wait(lambda: h.events.online_count() >= 2)


def test_heartbeat_keeps_a_quiet_connection(fake: FakeChat, make: Callable[..., Harness]) -> None:
    h = make(fake)
    h.client.start()
    h.wait_state("online")
    time.sleep(2.0)  # 2.5 idle timeouts without any chat traffic
    assert h.client.state == "online" and h.events.online_count() == 1
    pings = [f for f in fake.received if f["type"] == "ping"]
    assert len(pings) >= 5


def test_backoff_uses_injected_random_and_kick_skips_it(
    fake: FakeChat, make: Callable[..., Harness]
) -> None:
    fake.down = True
    slept: list[float] = []

    async def fake_sleep(delay: float) -> None:
        slept.append(delay)
        await asyncio.sleep(0.01 if len(slept) < 6 else 3600)

    cfg = RealtimeConfig(backoff_min_s=0.5, backoff_max_s=30, open_timeout_s=2)
    h = make(fake, config=cfg, rng=random.Random(7), sleep=fake_sleep)
    h.client.start()
    h.events.wait(lambda: len(slept) >= 6)
    expected_rng = random.Random(7)
    expected = [backoff_delay(n, expected_rng, cfg) for n in range(6)]
    assert slept[:6] == expected
    offline = [e for e in h.events.of(ConnectionChanged) if e.state == "offline"]
    assert [e.retry_in for e in offline[:6]] == expected
    # Now parked on an hour-long wait: the network comes back, kick() connects at once.
    fake.down = False
    h.client.kick()
    h.wait_state("online", timeout=3)
    assert h.client.attempt == 0


def test_connection_refused_then_service_appears(make: Callable[..., Harness]) -> None:
    chat = FakeChat()
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    h = make(chat, url=f"http://127.0.0.1:{port}")
    h.client.start()
    h.events.wait(lambda: len(h.events.of(ConnectionChanged)) >= 4)
    assert {e.reason for e in h.events.of(ConnectionChanged) if e.state == "offline"} == {"network"}
    h.client.send("written while nobody listens", None)
    h.events.wait(lambda: len(h.store.pending()) == 1)


def test_refused_message_fails_and_retry_delivers(
    fake: FakeChat, make: Callable[..., Harness]
) -> None:
    conv = fake.conv()
    fake.refuse_sends = {"bad": "forbidden"}
    h = make(fake)
    h.client.start()
    h.wait_state("online")
    cid = h.client.send("bad", conv.id)
    h.events.wait(lambda: h.state_of(cid) == "failed")
    problem = h.events.wait(lambda: h.events.of(Problem))[0]
    assert (problem.code, problem.client_id) == ("forbidden", cid)
    h.client.retry(cid)
    h.wait_sent(cid)
    assert fake.texts(conv.id) == ["bad"]


def test_message_to_a_conversation_closed_meanwhile_starts_a_new_one(
    fake: FakeChat, make: Callable[..., Harness]
) -> None:
    conv = fake.conv()
    h = make(fake)
    h.client.start()
    h.wait_state("online")
    fake.conv(conv.id, status=ConversationStatus.closed)  # the client was not told
    cid = h.client.send("late question", conv.id)
    h.wait_sent(cid)
    m = h.store.by_client_id(cid)
    assert m is not None and m.conversation_id not in (None, conv.id)
    assert fake.texts(m.conversation_id) == ["late question"]


def test_local_checks_refuse_empty_and_too_long(
    fake: FakeChat, make: Callable[..., Harness]
) -> None:
    h = make(fake)
    h.client.start()
    h.wait_state("online")
    h.client.send("   ", None)
    h.client.send("x" * 10_001, None)
    h.events.wait(lambda: len(h.events.of(Problem)) == 2)
    assert [p.code for p in h.events.of(Problem)] == ["empty", "too_long"]
    assert h.store.count() == 0


def test_read_receipts_typing_and_conversation_updates(
    fake: FakeChat, make: Callable[..., Harness]
) -> None:
    conv = fake.conv()
    h = make(fake)
    h.client.start()
    h.wait_state("online")
    cid = h.client.send("please look", conv.id)
    h.wait_sent(cid)
    fake.push(TypingEvent(conversation_id=conv.id, who=Party(kind="agent", id=3, name="Alex"),
                          typing=True))  # fmt: skip
    typing = h.events.wait(lambda: h.events.of(TypingChanged))[0]
    assert (typing.who.name, typing.typing) == ("Alex", True)
    fake.push(ReadEvent(conversation_id=conv.id, reader_kind="agent", seq=1))
    h.events.wait(lambda: h.state_of(cid) == "read")
    fake.conv(conv.id, status=ConversationStatus.closed)
    fake.push(ConversationEvent(conversation=fake.summary(conv)))
    changed = h.events.wait(lambda: h.events.of(ConversationChanged))[0]
    assert changed.conversation.status == "closed"
    # Writing into a closed conversation starts a new one.
    again = h.client.send("one more thing", conv.id)
    h.wait_sent(again)
    assert h.store.by_client_id(again).conversation_id != conv.id  # type: ignore[union-attr]


def test_unread_and_read_markers(fake: FakeChat, make: Callable[..., Harness]) -> None:
    conv = fake.conv()
    h = make(fake)
    h.client.start()
    h.wait_state("online")
    fake.agent_says(conv.id, "a")
    fake.agent_says(conv.id, "b")
    h.events.wait(lambda: h.events.of(UnreadChanged) and h.events.of(UnreadChanged)[-1].count == 2)
    h.client.mark_read(conv.id, 2)
    h.events.wait(lambda: h.events.of(UnreadChanged)[-1].count == 0)
    h.events.wait(lambda: any(f["type"] == "read" for f in fake.received))
    assert next(f for f in fake.received if f["type"] == "read")["seq"] == 2


def test_handoff_made_offline_is_sent_after_reconnect(
    fake: FakeChat, make: Callable[..., Harness]
) -> None:
    conv = fake.conv()
    fake.down = True
    h = make(fake)
    h.client.start()
    h.events.wait(lambda: "offline" in h.events.states())
    h.client.handoff(conv.id)
    h.client.feedback(conv.id, 2, False)
    time.sleep(0.1)
    fake.down = False
    h.client.kick()
    h.events.wait(lambda: len([f for f in fake.received if f["type"] != "ping"]) >= 2)
    kinds = [f["type"] for f in fake.received if f["type"] != "ping"]
    assert kinds[:2] == ["handoff", "bot_feedback"]


def test_history_from_disk_first_then_paging(
    fake: FakeChat, make: Callable[..., Harness], tmp_path: Path
) -> None:
    conv = fake.conv()
    for i in range(120):
        fake.add(conv.id, "agent" if i % 2 else "customer", f"m{i + 1}")
    h = make(fake)
    h.client.start()
    # Unknown here: the newest page is fetched once the welcome names it.
    h.events.wait(lambda: h.store.count(conv.id) == 50)
    assert h.service.pages == [(conv.id, None)]
    assert h.store.resume_points()[conv.id] == 120
    h.client.load_older(conv.id, 71)
    page = h.events.wait(lambda: [e for e in h.events.of(HistoryLoaded) if not e.initial])[-1]
    assert [m.seq for m in page.messages] == list(range(21, 71)) and not page.complete
    h.client.load_older(conv.id, 21)
    h.events.wait(lambda: len(h.events.of(HistoryLoaded)) == 3)
    last = h.events.of(HistoryLoaded)[-1]
    assert [m.seq for m in last.messages] == list(range(1, 21)) and last.complete
    h.client.stop()

    # A new start shows the history from disk before any network answer...
    fake.down = True
    h2 = make(fake, store=ChatStore(h.store.path))
    h2.client.start()
    initial = h2.events.wait(lambda: h2.events.of(HistoryLoaded))[0]
    assert initial.initial and initial.conversation_id == conv.id
    assert [m.seq for m in initial.messages] == list(range(71, 121))
    # ...and pages older history from disk without asking the service.
    h2.client.load_older(conv.id, 71)
    older = h2.events.wait(lambda: len(h2.events.of(HistoryLoaded)) == 2)
    older = h2.events.of(HistoryLoaded)[1]
    assert [m.seq for m in older.messages] == list(range(21, 71))
    assert h2.service.pages == []


def test_paging_offline_reports_failure(fake: FakeChat, make: Callable[..., Harness]) -> None:
    conv = fake.conv()
    for i in range(5):
        fake.add(conv.id, "agent", f"m{i}")
    h = make(fake)
    h.service.offline = True
    h.client.start()
    h.wait_state("online")
    h.client.load_older(conv.id, None)
    page = h.events.wait(lambda: [e for e in h.events.of(HistoryLoaded) if not e.initial])[0]
    assert page.failed and page.messages == ()


def test_unsent_messages_survive_a_restart(
    fake: FakeChat, make: Callable[..., Harness], tmp_path: Path
) -> None:
    fake.down = True
    h = make(fake)
    h.client.start()
    ids = [h.client.send(f"before restart {i}", None) for i in range(2)]
    h.events.wait(lambda: len(h.store.pending()) == 2)
    assert h.client.stop()
    h.store.close()

    fake.down = False
    h2 = make(fake, store=ChatStore(h.store.path))
    h2.client.start()
    initial = h2.events.wait(lambda: h2.events.of(HistoryLoaded))[0]
    assert [m.client_id for m in initial.messages] == ids
    h2.wait_sent(*ids)
    assert fake.texts(101) == ["before restart 0", "before restart 1"]


def test_bot_articles_and_html_are_kept_verbatim(
    fake: FakeChat, make: Callable[..., Harness]
) -> None:
    conv = fake.conv(status=ConversationStatus.bot)
    h = make(fake)
    h.client.start()
    h.wait_state("online")
    arts = [{"id": 4, "title": "Reset <i>it</i>", "snippet": "Open <script>"}]
    m = fake.add(conv.id, "bot", "<img src=x onerror=alert(1)>", articles=arts)
    fake.push(MessageEvent(**m.model_dump()))
    h.events.wait(lambda: h.store.count(conv.id) == 1)
    got = h.store.messages(conv.id)[0]
    assert got.text == "<img src=x onerror=alert(1)>"
    assert got.articles[0]["title"] == "Reset <i>it</i>" and got.sender_kind == "bot"


def test_unknown_and_malformed_frames_are_skipped(
    fake: FakeChat, make: Callable[..., Harness]
) -> None:
    conv = fake.conv()
    h = make(fake)
    h.client.start()
    h.wait_state("online")

    async def junk() -> None:
        for ws in list(fake.sockets):
            await ws.send('{"type": "from_the_future", "x": 1}')
            await ws.send('{"type": "message", "seq": "nonsense"}')
            await ws.send("not json")

    fake.run(junk())
    fake.agent_says(conv.id, "still fine")
    h.events.wait(lambda: h.store.count(conv.id) == 1)
    assert h.client.state == "online" and h.events.online_count() == 1


def test_stop_is_prompt_and_final(fake: FakeChat, make: Callable[..., Harness]) -> None:
    h = make(fake)
    h.client.start()
    h.wait_state("online")
    started = time.monotonic()
    assert h.client.stop(3)
    assert time.monotonic() - started < 2.5
    assert h.client.state == "stopped" and not h.client.running
    # Calls after stop are dropped, not raised.
    h.client.send("late", None)
    h.client.kick()
