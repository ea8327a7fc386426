"""Remote assist: sessions, consent, one-time codes, and the relay's upkeep.

Every change of a session runs under that session's asyncio lock, from the
database transaction (in a worker thread) to the ``assist`` event published
to both parties (``protocol.realtime.AssistEvent`` through the chat hub), so
events leave in the order the changes were made.

Ending a session (either party, the agent being disabled, the idle timeout,
a side gone longer than the reconnect grace) first stops its relay pair
(both sockets closed with :attr:`StreamClose.not_active`, no byte relayed
after), then writes the final row with the relay's byte counts and the
``assist.session`` audit record in one transaction.

A background sweeper expires unanswered requests, ends idle sessions and
sessions whose side stayed away, and notices sessions ended outside this
process (``helpbridge-server agent disable``), closing their sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket

from protocol import assist as wire
from protocol import realtime as rt
from protocol import tickets as ticket_wire
from protocol.assist import AssistMode, AssistStatus, EndReason, StreamClose
from protocol.models import ErrorCode, Role
from server import audit, models, permissions, team, tickets
from server.aio import KeyedLocks, in_session
from server.assist import codes
from server.assist.relay import ByteBucket, Leg, Pair, Side, run_leg
from server.chat import store
from server.chat.hub import Hub
from server.config import Settings
from server.db import Database
from server.errors import ApiProblem
from server.identity import IdentityRejected, lookup_session

log = logging.getLogger(__name__)

T = TypeVar("T")

S = models.AssistSession
OPEN = (AssistStatus.requested.value, AssistStatus.active.value, AssistStatus.paused.value)
LIVE = (AssistStatus.active.value, AssistStatus.paused.value)

BURST_SECONDS = 0.25
"""The bandwidth bucket holds this many seconds' worth of bytes."""


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Caller:
    """Who calls: a customer or an agent, with what the audit log names them."""

    kind: Literal["customer", "agent"]
    id: int
    name: str
    access: permissions.Access | None = None
    source: str = ""

    def audit(self, db: DbSession, action: str, target: str, **kw: Any) -> None:
        audit.record(
            db,
            action,
            actor_type=self.kind,
            actor_id=self.id,
            actor_name=self.name,
            target=target,
            source=self.source,
            **kw,
        )


def _not_found(session_id: int) -> ApiProblem:
    return ApiProblem(404, ErrorCode.not_found, f"no remote-assist session {session_id}")


def _conflict(message: str) -> ApiProblem:
    return ApiProblem(409, ErrorCode.conflict, message)


def _target(row: models.AssistSession) -> str:
    return f"assist session {row.id}"


def _iso(at: datetime | None) -> str:
    return at.isoformat() if at is not None else ""


