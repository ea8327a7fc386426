"""The realtime hub: websocket connections and in-process pub/sub.

Each websocket is served by one task reading its frames in order (so one
sender's messages keep their order) and a small writer task draining its
outgoing queue, so a slow reader never holds up anybody else; one that
falls too far behind is closed (1013) and resumes from the database.

Events are addressed to parties, not sockets: a customer's or an agent's
connections (any number of windows), every agent, or the supervisors. Each
conversation's changes run under that conversation's asyncio lock, from
the database transaction (in a worker thread, never holding a session
across an await) to the publish, so live events leave in ``seq`` order.

A connection that resumes registers first and holds live events back
while the database replays what it missed; then it sends the replay and
the held events, dropping live copies of replayed messages: no gap, no
duplicate, in order.

Routing runs in one background task, woken whenever the queue or an
agent's presence may have changed and every couple of seconds (for agents
whose connection dropped and the queue's time limit). An agent holds at
most the smaller of the capacity they chose in the console and what the
team settings allow (``server.team.chat_capacity``: the supervisor's cap,
0 without ``chats.take`` or when disabled).

The team's lifecycle hooks (``server.team.on_agent_disabled``,
``on_agent_signed_out``) reach the hub of the service that made the change:
a disabled agent's connections close (4401) and their conversations go
back to the queue at once; a forced sign-out closes the connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi import WebSocket
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession
from starlette.concurrency import run_in_threadpool

from protocol import realtime as rt
from protocol.models import ErrorCode, Role
from server import models, permissions, team
from server.aio import KeyedLocks, in_session
from server.chat import bot, routing, store
from server.chat.store import Changed, Out, Refused, Who
from server.db import Database
from server.group_commit import GroupCommitWriter
from server.identity import IdentityRejected, lookup_session
from server.kb.search import SearchIndex

log = logging.getLogger(__name__)

T = TypeVar("T")

_PONG = rt.encode(rt.Pong())


class TokenBucket:
    """``rate`` events a second on average, ``burst`` at once."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.clock = clock
        self.last = clock()

    def take(self) -> bool:
        t = self.clock()
        self.tokens = min(self.burst, self.tokens + (t - self.last) * self.rate)
        self.last = t
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


@dataclass(frozen=True)
class _Close:
    code: int
    reason: str


class _Refuse(Exception):
    """Close the connection with this code."""

    def __init__(self, code: rt.CloseCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _reason(text: str) -> str:
    """Close reasons are limited to 123 bytes."""
    data = text.encode()[:123]
    return data.decode(errors="ignore")


class Connection:
    """One signed-in websocket."""

    def __init__(self, ws: WebSocket, who: Who, expires_at: datetime, bucket: TokenBucket) -> None:
        self.ws = ws
        self.who = who
        self.expires_at = expires_at.timestamp()
        self.bucket = bucket
        self.queue: asyncio.Queue[str | _Close] = asyncio.Queue()
        self.replaying = True
        self.pending: list[Out] = []
        self.closing = False

    def send(self, frame: str) -> None:
        if not self.closing:
            self.queue.put_nowait(frame)

    def deliver(self, out: Out, max_queue: int) -> None:
        if self.closing:
            return
        if self.replaying:
            self.pending.append(out)
        elif self.queue.qsize() >= max_queue:
            self.close(rt.CloseCode.overloaded, "too far behind; reconnect and resume")
        else:
            self.queue.put_nowait(out.frame)

    def finish_replay(self, frames: Iterable[str], upto: dict[int, int]) -> None:
        """Send the replay, then the live events held meanwhile, without
        those the replay already had."""
        for frame in frames:
            self.send(frame)
        held, self.pending = self.pending, []
        self.replaying = False
        for out in held:
            replayed = upto.get(out.conversation_id or 0)
            if out.seq is not None and replayed is not None and out.seq <= replayed:
                continue
            self.send(out.frame)

    def close(self, code: int, reason: str) -> None:
        """Close soon: what is queued is dropped, the close frame goes next."""
        if self.closing:
            return
        self.closing = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(_Close(code, _reason(reason)))

    def stop(self) -> None:
        """The reader is done: let the writer finish."""
        if not self.closing:
            self.closing = True
            self.queue.put_nowait(_Close(0, ""))

    async def write_loop(self) -> None:
        try:
            while True:
                item = await self.queue.get()
                if isinstance(item, _Close):
                    if item.code:
                        await self.ws.close(item.code, item.reason)
                    return
                await self.ws.send_text(item)
        except Exception:  # the peer is gone; the reader sees it too
            self.closing = True


@dataclass
class _AgentState:
    row: store.PresenceRow
    connections: int = 0
    disconnected_at: float | None = None
    last_assigned: float = 0.0
    announced: tuple[rt.PresenceStatus, int, int] | None = None
    status: rt.PresenceStatus = field(init=False)
    capacity: int = field(init=False)
    products: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.status = self.row.status
        self.capacity = self.row.capacity
        self.products = self.row.products
        self.last_assigned = self.row.last_assigned


class Hub:
    """Connections, pub/sub, the bot and routing for one service process."""

    def __init__(self, db: Database, search: SearchIndex, *, max_ticket_bytes: int) -> None:
        self.db = db
        self.search = search
        self.max_ticket_bytes = max_ticket_bytes
        # Tunables (tests shorten them).
        self.hello_timeout = rt.HELLO_TIMEOUT_S
        self.idle_timeout = rt.IDLE_TIMEOUT_S
        self.rate = rt.RATE_PER_SECOND
        self.burst = rt.RATE_BURST
        self.max_queue = 5_000
        """Frames a connection may have waiting before it is closed (1013)."""
        self.offline_grace = 10.0
        """An agent whose last connection dropped still counts as online this long."""
        self.requeue_after = 120.0
        """Their open conversations go back to the queue after this."""
        self.queue_timeout = 600.0
        """A conversation queued this long (everyone busy) becomes a ticket."""
        self.sweep_interval = 2.0
        self._customers: dict[int, set[Connection]] = {}
        self._agents: dict[int, set[Connection]] = {}
        self._locks = KeyedLocks()
        self._participants: dict[int, store.Participants] = {}
        self._presence: dict[int, _AgentState] = {}
        self._kick: asyncio.Event | None = None
        self._router: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._writer = GroupCommitWriter(db, name="chat-writer", refusals=(Refused,))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._caps: dict[int, int] = {}
        """What the team settings allow each agent (see :func:`chat_caps`),
        as of the last routing pass."""

    # --- life cycle -------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        _install_team_hooks()
        self._writer.start()
        self._kick = asyncio.Event()
        rows = await self._read(store.presence_rows)
        self._presence = {aid: _AgentState(row) for aid, row in rows.items()}
        self._router = asyncio.create_task(self._router_loop(), name="chat-router")

    async def stop(self) -> None:
        self._stopping = True
        if self._router is not None:
            self._router.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._router
        for conn in self._all_connections():
            conn.close(rt.CloseCode.going_away, "the service is going away")
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        await asyncio.to_thread(self._writer.stop)

    def kick(self) -> None:
        """Ask the router to look at the queue."""
        if self._kick is not None:
            self._kick.set()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- database helpers ------------------------------------------------------------

    async def _write(self, work: Callable[[DbSession], T], *, batch: bool = False) -> T:
        """``work`` in a short transaction on the writer thread (retried once
        when a concurrent duplicate won a unique constraint); ``batch``: it
        may share a transaction with others (see ``server.group_commit``)."""
        return await self._writer.run(work, batch=batch)

    async def _read(self, work: Callable[[DbSession], T]) -> T:
        return await in_session(self.db, work, write=False)

    def _conversation(self, conversation_id: int) -> contextlib.AbstractAsyncContextManager[None]:
        return self._locks.hold(conversation_id)

    async def _change(
        self, conversation_id: int, work: Callable[[DbSession], Changed | None]
    ) -> Changed | None:
        async with self._conversation(conversation_id):
            changed = await self._write(work)
            if changed is not None:
                self._apply(conversation_id, changed)
        if changed is not None and changed.route:
            self.kick()
        return changed

    def _apply(self, conversation_id: int, changed: Changed) -> None:
        if changed.participants is not None:
            self._remember(conversation_id, changed.participants)
        self.publish(changed.outs)

    def _remember(self, conversation_id: int, p: store.Participants) -> None:
        if len(self._participants) > 50_000:
            self._participants.clear()
        self._participants[conversation_id] = p

    # --- pub/sub ---------------------------------------------------------------------------

    def _all_connections(self) -> list[Connection]:
        conns = [c for s in self._customers.values() for c in s]
        return conns + [c for s in self._agents.values() for c in s]

    def _targets(self, target: store.Target) -> Iterable[Connection]:
        if target.kind == "customer":
            return self._customers.get(target.id, ())
        if target.kind == "agent":
            return self._agents.get(target.id, ())
        if target.kind == "agents":
            return [c for aid, s in self._agents.items() if aid != target.exclude for c in s]
        return [c for s in self._agents.values() for c in s if c.who.is_supervisor]

    def publish(self, outs: Iterable[Out]) -> None:
        for out in outs:
            for conn in list(self._targets(out.to)):
                conn.deliver(out, self.max_queue)

    def _register(self, conn: Connection) -> None:
        book = self._customers if conn.who.kind == "customer" else self._agents
        book.setdefault(conn.who.id, set()).add(conn)

    def _unregister(self, conn: Connection) -> None:
        book = self._customers if conn.who.kind == "customer" else self._agents
        conns = book.get(conn.who.id)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del book[conn.who.id]

    @property
    def connection_count(self) -> int:
        return sum(len(s) for s in self._customers.values()) + sum(
            len(s) for s in self._agents.values()
        )

    # --- one websocket ----------------------------------------------------------------------

    async def serve(self, ws: WebSocket) -> None:
        await ws.accept()
        try:
            signed_in = await self._hello(ws)
        except _Refuse as refused:
            with contextlib.suppress(Exception):
                await ws.close(refused.code, _reason(refused.reason))
            return
        if signed_in is None:
            return
        who, expires_at, resume = signed_in
        conn = Connection(ws, who, expires_at, TokenBucket(self.rate, self.burst))
        writer = asyncio.create_task(conn.write_loop())
        self._register(conn)
        counted = False
        try:
            if self._stopping:
                conn.close(rt.CloseCode.going_away, "the service is going away")
            else:
                welcome, replayed, errors, upto = await self._read(
                    lambda s: self._welcome(s, who, resume)
                )
                conn.send(welcome)
                conn.finish_replay([*errors, *(o.frame for o in replayed)], upto)
                if who.kind == "agent":
                    counted = await self._agent_connected(who)
                await self._read_loop(conn)
        except Exception:
            log.exception("realtime connection failed")
            conn.close(rt.CloseCode.internal_error, "internal error; the service logged it")
        finally:
            self._unregister(conn)
            if counted:
                self._agent_disconnected(who)
            conn.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer, timeout=5)

    async def _hello(self, ws: WebSocket) -> tuple[Who, datetime, list[rt.ResumePoint]] | None:
        try:
            msg = await asyncio.wait_for(ws.receive(), self.hello_timeout)
        except TimeoutError as exc:
            raise _Refuse(
                rt.CloseCode.timeout, f"say hello within {self.hello_timeout:g} s"
            ) from exc
        if msg["type"] == "websocket.disconnect":
            return None
        event = self._parse(msg)
        if not isinstance(event, rt.Hello):
            raise _Refuse(rt.CloseCode.malformed, "the first frame must be hello")
        if event.protocol != rt.PROTOCOL_VERSION:
            raise _Refuse(
                rt.CloseCode.unsupported_protocol,
                f"protocol {event.protocol} is not spoken here; use {rt.PROTOCOL_VERSION}",
            )
        found = await run_in_threadpool(self._authenticate, event.token)
        if isinstance(found, str):
            raise _Refuse(rt.CloseCode.unauthorized, found)
        return found[0], found[1], list(event.resume)

    @staticmethod
    def _parse(msg: Mapping[str, Any]) -> rt.ClientEvent:
        frame = msg.get("text")
        if frame is None:
            frame = msg.get("bytes") or b""
        try:
            return rt.parse_client_frame(frame)
        except rt.FrameError as exc:
            raise _Refuse(exc.close_code, exc.message) from exc

    def _authenticate(self, token: str) -> tuple[Who, datetime] | str:
        with self.db.session(serialize=False) as s:
            try:
                row = lookup_session(s, token)
            except IdentityRejected as exc:
                return exc.message
            if row.subject_type == "customer":
                c = s.get(models.Customer, row.subject_id)
                if c is None:
                    return "the customer no longer exists"
                return Who("customer", c.id, c.name or c.external_id), row.expires_at
            a = s.get(models.Agent, row.subject_id)
            if a is None or not a.active:
                return "the agent account is disabled"
            others = permissions.access_for(s, a).reads_others_chats
            return Who("agent", a.id, a.name, Role(a.role), others), row.expires_at

    def _welcome(
        self, s: DbSession, who: Who, resume: list[rt.ResumePoint]
    ) -> tuple[str, list[Out], list[str], dict[int, int]]:
        conversations = store.welcome_conversations(s, who)
        replayed, errors, upto = store.replay(s, who, resume)
        welcome = rt.Welcome(
            you=rt.You(kind=who.kind, id=who.id, name=who.name, role=who.role),
            server_time=datetime.now(UTC),
            conversations=conversations,
        )
        return rt.encode(welcome), replayed, errors, upto

    async def _read_loop(self, conn: Connection) -> None:
        ws = conn.ws
        while not conn.closing:
            left = conn.expires_at - time.time()
            if left <= 0:
                conn.close(rt.CloseCode.unauthorized, "the access token expired; refresh it")
                return
            try:
                msg = await asyncio.wait_for(ws.receive(), min(self.idle_timeout, left))
            except TimeoutError:
                if conn.expires_at - time.time() > 0:
                    conn.close(rt.CloseCode.timeout, f"nothing heard for {self.idle_timeout:g} s")
                continue
            if msg["type"] == "websocket.disconnect":
                return
            if not conn.bucket.take():
                conn.close(rt.CloseCode.rate_limited, "too many events; slow down")
                return
            try:
                event = self._parse(msg)
            except _Refuse as refused:
                conn.close(refused.code, refused.reason)
                return
            try:
                await self._dispatch(conn, event)
            except _Refuse as refused:
                conn.close(refused.code, refused.reason)
                return
            except Refused as exc:
                conn.send(
                    rt.encode(
                        rt.ErrorEvent(
                            code=exc.code,
                            message=exc.message,
                            client_id=getattr(event, "client_id", None),
                            conversation_id=getattr(event, "conversation_id", None),
                        )
                    )
                )

    # --- events ------------------------------------------------------------------------------

    async def _dispatch(self, conn: Connection, event: rt.ClientEvent) -> None:
        who = conn.who
        if event.type in rt.AGENT_ONLY and who.kind != "agent":
            raise Refused(ErrorCode.forbidden, f"{event.type} is for agents")
        match event:
            case rt.Ping():
                conn.send(_PONG)
            case rt.Send():
                await self._send(conn, event)
            case rt.Typing():
                await self._typing(who, event)
            case rt.Read(conversation_id=cid, seq=seq):
                await self._change(cid, lambda s: store.mark_read(s, who, cid, seq))
            case rt.Handoff(conversation_id=cid):
                await self._change(cid, lambda s: store.handoff(s, who, cid))
            case rt.BotFeedback():
                fb = event
                await self._change(fb.conversation_id, lambda s: store.bot_feedback(s, who, fb))
            case rt.SetPresence():
                await self._set_presence(who, event)
            case rt.Accept(conversation_id=cid):
                if await self._team_cap(who.id) <= 0:
                    raise Refused(
                        ErrorCode.forbidden, "you take no chats (chats.take or your chat cap)"
                    )
                await self._change(cid, lambda s: store.accept(s, who, cid))
            case rt.Transfer(conversation_id=cid, agent_id=target):
                if self._effective(target) != rt.PresenceStatus.online:
                    raise Refused(ErrorCode.conflict, f"agent {target} is not online")
                if await self._team_cap(target) <= 0:
                    raise Refused(ErrorCode.conflict, f"agent {target} takes no chats")
                await self._change(cid, lambda s: store.transfer(s, who, cid, target))
            case rt.Close(conversation_id=cid):
                await self._change(cid, lambda s: store.close(s, who, cid))
            case rt.ToTicket(conversation_id=cid):
                limit = self.max_ticket_bytes
                await self._change(cid, lambda s: store.to_ticket(s, who, cid, limit))
            case rt.Hello():
                raise _Refuse(rt.CloseCode.malformed, "hello was said already")

    async def post(self, who: Who, event: rt.Send) -> store.Sent:
        """Store a message (or an agent's internal note) as ``who`` and
        publish it, as if sent over their websocket; raises
        :class:`store.Refused` as that would. Other services post through
        this (the remote-assist note, for one)."""
        cid = event.conversation_id
        if cid is None:
            # A new conversation: nobody else can address it before this publish.
            sent = await self._write(lambda s: store.send(s, who, event), batch=True)
            self._publish_sent(sent)
        else:
            async with self._conversation(cid):
                sent = await self._write(lambda s: store.send(s, who, event), batch=True)
                self._publish_sent(sent)
        return sent

    async def _send(self, conn: Connection, event: rt.Send) -> None:
        sent = await self.post(conn.who, event)
        conn.send(rt.encode(sent.ack))
        if sent.bot_turn is not None:
            self._spawn(self._bot(sent.bot_turn))

    def _publish_sent(self, sent: store.Sent) -> None:
        if sent.participants is not None:
            self._remember(sent.ack.conversation_id, sent.participants)
        self.publish(sent.outs)

    async def _bot(self, turn: store.BotTurn) -> None:
        try:
            articles = await run_in_threadpool(
                bot.suggest, self.search, turn.text, turn.locale, turn.product
            )
        except Exception:
            log.exception("knowledge search failed for the chat bot")
            articles = []
        try:
            await self._change(turn.conversation_id, lambda s: store.bot_answer(s, turn, articles))
        except Exception:
            log.exception("the chat bot could not answer")

    async def _typing(self, who: Who, event: rt.Typing) -> None:
        cid = event.conversation_id
        p = self._participants.get(cid)
        if p is None:

            def look(s: DbSession) -> store.Participants:
                return store.participants(store.conversation_for(s, who, cid))

            p = await self._read(look)
            self._remember(cid, p)
        frame = rt.encode(rt.TypingEvent(conversation_id=cid, who=who.party(), typing=event.typing))
        if who.kind == "customer":
            if p.customer_id != who.id:
                raise Refused(ErrorCode.not_found, f"no conversation {cid}")
            if p.assignee_id is not None:
                self.publish([Out(store.Target("agent", p.assignee_id), frame)])
        elif p.assignee_id != who.id:
            raise Refused(ErrorCode.forbidden, "accept the conversation first")
        else:
            self.publish([Out(store.Target("customer", p.customer_id), frame)])

    # --- presence and routing -------------------------------------------------------------

    def _effective(self, agent_id: int) -> rt.PresenceStatus:
        st = self._presence.get(agent_id)
        if st is None:
            return rt.PresenceStatus.offline
        connected = st.connections > 0 or (
            st.disconnected_at is not None
            and time.monotonic() - st.disconnected_at < self.offline_grace
        )
        return st.status if connected else rt.PresenceStatus.offline

    async def _agent_state(self, agent_id: int) -> _AgentState | None:
        st = self._presence.get(agent_id)
        if st is None:
            rows = await self._read(store.presence_rows)
            for aid, row in rows.items():
                self._presence.setdefault(aid, _AgentState(row))
            st = self._presence.get(agent_id)
        return st

    async def _agent_connected(self, who: Who) -> bool:
        st = await self._agent_state(who.id)
        if st is None:
            return False
        await self._write(lambda s: store.save_presence(s, who.id, None))
        st.connections += 1
        st.disconnected_at = None
        self.kick()
        return True

    def _agent_disconnected(self, who: Who) -> None:
        st = self._presence.get(who.id)
        if st is None:
            return
        st.connections = max(0, st.connections - 1)
        if st.connections == 0:
            st.disconnected_at = time.monotonic()
        self.kick()

    async def _set_presence(self, who: Who, event: rt.SetPresence) -> None:
        await self._write(lambda s: store.save_presence(s, who.id, event))
        st = await self._agent_state(who.id)
        if st is not None:
            st.status = event.status
            st.capacity = event.capacity
            st.products = tuple(event.products)
        self.kick()

    def presence_list(self, loads: dict[int, int]) -> list[rt.AgentPresence]:
        return [
            rt.AgentPresence(
                agent_id=aid,
                name=st.row.name,
                status=self._effective(aid),
                load=loads.get(aid, 0),
                capacity=self._capacity(aid, st.capacity),
                products=list(st.products),
                last_seen=st.row.last_seen,
            )
            for aid, st in sorted(self._presence.items())
        ]

    async def _team_cap(self, agent_id: int) -> int:
        limits = await self._read(lambda s: team_limits(s, [agent_id]))
        return limits.caps.get(agent_id, 0)

    # --- the team's lifecycle ---------------------------------------------------------------

    def agent_ended(self, agent_id: int, *, disabled: bool, timeout: float = 10.0) -> None:
        """End an agent's realtime connections now and, when the account was
        disabled, take them off the board and give their conversations back
        to the queue. Called from the team hooks (a worker thread, which may
        hold the database's write turn): returns once the connections are
        closing; the conversations move right after, in a task of the hub."""
        loop = self._loop
        if loop is None or loop.is_closed() or self._stopping:
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._end_agent(agent_id, disabled=disabled)
            return

        async def end() -> None:
            self._end_agent(agent_id, disabled=disabled)

        asyncio.run_coroutine_threadsafe(end(), loop).result(timeout)

    def _end_agent(self, agent_id: int, *, disabled: bool) -> None:
        reason = "the agent account is disabled" if disabled else "signed out by a supervisor"
        for conn in list(self._agents.get(agent_id, ())):
            conn.close(rt.CloseCode.unauthorized, reason)
        if not disabled:
            return
        self._caps[agent_id] = 0
        st = self._presence.pop(agent_id, None)
        if st is not None and st.announced is not None and st.announced[0] != "offline":
            event = rt.PresenceEvent(
                agent_id=agent_id, name=st.row.name, status="offline", load=0, capacity=0
            )
            self.publish([Out(store.Target("agents"), rt.encode(event))])
        self._spawn(self._requeue_agent(agent_id))

    async def _requeue_agent(self, agent_id: int) -> None:
        try:
            pairs = await self._read(lambda s: store.assigned_to(s, [agent_id]))
            for cid, aid in pairs:
                await self._change(cid, functools.partial(_requeue, cid=cid, agent_id=aid))
        except Exception:
            log.exception("could not requeue the chats of agent %d", agent_id)
        self.kick()

    async def _router_loop(self) -> None:
        assert self._kick is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), self.sweep_interval)
            self._kick.clear()
            try:
                await self._route_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("chat routing pass failed")

    def _capacity(self, agent_id: int, chosen: int) -> int:
        """The smaller of what the agent chose and what the team allows."""
        return min(chosen, self._caps.get(agent_id, chosen))

    async def _route_once(self) -> None:
        ids = set(self._presence) | set(self._agents)

        def look(s: DbSession) -> tuple[dict[int, int], list[store.Waiting], TeamLimits]:
            return store.agent_loads(s), store.waiting(s), team_limits(s, ids)

        loads, queue, limits = await self._read(look)
        self._caps = limits.caps
        # Disabled elsewhere (the command line): as if the hook had run here.
        for aid in limits.disabled:
            if aid in self._presence or aid in self._agents:
                self._end_agent(aid, disabled=True)
        slots = {}
        for aid, st in self._presence.items():
            capacity = self._capacity(aid, st.capacity)
            if self._effective(aid) != rt.PresenceStatus.online or capacity <= 0:
                continue
            slots[aid] = routing.AgentSlot(
                aid, loads.get(aid, 0), capacity, st.products, st.last_assigned
            )
        queue.sort(key=lambda w: routing.queue_key(w.tier, w.queued_at, w.conversation_id))
        for w in queue:
            await self._route(w, slots, loads)
        await self._requeue_departed()
        self._announce(loads)

    async def _route(
        self,
        w: store.Waiting,
        slots: dict[int, routing.AgentSlot],
        loads: dict[int, int],
    ) -> None:
        cid = w.conversation_id
        limit = self.max_ticket_bytes
        if not routing.eligible(slots.values(), w.product):
            # Nobody to talk to: leave a message instead.
            await self._change(cid, lambda s: self._auto_ticket(s, cid, limit))
            return
        pick = routing.pick_agent(slots.values(), w.product)
        if pick is None:
            waited = time.time() - w.queued_at.timestamp() if w.queued_at is not None else 0.0
            if waited > self.queue_timeout:
                await self._change(cid, lambda s: self._auto_ticket(s, cid, limit))
            return
        queued = (rt.ConversationStatus.queued,)
        aid = pick.agent_id
        changed = await self._change(cid, lambda s: store.assign(s, cid, aid, expect=queued))
        if changed is not None:
            stamp = time.time()
            slots[aid] = routing.AgentSlot(aid, pick.load + 1, pick.capacity, pick.products, stamp)
            loads[aid] = pick.load + 1
            st = self._presence.get(aid)
            if st is not None:
                st.last_assigned = stamp

    @staticmethod
    def _auto_ticket(s: DbSession, cid: int, limit: int) -> Changed | None:
        conv = s.get(models.Conversation, cid)
        if conv is None or conv.status != rt.ConversationStatus.queued:
            return None
        return store.to_ticket(s, None, cid, limit, automatic=True)

    async def _requeue_departed(self) -> None:
        now = time.monotonic()
        gone = [
            aid
            for aid, st in self._presence.items()
            if st.connections == 0
            and st.disconnected_at is not None
            and now - st.disconnected_at > self.requeue_after
        ]
        if not gone:
            return
        pairs = await self._read(lambda s: store.assigned_to(s, gone))
        for cid, aid in pairs:
            await self._change(cid, functools.partial(_requeue, cid=cid, agent_id=aid))

    def _announce(self, loads: dict[int, int]) -> None:
        """Presence events for agents whose status, load or capacity changed."""
        outs = []
        for aid, st in self._presence.items():
            now = (self._effective(aid), loads.get(aid, 0), self._capacity(aid, st.capacity))
            if now == st.announced or (st.announced is None and now[0] == "offline"):
                st.announced = now
                continue
            st.announced = now
            event = rt.PresenceEvent(
                agent_id=aid, name=st.row.name, status=now[0], load=now[1], capacity=now[2]
            )
            outs.append(Out(store.Target("agents"), rt.encode(event)))
        self.publish(outs)