class AssistService:
    """Remote assist for one service process (the relay needs both sockets
    of a session in the same process, like the chat hub)."""

    def __init__(self, settings: Settings, db: Database, hub: Hub) -> None:
        self.db = db
        self.hub = hub
        self.company = settings.company
        self.max_ticket_bytes = settings.max_ticket_bytes
        # Tunables (tests shorten them).
        self.max_kbps = settings.assist_max_kbps
        self.idle_timeout = settings.assist_idle_timeout_s
        self.grace = settings.assist_reconnect_grace_s
        self.expire_after = settings.assist_expire_after_s
        self.code_ttl = wire.CODE_TTL_S
        self.sweep_interval = 0.5
        self.reconcile_interval = 3.0
        self._code_key = codes.load_key(settings.data_dir)
        self.pairs: dict[int, Pair] = {}
        self._locks = KeyedLocks()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._last_reconcile = 0.0

    # --- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        _install_hooks()
        live = await self._read(
            lambda s: [
                (sid, aid, cid)
                for sid, aid, cid in s.execute(
                    select(S.id, S.agent_id, S.customer_id).where(S.status.in_(LIVE))
                )
            ]
        )
        # Sessions live before a restart: both sides get the grace to come back.
        for sid, aid, cid in live:
            self._open_pair(sid, aid, cid)
        self._sweeper = asyncio.create_task(self._sweep_loop(), name="assist-sweeper")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        counts = {}
        for sid, pair in list(self.pairs.items()):
            pair.stop(1001, "the service is going away")
            counts[sid] = (pair.to_agent, pair.to_customer)
        self.pairs.clear()
        for task in list(self._tasks):
            task.cancel()
        if counts:
            with contextlib.suppress(Exception):
                await self._tx(lambda s: _add_counts(s, counts))
        self._loop = None

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- database helpers ------------------------------------------------------------------

    async def _tx(self, work: Callable[[DbSession], T]) -> T:
        return await in_session(self.db, work, write=True)

    async def _read(self, work: Callable[[DbSession], T]) -> T:
        return await in_session(self.db, work, write=False)

    def _locked(self, session_id: int) -> contextlib.AbstractAsyncContextManager[None]:
        return self._locks.hold(session_id)

    def _row_for(
        self, db: DbSession, caller: Caller, session_id: int, side: Side | None
    ) -> models.AssistSession:
        """The session if ``caller`` is a party (404 for anyone else: whether
        it exists is not told); 403 for the party on the wrong side."""
        row = db.get(S, session_id)
        mine = row is not None and (
            (caller.kind == "agent" and row.agent_id == caller.id)
            or (caller.kind == "customer" and row.customer_id == caller.id)
        )
        if row is None or not mine:
            raise _not_found(session_id)
        if side is not None and caller.kind != side:
            raise ApiProblem(403, ErrorCode.forbidden, f"this is the {side}'s to do")
        return row

    def _render(self, db: DbSession, row: models.AssistSession) -> wire.AssistSession:
        agent = db.get(models.Agent, row.agent_id)
        customer = db.get(models.Customer, row.customer_id)
        return wire.AssistSession(
            id=row.id,
            status=AssistStatus(row.status),
            mode=AssistMode(row.mode),
            requested_mode=AssistMode(row.requested_mode),
            control_requested=row.control_requested,
            clipboard=row.clipboard,
            agent=wire.AssistParty(
                id=row.agent_id, name=agent.name if agent else "", company=self.company
            ),
            customer=wire.AssistParty(
                id=row.customer_id,
                name=(customer.name or customer.external_id) if customer else "",
                company=(customer.company or "") if customer else "",
            ),
            conversation_id=row.conversation_id,
            ticket_id=row.ticket_id,
            created_at=row.created_at,
            consent_deadline=row.consent_deadline,
            started_at=row.started_at,
            ended_at=row.ended_at,
            end_reason=EndReason(row.end_reason) if row.end_reason else None,
            bytes_to_agent=row.bytes_to_agent,
            bytes_to_customer=row.bytes_to_customer,
        )

    def _overlay(self, session: wire.AssistSession) -> wire.AssistSession:
        """The relay's live figures (on the event loop)."""
        pair = self.pairs.get(session.id)
        if pair is None or session.status.final:
            return session
        return session.model_copy(
            update={
                "bytes_to_agent": session.bytes_to_agent + pair.to_agent,
                "bytes_to_customer": session.bytes_to_customer + pair.to_customer,
                "agent_connected": pair.connected("agent"),
                "customer_connected": pair.connected("customer"),
            }
        )

    def _publish(self, session: wire.AssistSession) -> wire.AssistSession:
        session = self._overlay(session)
        frame = rt.encode(rt.AssistEvent(session=session))
        self.hub.publish(
            [
                store.Out(store.Target("customer", session.customer.id), frame),
                store.Out(store.Target("agent", session.agent.id), frame),
            ]
        )
        return session

    async def _change(
        self,
        session_id: int,
        caller: Caller | None,
        side: Side | None,
        work: Callable[[DbSession, models.AssistSession], None],
    ) -> wire.AssistSession:
        """``work`` on the session's row, then the event to both parties and
        the relay's part (a session that became live gets its pair)."""
        async with self._locked(session_id):

            def tx(db: DbSession) -> wire.AssistSession:
                if caller is None:
                    row = db.get(S, session_id)
                    if row is None:
                        raise _not_found(session_id)
                else:
                    row = self._row_for(db, caller, session_id, side)
                work(db, row)
                db.flush()
                return self._render(db, row)

            session = await self._tx(tx)
            if session.status.live and session.id not in self.pairs:
                self._open_pair(session.id, session.agent.id, session.customer.id)
            return self._publish(session)

    # --- creating sessions -----------------------------------------------------------------

    def _create(
        self,
        db: DbSession,
        caller: Caller,
        customer_id: int,
        mode: AssistMode,
        *,
        via: str,
        conversation_id: int | None = None,
        ticket_id: int | None = None,
    ) -> wire.AssistSession:
        if db.scalar(select(S.id).where(S.open_customer_id == customer_id)) is not None:
            raise _conflict("the customer has a remote-assist session already")
        at = now()
        row = S(
            status=AssistStatus.requested.value,
            mode=AssistMode.view.value,
            requested_mode=mode.value,
            max_mode=AssistMode.view.value,
            control_requested=False,
            clipboard=False,
            agent_id=caller.id,
            customer_id=customer_id,
            open_customer_id=customer_id,
            conversation_id=conversation_id,
            ticket_id=ticket_id,
            via=via,
            created_at=at,
            consent_deadline=at + timedelta(seconds=min(wire.CONSENT_TIMEOUT_S, self.expire_after)),
            expires_at=at + timedelta(seconds=self.expire_after),
        )
        db.add(row)
        db.flush()  # IntegrityError when a concurrent request won: see _create_tx
        caller.audit(
            db,
            "assist.requested",
            _target(row),
            customer=customer_id,
            mode=mode.value,
            via=via,
            conversation=conversation_id or "",
            ticket=ticket_id or "",
        )
        return self._render(db, row)

    async def request(self, caller: Caller, body: wire.AssistRequest) -> wire.AssistSession:
        if (body.conversation_id is None) == (body.ticket_id is None):
            raise ApiProblem(
                422, ErrorCode.invalid_request, "give exactly one of conversation_id and ticket_id"
            )
        assert caller.access is not None

        def tx(db: DbSession) -> wire.AssistSession:
            if body.conversation_id is not None:
                assert caller.access is not None
                who = store.Who(
                    "agent",
                    caller.id,
                    caller.name,
                    caller.access.role,
                    caller.access.reads_others_chats,
                )
                try:
                    conv = store.conversation_for(db, who, body.conversation_id)
                except store.Refused as exc:
                    raise ApiProblem(404, exc.code, exc.message) from exc
                return self._create(
                    db,
                    caller,
                    conv.customer_id,
                    body.mode,
                    via="request",
                    conversation_id=conv.id,
                )
            assert body.ticket_id is not None and caller.access is not None
            ticket = permissions.require_ticket(db, caller.access, body.ticket_id)
            return self._create(
                db, caller, ticket.requester_id, body.mode, via="request", ticket_id=ticket.id
            )

        return self._publish(await self._create_tx(tx))

    async def _create_tx(self, work: Callable[[DbSession], T]) -> T:
        try:
            return await self._tx(work)
        except IntegrityError as exc:  # the customer's open session, made meanwhile
            raise _conflict("the customer has a remote-assist session already") from exc

    async def make_code(self, caller: Caller) -> wire.AssistCode:
        key = self._code_key
        ttl = self.code_ttl

        def tx(db: DbSession) -> wire.AssistCode:
            at = now()
            C = models.AssistCode
            for _ in range(50):
                code = codes.new_code()
                digest = codes.code_hash(key, code)
                clash = db.scalar(select(C).where(C.code_hash == digest))
                if clash is None:
                    break
                if clash.expires_at <= at or clash.customer_id == caller.id:
                    db.delete(clash)
                    db.flush()
                    break
            else:  # pragma: no cover - 50 clashes among valid codes
                raise ApiProblem(503, ErrorCode.internal, "no free code; try again")
            expires = at + timedelta(seconds=ttl)
            row = db.get(C, caller.id)
            if row is None:
                db.add(
                    C(customer_id=caller.id, code_hash=digest, created_at=at, expires_at=expires)
                )
            else:  # a new code replaces the old
                row.code_hash, row.created_at, row.expires_at = digest, at, expires
            caller.audit(db, "assist.code", f"customer {caller.id}", expires=_iso(expires))
            return wire.AssistCode(code=code, expires_at=expires)

        return await self._tx(tx)

    async def redeem(self, caller: Caller, body: wire.AssistRedeem) -> wire.AssistSession:
        key = self._code_key
        digest = codes.code_hash(key, body.code)
        window = timedelta(seconds=wire.REDEEM_WINDOW_S)

        def tx(db: DbSession) -> tuple[wire.AssistSession | None, float]:
            at = now()
            A = models.AuditEntry
            failures = db.execute(
                select(func.count(), func.min(A.at)).where(
                    A.action == "assist.redeem",
                    A.outcome == "failed",
                    A.actor_type == "agent",
                    A.actor_id == caller.id,
                    A.at > at - window,
                )
            ).one()
            if failures[0] >= wire.REDEEM_ATTEMPTS:
                oldest: datetime = failures[1]
                if oldest.tzinfo is None:
                    oldest = oldest.replace(tzinfo=UTC)
                return None, max(1.0, (oldest + window - at).total_seconds())
            C = models.AssistCode
            code = db.scalar(select(C).where(C.code_hash == digest))
            if code is None or code.expires_at <= at:
                if code is not None:
                    db.delete(code)
                return None, 0.0
            customer_id = code.customer_id
            db.delete(code)  # single use
            db.flush()
            session = self._create(db, caller, customer_id, body.mode, via="code")
            return session, 0.0

        session, retry_after = await self._create_tx(tx)
        if session is not None:
            return self._publish(session)
        if retry_after:
            audit.record_now(
                self.db,
                "assist.redeem",
                actor_type="agent",
                actor_id=caller.id,
                actor_name=caller.name,
                outcome="denied",
                source=caller.source,
                reason="too many wrong codes",
            )
            raise ApiProblem(
                429,
                ErrorCode.rate_limited,
                "too many wrong codes; wait before trying again",
                headers={"Retry-After": str(math.ceil(retry_after))},
            )
        audit.record_now(
            self.db,
            "assist.redeem",
            actor_type="agent",
            actor_id=caller.id,
            actor_name=caller.name,
            outcome="failed",
            source=caller.source,
            reason="unknown, used or expired code",
        )
        raise ApiProblem(404, ErrorCode.not_found, "no such code (wrong, used or expired)")

    # --- reading ---------------------------------------------------------------------------

    async def list_open(self, caller: Caller) -> wire.AssistSessionList:
        def read(db: DbSession) -> list[wire.AssistSession]:
            party = S.agent_id if caller.kind == "agent" else S.customer_id
            rows = db.scalars(
                select(S).where(party == caller.id, S.status.in_(OPEN)).order_by(S.id)
            ).all()
            return [self._render(db, r) for r in rows]

        sessions = await self._read(read)
        return wire.AssistSessionList(sessions=[self._overlay(s) for s in sessions])

    async def get(self, caller: Caller, session_id: int) -> wire.AssistSession:
        def read(db: DbSession) -> wire.AssistSession:
            return self._render(db, self._row_for(db, caller, session_id, None))

        return self._overlay(await self._read(read))

    # --- consent and controls --------------------------------------------------------------

    async def consent(
        self, caller: Caller, session_id: int, body: wire.Consent
    ) -> wire.AssistSession:
        def work(db: DbSession, row: models.AssistSession) -> None:
            if row.status != AssistStatus.requested or row.expires_at <= now():
                raise _conflict(f"the session is {row.status}, not waiting for consent")
            at = now()
            if body.allow:
                row.status = AssistStatus.active.value
                row.started_at = at
                row.mode = AssistMode.view.value
                row.control_requested = row.requested_mode == AssistMode.control
                caller.audit(db, "assist.allowed", _target(row), agent=row.agent_id)
            else:
                _close_row(row, AssistStatus.denied, None, at)
                caller.audit(
                    db,
                    "assist.denied",
                    _target(row),
                    agent=row.agent_id,
                    reason="timed_out" if body.timed_out else "customer",
                )

        return await self._change(session_id, caller, "customer", work)

    async def ask_control(self, caller: Caller, session_id: int) -> wire.AssistSession:
        def work(db: DbSession, row: models.AssistSession) -> None:
            _require_live(row)
            if row.mode != AssistMode.control:
                row.control_requested = True

        return await self._change(session_id, caller, "agent", work)

    async def control_consent(
        self, caller: Caller, session_id: int, body: wire.ControlConsent
    ) -> wire.AssistSession:
        def work(db: DbSession, row: models.AssistSession) -> None:
            _require_live(row)
            if body.allow:
                if not row.control_requested and row.mode != AssistMode.control:
                    raise _conflict("the agent has not asked for control")
                row.mode = row.max_mode = AssistMode.control.value
                outcome = "granted"
            else:
                outcome = "taken back" if row.mode == AssistMode.control else "refused"
                row.mode = AssistMode.view.value
            row.control_requested = False
            caller.audit(db, "assist.control", _target(row), agent=row.agent_id, control=outcome)

        return await self._change(session_id, caller, "customer", work)

    async def clipboard(
        self, caller: Caller, session_id: int, body: wire.ClipboardConsent
    ) -> wire.AssistSession:
        def work(db: DbSession, row: models.AssistSession) -> None:
            _require_live(row)
            row.clipboard = body.allow

        return await self._change(session_id, caller, "customer", work)

    async def pause(self, caller: Caller, session_id: int, body: wire.Pause) -> wire.AssistSession:
        def work(db: DbSession, row: models.AssistSession) -> None:
            _require_live(row)
            row.status = (AssistStatus.paused if body.paused else AssistStatus.active).value

        return await self._change(session_id, caller, "customer", work)

    # --- ending ----------------------------------------------------------------------------

    async def end(self, caller: Caller, session_id: int) -> wire.AssistSession:
        reason = EndReason.customer if caller.kind == "customer" else EndReason.agent
        return await self._end(session_id, reason, caller)

    async def _end(
        self, session_id: int, reason: EndReason, caller: Caller | None = None
    ) -> wire.AssistSession:
        """End a session (idempotent on a final one): the relay stops first,
        then the row and the audit record are written with its byte counts."""
        async with self._locked(session_id):

            def check(db: DbSession) -> wire.AssistSession:
                if caller is not None:
                    return self._render(db, self._row_for(db, caller, session_id, None))
                row = db.get(S, session_id)
                if row is None:
                    raise _not_found(session_id)
                return self._render(db, row)

            before = await self._read(check)
            if before.status.final:
                self._stop_pair(session_id, reason)
                return before
            to_agent, to_customer = self._stop_pair(session_id, reason)

            def tx(db: DbSession) -> wire.AssistSession:
                row = db.get(S, session_id)
                assert row is not None
                if AssistStatus(row.status).final:
                    return self._render(db, row)
                row.bytes_to_agent += to_agent
                row.bytes_to_customer += to_customer
                _close_row(row, AssistStatus.ended, reason, now())
                db.flush()
                _audit_end(db, row, caller)
                return self._render(db, row)

            return self._publish(await self._tx(tx))

    def _stop_pair(self, session_id: int, reason: EndReason) -> tuple[int, int]:
        pair = self.pairs.pop(session_id, None)
        if pair is None:
            return 0, 0
        pair.stop(StreamClose.not_active, f"the session ended ({reason.value})")
        return pair.to_agent, pair.to_customer

    async def end_agent_sessions(self, agent_id: int) -> None:
        ids = await self._read(
            lambda s: s.scalars(
                select(S.id).where(S.agent_id == agent_id, S.status.in_(OPEN))
            ).all()
        )
        for sid in ids:
            try:
                await self._end(sid, EndReason.agent_disabled)
            except Exception:
                log.exception("could not end remote-assist session %s", sid)

    def agent_disabled(self, agent_id: int) -> None:
        """From the team hook (a worker thread holding a transaction): end
        the agent's sessions on the event loop, without waiting for it."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(lambda: self._spawn(self.end_agent_sessions(agent_id)))

    # --- notes -----------------------------------------------------------------------------

    async def note(self, caller: Caller, session_id: int, body: wire.AssistNote) -> None:
        session = await self.get(caller, session_id)
        if caller.kind != "agent":
            raise ApiProblem(403, ErrorCode.forbidden, "this is the agent's to do")
        cid = session.conversation_id
        if cid is not None:
            who = store.Who("agent", caller.id, caller.name, Role.agent)
            send = rt.Send(
                client_id=uuid.uuid4().hex, conversation_id=cid, text=body.text, internal=True
            )
            try:
                # The chat's own path for an agent's internal note: stored
                # under the conversation's next seq and shown live.
                await self.hub.post(who, send)
                return
            except store.Refused as exc:
                ticket_id = await self._read(
                    lambda s: getattr(s.get(models.Conversation, cid), "ticket_id", None)
                )
                if exc.code != ErrorCode.conflict or ticket_id is None:
                    raise ApiProblem(409, ErrorCode.conflict, exc.message) from exc
                # A closed chat that became a ticket: the note goes there.
                await self._ticket_note(caller, ticket_id, body.text)
                return
        if session.ticket_id is not None:
            await self._ticket_note(caller, session.ticket_id, body.text)
            return
        raise _conflict("the session has no conversation or ticket to keep a note in")

    async def _ticket_note(self, caller: Caller, ticket_id: int, text: str) -> None:
        limit = self.max_ticket_bytes

        def tx(db: DbSession) -> None:
            ticket = db.get(models.Ticket, ticket_id)
            agent = db.get(models.Agent, caller.id)
            if ticket is None or agent is None:
                raise _conflict("the session's ticket is gone")
            body = ticket_wire.CommentCreate(client_key=uuid.uuid4().hex, body=text, internal=True)
            tickets.agent_comment(db, ticket, agent, body, limit)

        await self._tx(tx)

    # --- the stream ------------------------------------------------------------------------

    def _open_pair(self, session_id: int, agent_id: int, customer_id: int) -> Pair:
        rate = self.max_kbps * 1000 / 8
        bucket = ByteBucket(rate, rate * BURST_SECONDS)
        pair = Pair(session_id, agent_id, customer_id, bucket, self._connections_changed)
        self.pairs[session_id] = pair
        return pair

    def _connections_changed(self, session_id: int) -> None:
        self._spawn(self._announce(session_id))

    def _render_id(self, db: DbSession, session_id: int) -> wire.AssistSession | None:
        row = db.get(S, session_id)
        return self._render(db, row) if row is not None else None

    async def _announce(self, session_id: int) -> None:
        """Tell both parties who is connected now."""
        async with self._locked(session_id):
            try:
                session = await self._read(lambda s: self._render_id(s, session_id))
            except Exception:
                log.exception("could not read remote-assist session %s", session_id)
                return
            if session is not None and session.status.live:
                self._publish(session)

    def _stream_party(self, token: str | None, session_id: int) -> tuple[int, str, Side | None]:
        """(close code, reason, side) for a stream: code 0 means accepted."""
        if not token:
            return StreamClose.unauthorized, "sign in first (Authorization: Bearer ...)", None
        with self.db.session(serialize=False) as db:
            try:
                auth = lookup_session(db, token)
            except IdentityRejected as exc:
                return StreamClose.unauthorized, exc.message, None
            side: Side = "customer" if auth.subject_type == "customer" else "agent"
            if side == "agent":
                agent = db.get(models.Agent, auth.subject_id)
                if agent is None or not agent.active:
                    return StreamClose.unauthorized, "the agent account is disabled", None
            row = db.get(S, session_id)
            party = (
                row is not None
                and (row.agent_id if side == "agent" else row.customer_id) == auth.subject_id
            )
            if row is None or not party:
                return StreamClose.not_found, f"no remote-assist session {session_id}", None
            if row.status not in LIVE:
                return StreamClose.not_active, f"the session is {row.status}", None
            return 0, "", side

    async def serve_stream(self, ws: WebSocket, session_id: int) -> None:
        """One side's stream socket. Refusals are close codes after the
        handshake (:class:`StreamClose`), never HTTP statuses, so both ends
        read one kind of answer."""
        header = ws.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else None
        code, reason, side = await run_in_threadpool(self._stream_party, token, session_id)
        offered = ws.scope.get("subprotocols") or []
        subprotocol = wire.STREAM_SUBPROTOCOL if wire.STREAM_SUBPROTOCOL in offered else None
        await ws.accept(subprotocol=subprotocol)
        # Pairs are made when a session becomes live (and at start-up) and
        # dropped when it ends, before its row says so: no pair, no stream.
        pair = self.pairs.get(session_id)
        if code != 0 or pair is None or pair.stopped or side is None:
            if code == 0:
                code, reason = StreamClose.not_active, "the session is not active"
            with contextlib.suppress(Exception):
                await ws.close(code, reason)
            return
        leg = Leg(pair, side, ws)
        pair.attach(leg)
        await run_leg(leg)

    # --- the sweeper -----------------------------------------------------------------------

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval)
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("remote-assist sweep failed")

    async def sweep(self) -> None:
        at = now()
        due = await self._read(
            lambda s: s.scalars(
                select(S.id).where(S.status == AssistStatus.requested.value, S.expires_at <= at)
            ).all()
        )
        for sid in due:
            await self._expire(sid)
        mono = time.monotonic()
        for sid, pair in list(self.pairs.items()):
            if mono - pair.last_activity > self.idle_timeout:
                await self._end(sid, EndReason.idle)
            elif any(g is not None and mono - g > self.grace for g in pair.gone_since.values()):
                await self._end(sid, EndReason.network)
        if mono - self._last_reconcile > self.reconcile_interval:
            self._last_reconcile = mono
            await self._reconcile()

    async def _expire(self, session_id: int) -> None:
        def work(db: DbSession, row: models.AssistSession) -> None:
            if row.status != AssistStatus.requested:
                return
            _close_row(row, AssistStatus.expired, None, now())
            audit.record(
                db,
                "assist.denied",
                actor_type="system",
                target=_target(row),
                agent=row.agent_id,
                customer=row.customer_id,
                reason="expired",
            )

        await self._change(session_id, None, None, work)

    async def _reconcile(self) -> None:
        """Sessions ended outside this process close their sockets; those of
        agents disabled outside it (the command line) end."""
        ids = list(self.pairs)
        if not ids:
            return

        def read(db: DbSession) -> tuple[list[int], list[int]]:
            final = db.scalars(select(S.id).where(S.id.in_(ids), S.status.not_in(OPEN))).all()
            disabled = db.scalars(
                select(S.id)
                .join(models.Agent, models.Agent.id == S.agent_id)
                .where(S.id.in_(ids), S.status.in_(OPEN), models.Agent.active.is_(False))
            ).all()
            return list(final), list(disabled)

        final, disabled = await self._read(read)
        for sid in final:
            async with self._locked(sid):
                self._stop_pair(sid, EndReason.service)
                session = await self._read(functools.partial(self._render_id, session_id=sid))
                if session is not None:
                    self._publish(session)
        for sid in disabled:
            await self._end(sid, EndReason.agent_disabled)


# --- row helpers --------------------------------------------------------------------------


def _require_live(row: models.AssistSession) -> None:
    if row.status not in LIVE:
        raise _conflict(f"the session is {row.status}, not live")


def _close_row(
    row: models.AssistSession, status: AssistStatus, reason: EndReason | None, at: datetime
) -> None:
    row.status = status.value
    row.ended_at = at
    row.end_reason = reason.value if reason is not None else None
    row.open_customer_id = None
    row.control_requested = False
    row.clipboard = False
    row.mode = AssistMode.view.value  # nothing is granted any more (max_mode keeps the most)


def _audit_end(db: DbSession, row: models.AssistSession, caller: Caller | None) -> None:
    agent = db.get(models.Agent, row.agent_id)
    customer = db.get(models.Customer, row.customer_id)
    detail: dict[str, Any] = {
        "agent": f"{row.agent_id} {agent.email if agent else ''}".strip(),
        "customer": f"{row.customer_id} {customer.external_id if customer else ''}".strip(),
        "started": _iso(row.started_at),
        "ended": _iso(row.ended_at),
        "mode": row.max_mode,
        "bytes_to_agent": row.bytes_to_agent,
        "bytes_to_customer": row.bytes_to_customer,
        "end_reason": row.end_reason or "",
        "via": row.via,
    }
    if caller is not None:
        caller.audit(db, "assist.session", _target(row), **detail)
    else:
        audit.record(db, "assist.session", actor_type="system", target=_target(row), **detail)


def _add_counts(db: DbSession, counts: dict[int, tuple[int, int]]) -> None:
    for sid, (to_agent, to_customer) in counts.items():
        row = db.get(S, sid)
        if row is not None:
            row.bytes_to_agent += to_agent
            row.bytes_to_customer += to_customer


# --- the team's hook ------------------------------------------------------------------------


def end_sessions_in_db(db: DbSession, agent_id: int) -> int:
    """End an agent's open sessions in this transaction (the command line's
    path: the running service closes their sockets when it notices)."""
    rows = db.scalars(select(S).where(S.agent_id == agent_id, S.status.in_(OPEN))).all()
    at = now()
    for row in rows:
        _close_row(row, AssistStatus.ended, EndReason.agent_disabled, at)
        db.flush()
        _audit_end(db, row, None)
    return len(rows)


def _on_agent_disabled(event: team.AgentEvent) -> None:
    service = getattr(event.state, "assist", None) if event.state is not None else None
    if isinstance(service, AssistService) and service._loop is not None:
        service.agent_disabled(event.agent_id)
    else:
        end_sessions_in_db(event.db, event.agent_id)


def _install_hooks() -> None:
    if _on_agent_disabled not in team.on_agent_disabled:
        team.on_agent_disabled.append(_on_agent_disabled)


# Importing the module is enough for the command line's disable to end sessions.
_install_hooks()

__all__ = ["AssistService", "Caller", "end_sessions_in_db"]