def _requeue(s: DbSession, *, cid: int, agent_id: int) -> Changed | None:
    return store.requeue(s, cid, agent_id)


@dataclass(frozen=True)
class TeamLimits:
    caps: dict[int, int]
    """Conversations each agent may hold at once by the team settings."""
    disabled: set[int]


def team_limits(db: DbSession, agent_ids: Iterable[int]) -> TeamLimits:
    """:func:`server.team.chat_capacity` for many agents in three queries:
    0 when disabled or without ``chats.take``, else the supervisor's cap
    (default ``team.DEFAULT_MAX_CHATS``)."""
    ids = sorted(set(agent_ids))
    if not ids:
        return TeamLimits({}, set())
    A, G, L = models.Agent, models.AgentGrant, models.AgentLimits
    grants: dict[int, list[tuple[str, bool]]] = {}
    rows = db.execute(
        select(G.agent_id, G.permission, G.allowed).where(
            G.agent_id.in_(ids), G.permission == "chats.take"
        )
    )
    for aid, name, allowed in rows:
        grants.setdefault(aid, []).append((name, allowed))
    limits = {
        aid: cap
        for aid, cap in db.execute(select(L.agent_id, L.max_chats).where(L.agent_id.in_(ids)))
    }
    caps: dict[int, int] = {}
    disabled: set[int] = set()
    for aid, role, active in db.execute(select(A.id, A.role, A.active).where(A.id.in_(ids))):
        if not active:
            disabled.add(aid)
            caps[aid] = 0
        elif "chats.take" not in permissions.effective(Role(role), grants.get(aid, [])):
            caps[aid] = 0
        else:
            cap = limits.get(aid)
            caps[aid] = team.DEFAULT_MAX_CHATS if cap is None else cap
    return TeamLimits(caps, disabled)


def _hub_for(event: team.AgentEvent) -> Hub | None:
    hub = getattr(event.state, "chat", None)
    return hub if isinstance(hub, Hub) else None


def _on_agent_disabled(event: team.AgentEvent) -> None:
    hub = _hub_for(event)
    if hub is not None:
        hub.agent_ended(event.agent_id, disabled=True)


def _on_agent_signed_out(event: team.AgentEvent) -> None:
    hub = _hub_for(event)
    if hub is not None:
        hub.agent_ended(event.agent_id, disabled=False)


def _install_team_hooks() -> None:
    """Once per process: the hooks find the hub through the app's state."""
    if _on_agent_disabled not in team.on_agent_disabled:
        team.on_agent_disabled.append(_on_agent_disabled)
    if _on_agent_signed_out not in team.on_agent_signed_out:
        team.on_agent_signed_out.append(_on_agent_signed_out)
