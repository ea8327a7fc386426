"""The portal's live chat connection: one websocket, kept alive, nothing lost.

:class:`RealtimeClient` runs an asyncio event loop on a thread of its own
(as Electrum does) with the ``websockets`` client on it. The GUI thread
never waits on it: every public method only schedules work on the loop
(``asyncio.run_coroutine_threadsafe``) and returns; everything the loop
learns comes back through one ``on_event`` callback, called on the loop
thread, which a Qt UI turns into a queued signal (client/ui/realtime_bridge.py).
No Qt here.

Connection
----------
* ``hello`` first, with the access token (never in the URL) and the resume
  points of every conversation still open: the service replays what was
  missed, in order. :class:`~protocol.realtime.ConversationLog` keeps order,
  drops duplicates and finds gaps; a gap seen while connected is filled from
  the REST history.
* Heartbeat: a ``ping`` event (and a websocket ping) every 10 s; a
  connection that has been silent for 30 s is dead and is dropped.
* Reconnect with exponential backoff and full jitter, 0.5 s up to 30 s;
  :meth:`RealtimeClient.kick` (the network is back, the customer signed in)
  tries at once.
* Close 4401 (token expired or unknown): a fresh access token is obtained
  through the REST client on a worker thread, then the client reconnects. When
  the session itself is gone the client waits (state ``signed_out``) until
  kicked after a new sign-in.

Sending
-------
A message is written to the :class:`~client.core.chatstore.ChatStore` as
``sending`` BEFORE it is transmitted, with a ``client_id`` made once. Every
``sending`` message is transmitted again after each reconnect until the
service's ``ack`` (the service deduplicates by ``client_id``): then
``sent``; a ``read`` receipt from support makes it ``read``. A refusal for a
reason that will not go away (too long, forbidden...) makes it ``failed``;
:meth:`RealtimeClient.retry` tries again. Messages written before any
conversation exists wait for the first one's ``ack`` so that they all land
in the conversation it started. Transmissions are serialised, so messages
reach the service in the order they were written.

Events for the UI are the small frozen dataclasses below
(:class:`ConnectionChanged`, :class:`MessagesChanged`, ...).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import random
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ValidationError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from client.core.api import ApiClient, ApiError, OfflineError
from client.core.chatstore import ChatStore, Incoming, StoredConversation, StoredMessage
from protocol.assist import AssistSession
from protocol.models import ErrorCode
from protocol.realtime import (
    IDLE_TIMEOUT_S,
    MAX_ATTACHMENTS,
    MAX_FRAME_BYTES,
    MAX_RESUME_POINTS,
    MAX_TEXT_CHARS,
    PING_INTERVAL_S,
    PROTOCOL_VERSION,
    REALTIME_PATH,
    RECONNECT_MAX_S,
    RECONNECT_MIN_S,
    Ack,
    AssistEvent,
    BotFeedback,
    ChatMessage,
    CloseCode,
    ConversationEvent,
    ConversationLog,
    ConversationStatus,
    ConversationSummary,
    ErrorEvent,
    FrameError,
    Handoff,
    Hello,
    MessageEvent,
    MessagePage,
    Party,
    Ping,
    Pong,
    Read,
    ReadEvent,
    ResumePoint,
    Send,
    ServerEvent,
    Typing,
    TypingEvent,
    Welcome,
    You,
    encode,
    is_known_server_frame,
    parse_server_frame,
)

__all__ = [
    "PAGE_SIZE",
    "ApiChatService",
    "ChatService",
    "ConnectionChanged",
    "ConnectionState",
    "ConversationChanged",
    "HistoryLoaded",
    "MessageRemoved",
    "MessagesChanged",
    "Problem",
    "RealtimeClient",
    "RealtimeConfig",
    "TypingChanged",
    "UnreadChanged",
    "Welcomed",
    "backoff_delay",
    "realtime_url",
]

log = logging.getLogger(__name__)

PAGE_SIZE = 50
"""Messages per history page."""

ConnectionState = Literal["connecting", "online", "offline", "signed_out", "stopped"]

_SESSION_CODES = frozenset(
    {
        ErrorCode.session_missing.value,
        ErrorCode.session_invalid.value,
        ErrorCode.session_expired.value,
        ErrorCode.session_revoked.value,
    }
)
# Refusals worth sending again later (the rest make a message "failed").
_TEMPORARY_ERRORS = frozenset({ErrorCode.rate_limited.value, ErrorCode.internal.value})
_STABLE_AFTER_S = 5.0
"""A connection that lasted this long resets the backoff."""
_RATE_LIMITED_MIN_S = 5.0

T = TypeVar("T")


# --- events for the UI ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    """``state``: connecting / online / offline / signed_out / stopped.

    ``retry_in``: while offline, seconds until the next attempt.
    ``reason``: why it is not online (``network``, ``heartbeat``, ``auth``,
    ``rate_limited``, ``server``, ``unavailable``, ``protocol``), for logs and
    the UI's wording."""

    state: ConnectionState
    retry_in: float | None = None
    reason: str = ""
    attempt: int = 0


@dataclass(frozen=True, slots=True)
class Welcomed:
    """The service accepted the connection."""

    you: You
    conversations: tuple[ConversationSummary, ...]


@dataclass(frozen=True, slots=True)
class MessagesChanged:
    """Messages that are new or whose state changed (keyed by ``local_id``)."""

    messages: tuple[StoredMessage, ...]


@dataclass(frozen=True, slots=True)
class MessageRemoved:
    """An unsent message the customer discarded."""

    local_id: int
    client_id: str


@dataclass(frozen=True, slots=True)
class HistoryLoaded:
    """Messages of one conversation, oldest first, to show ABOVE what is shown.

    ``initial``: the window to draw at start (from disk, before the network);
    its messages may span the newest conversation and unsent ones.
    ``complete``: nothing older exists in ``conversation_id``.
    ``conversations``: every conversation known on this computer (initial only).
    """

    conversation_id: int | None
    messages: tuple[StoredMessage, ...]
    complete: bool
    initial: bool = False
    conversations: tuple[StoredConversation, ...] = ()
    failed: bool = False
    """The service could not be asked (offline): try again later."""


@dataclass(frozen=True, slots=True)
class ConversationChanged:
    conversation: ConversationSummary


@dataclass(frozen=True, slots=True)
class TypingChanged:
    conversation_id: int
    who: Party
    typing: bool


@dataclass(frozen=True, slots=True)
class UnreadChanged:
    """Messages from support the customer has not seen, in all conversations."""

    count: int


@dataclass(frozen=True, slots=True)
class AssistChanged:
    """A remote-assist session of this user changed (``protocol.assist``)."""

    session: AssistSession


@dataclass(frozen=True, slots=True)
class Problem:
    """A refusal or a local failure. ``code`` is an ErrorCode value or
    ``offline`` / ``too_long`` / ``too_many_files`` / ``empty``."""

    code: str
    message: str
    client_id: str | None = None
    conversation_id: int | None = None


Event = (
    ConnectionChanged
    | Welcomed
    | MessagesChanged
    | MessageRemoved
    | HistoryLoaded
    | ConversationChanged
    | TypingChanged
    | UnreadChanged
    | AssistChanged
    | Problem
)


# --- what the client needs from the REST side ---------------------------------------------


class ChatService(Protocol):
    """Blocking calls, made on worker threads only."""

    def access_token(self) -> str | None:
        """The current access token (None: not signed in)."""

    def refresh_access_token(self) -> str:
        """A new access token; raises :class:`ApiError` (``session_*`` when
        only a new sign-in helps, ``offline`` when the service is unreachable)."""

    def messages(self, conversation_id: int, before_seq: int | None, limit: int) -> MessagePage:
        """``GET /conversations/{id}/messages``; raises :class:`ApiError`."""


class ApiChatService:
    """:class:`ChatService` over the portal's :class:`ApiClient`.

    ``access_token`` reads the token the portal last received (the API
    client reports every new pair through ``on_tokens_changed``).
    """

    def __init__(self, api: ApiClient, access_token: Callable[[], str | None]) -> None:
        self.api = api
        self._access_token = access_token

    def access_token(self) -> str | None:
        return self._access_token()

    def refresh_access_token(self) -> str:
        return self.api.refresh().access_token

    def messages(self, conversation_id: int, before_seq: int | None, limit: int) -> MessagePage:
        params: dict[str, int] = {"limit": limit}
        if before_seq is not None:
            params["before_seq"] = before_seq
        # ApiClient has no chat endpoints of its own; its generic GET keeps
        # the token refresh and error mapping every other endpoint gets.
        return self.api.get_model(
            f"/conversations/{int(conversation_id)}/messages", MessagePage, params
        )

    def download_attachment(self, conversation_id: int, attachment_id: int, dest: Path) -> Path:
        """Save a file sent in a conversation to ``dest`` (whole or not at all)."""
        return self.api.download(
            f"/conversations/{int(conversation_id)}/attachments/{int(attachment_id)}", dest
        )


def realtime_url(server_url: str) -> str:
    """``https://host/base`` → ``wss://host/api/v1/realtime`` (the API prefix
    is absolute, as for REST)."""
    parts = urlsplit(server_url.strip().rstrip("/"))
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme)
    if scheme is None or not parts.hostname:
        raise ValueError(f"not an http(s) service address: {server_url!r}")
    return urlunsplit((scheme, parts.netloc, parts.path + REALTIME_PATH, "", ""))


def backoff_delay(attempt: int, rng: random.Random, config: RealtimeConfig) -> float:
    """Full jitter: uniform over [0, min(max, min·2^attempt)], but never below
    the minimum (so a flapping service is not hammered)."""
    ceiling = min(config.backoff_max_s, config.backoff_min_s * 2.0 ** min(attempt, 30))
    return max(config.backoff_min_s, rng.uniform(0.0, ceiling))


@dataclass(frozen=True)
class RealtimeConfig:
    """Timings (seconds). The defaults are the protocol's; tests shorten them."""

    ping_interval_s: float = PING_INTERVAL_S
    idle_timeout_s: float = IDLE_TIMEOUT_S
    backoff_min_s: float = RECONNECT_MIN_S
    backoff_max_s: float = RECONNECT_MAX_S
    open_timeout_s: float = 10.0
    welcome_timeout_s: float = 15.0
    close_timeout_s: float = 2.0
    max_frame_bytes: int = 1024 * 1024
    """Largest frame accepted from the service (it sends far smaller ones)."""


@dataclass
class _Session:
    ws: ClientConnection
    token: str
    started: float
    last_seen: float
    inflight: set[str] = field(default_factory=set)
    """client_ids transmitted on this connection and not acked yet."""
    welcomed: bool = False
    attempt_before: int = 0
    """The backoff attempt count when this connection was welcomed."""


class RealtimeClient:
    """The live chat connection of one customer (see the module docstring).

    ``on_event`` is called on the loop thread with one of the event
    dataclasses; it must not block. ``clock``, ``rng`` and ``sleep`` are
    injectable for tests (``sleep`` is only used for backoff waits).

    Extension points (the agents' console subclasses this client):

    * :meth:`on_server_event` and :meth:`transform_messages`, hooks called
      on the loop thread, see every service event and every batch of
      messages before the client handles them;
    * :meth:`emit` hands an event of a subclass's own to ``on_event`` (which
      must then expect it);
    * :meth:`send_control` sends any client event now, or after reconnecting.
    """

    def __init__(
        self,
        server_url: str,
        service: ChatService,
        store: ChatStore,
        on_event: Callable[[Event], None],
        *,
        config: RealtimeConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.url = realtime_url(server_url)
        self.service = service
        self.store = store
        self.on_event: Callable[[Any], None] = on_event
        """Receives this client's events (and any a subclass passes to :meth:`emit`)."""
        self.config = config or RealtimeConfig()
        self.clock = clock
        self.rng = rng or random.Random()
        self._sleep = sleep or asyncio.sleep
        self.state: ConnectionState = "stopped"
        self.you: You | None = None
        self.attempt = 0
        self.delays: list[float] = []
        """Every backoff delay chosen, in order (for logs and tests)."""
        self.connections = 0
        """Connections that reached ``welcome``."""
        self._log = ConversationLog()
        self._summaries: dict[int, ConversationSummary] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._main: concurrent.futures.Future[None] | None = None
        self._session: _Session | None = None
        self._wake: asyncio.Event | None = None
        self._send_lock: asyncio.Lock | None = None
        self._stopping = False
        self._starter: str | None = None
        """client_id of the message that is starting a new conversation."""
        self._controls: list[BaseModel] = []
        """Handoffs and feedback made while offline, sent after reconnecting."""
        self._unread = -1
        self._gap_fill: set[int] = set()
        self._tasks: set[asyncio.Future[Any]] = set()

    def __repr__(self) -> str:
        return f"RealtimeClient({self.url!r}, state={self.state})"

    # --- lifecycle (any thread) ----------------------------------------------------------

    def start(self) -> None:
        """Start the loop thread: show history from disk, then connect."""
        if self._thread is not None:
            return
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._loop = loop
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=2, thread_name_prefix="helpbridge-chat"
        )

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            try:
                loop.run_forever()
            finally:
                with contextlib.suppress(Exception):
                    _cancel_all(loop)
                loop.close()

        self._thread = threading.Thread(target=run, name="helpbridge-realtime", daemon=True)
        self._thread.start()
        ready.wait(5)
        self._main = asyncio.run_coroutine_threadsafe(self._run(), loop)

    def stop(self, timeout: float = 5.0) -> bool:
        """Close the connection and end the loop thread. Work submitted before
        (a message being stored) is finished first. True if all ended in time."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return True
        ok = True
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout)
        except (concurrent.futures.TimeoutError, RuntimeError):
            ok = False
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self._thread = None
        self._loop = None
        return ok and not thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def kick(self) -> None:
        """Try to connect now instead of waiting for the backoff (the network
        is back, a new sign-in happened)."""
        self._call(self._kick)

    # --- chat actions (any thread; they return at once) ------------------------------------

    def send(
        self,
        text: str,
        conversation_id: int | None,
        attachments: Sequence[dict[str, Any]] = (),
    ) -> str:
        """Queue a message; returns its ``client_id``. ``attachments`` are
        ``AttachmentInfo`` JSON objects of files already uploaded."""
        client_id = uuid.uuid4().hex
        self._submit(self._send(client_id, text, conversation_id, list(attachments)))
        return client_id

    def retry(self, client_id: str) -> None:
        """Send a failed message again."""
        self._submit(self._retry(client_id))

    def discard(self, client_id: str) -> None:
        """Forget an unsent message."""
        self._submit(self._discard(client_id))

    def set_typing(self, conversation_id: int, typing: bool) -> None:
        self._submit(self._transmit_now(Typing(conversation_id=conversation_id, typing=typing)))

    def mark_read(self, conversation_id: int, seq: int) -> None:
        """The customer has seen the conversation up to ``seq``."""
        self._submit(self._mark_read(conversation_id, seq))

    def handoff(self, conversation_id: int) -> None:
        """ "Talk to a person"."""
        self.send_control(Handoff(conversation_id=conversation_id))

    def feedback(self, conversation_id: int, seq: int, helpful: bool) -> None:
        """The answer of the bot (message ``seq``) solved it or not."""
        self.send_control(BotFeedback(conversation_id=conversation_id, seq=seq, helpful=helpful))

    def send_control(self, event: BaseModel) -> None:
        """Send a client event (a handoff, feedback, an agent command) on
        the connection now, or right after the next ``welcome`` when offline."""
        self._submit(self._control(event))

    def load_older(self, conversation_id: int, before_seq: int | None) -> None:
        """Messages of ``conversation_id`` before ``before_seq`` (the newest
        when None): from disk when held without a gap, else from the service.
        Answered with :class:`HistoryLoaded`."""
        self._submit(self._load_older(conversation_id, before_seq))

    def reload(self) -> None:
        """Emit the start window again (the UI was rebuilt)."""
        self._submit(self._load_local())

    # --- plumbing between threads ---------------------------------------------------------

    def _submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any] | None:
        loop = self._loop
        if loop is None or loop.is_closed():
            coro.close()
            log.warning("chat: not running; request dropped")
            return None
        try:
            future = asyncio.run_coroutine_threadsafe(self._guard(coro), loop)
        except RuntimeError:
            coro.close()
            return None
        return future

    def _call(self, fn: Callable[[], None]) -> None:
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(fn)

    async def _guard(self, coro: Awaitable[T]) -> T | None:
        try:
            return await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            # A bug in one action must not stop the loop thread.
            log.exception("chat: action failed")
            return None

    def _background(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` on the loop without waiting for it (kept referenced
        until done, so it is not garbage-collected midway)."""
        task = asyncio.ensure_future(self._guard(coro))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _emit(self, event: Event) -> None:
        self.emit(event)

    # --- extension points (see the class docstring) ------------------------------------------

    def emit(self, event: object) -> None:
        """Hand ``event`` to ``on_event`` (call on the loop thread, e.g. from a
        hook); an exception in the callback is logged, not raised."""
        try:
            self.on_event(event)
        except Exception:
            log.exception("chat: event callback failed")

    def on_server_event(self, event: ServerEvent) -> None:
        """Hook: every service event after ``welcome``, as parsed, before this
        client handles it (on the loop thread; must not block). Does nothing
        here."""

    def transform_messages(self, messages: list[ChatMessage]) -> list[ChatMessage]:
        """Hook: every batch of messages from the service (live, replayed or
        from the REST history) before this client stores them; returns the
        ones it goes on with (on the loop thread; must not block). Here: the
        batch as it is (internal notes in it are then skipped)."""
        return messages

    async def _blocking(self, fn: Callable[[], T]) -> T:
        """Run a blocking call (HTTP) on a worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn)

    def _set_state(
        self, state: ConnectionState, *, retry_in: float | None = None, reason: str = ""
    ) -> None:
        self.state = state
        self._emit(ConnectionChanged(state, retry_in, reason, self.attempt))

    # --- the connection loop ------------------------------------------------------------

    async def _run(self) -> None:
        self._wake = asyncio.Event()
        self._send_lock = asyncio.Lock()
        await self._guard(self._load_local())
        refreshed_for: str | None = None
        while not self._stopping:
            token = await self._guard(self._blocking(self.service.access_token))
            if not token:
                self._set_state("signed_out", reason="auth")
                await self._wait(None)
                continue
            self._set_state("connecting")
            code, reason = await self._connect_once(token)
            if self._stopping:
                break
            if code == CloseCode.unauthorized:
                if refreshed_for != token:
                    refreshed_for = token
                    outcome = await self._refresh(token)
                    if outcome == "retry":
                        continue
                    if outcome == "signed_out":
                        self._set_state("signed_out", reason="auth")
                        await self._wait(None)
                        continue
                    reason = "network"
                else:
                    reason = "auth"
            elif code is not None:
                refreshed_for = None
            delay = backoff_delay(self.attempt, self.rng, self.config)
            if code == CloseCode.rate_limited:
                delay = max(delay, _RATE_LIMITED_MIN_S)
            self.attempt += 1
            self.delays.append(delay)
            log.info("chat: offline (%s); reconnecting in %.1f s", reason, delay)
            self._set_state("offline", retry_in=delay, reason=reason)
            await self._wait(delay)
        self._set_state("stopped")

    async def _wait(self, delay: float | None) -> None:
        """Sleep ``delay`` seconds (forever when None) unless kicked or stopping."""
        wake = self._wake
        assert wake is not None
        if self._stopping:
            return
        if wake.is_set():
            wake.clear()
            return
        waiter = asyncio.ensure_future(wake.wait())
        tasks: set[asyncio.Future[Any]] = {waiter}
        if delay is not None:
            tasks.add(asyncio.ensure_future(self._sleep(delay)))
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            wake.clear()

    def _kick(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _refresh(self, token: str) -> Literal["retry", "signed_out", "later"]:
        """After 4401: use a token someone else refreshed meanwhile, or refresh."""
        current = await self._guard(self._blocking(self.service.access_token))
        if current and current != token:
            return "retry"
        try:
            await self._blocking(self.service.refresh_access_token)
        except OfflineError:
            return "later"
        except ApiError as exc:
            if exc.code in _SESSION_CODES or exc.status == 401:
                log.info("chat: the session is gone (%s); waiting for a new sign-in", exc.code)
                return "signed_out"
            log.warning("chat: token refresh failed: %s", exc)
            return "later"
        return "retry"

    async def _connect_once(self, token: str) -> tuple[int | None, str]:
        """One connection, until it ends. Returns (close code, reason)."""
        cfg = self.config
        try:
            ws = await asyncio.wait_for(
                connect(
                    self.url,
                    open_timeout=cfg.open_timeout_s,
                    ping_interval=None,  # our own heartbeat, below
                    ping_timeout=None,
                    close_timeout=cfg.close_timeout_s,
                    max_size=cfg.max_frame_bytes,
                    user_agent_header="HelpBridge",
                ),
                cfg.open_timeout_s + 1,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            log.warning("chat: the service refused the websocket (HTTP %d)", status)
            return (CloseCode.unauthorized if status == 401 else None), "unavailable"
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
            log.info("chat: cannot connect: %s", exc)
            return None, "network"
        now = self.clock()
        session = _Session(ws, token, now, now)
        self._session = session
        try:
            return await self._converse(session)
        finally:
            self._session = None
            self._starter = None
            # Dead or closed: drop the socket without waiting for a handshake.
            if ws.transport is not None:
                ws.transport.abort()

    async def _converse(self, session: _Session) -> tuple[int | None, str]:
        ws = session.ws
        resume = self._resume_points()
        try:
            hello = Hello(token=session.token, protocol=PROTOCOL_VERSION, resume=resume)
            await ws.send(encode(hello))
            first = await asyncio.wait_for(ws.recv(), self.config.welcome_timeout_s)
        except ValidationError:
            log.error("chat: the access token cannot be sent")
            return CloseCode.unauthorized, "auth"
        except ConnectionClosed as exc:
            return _closed(exc)
        except TimeoutError:
            log.warning("chat: no welcome from the service")
            return None, "protocol"
        try:
            welcome = parse_server_frame(first)
        except FrameError as exc:
            log.warning("chat: bad first frame: %s", exc)
            await _close(ws, CloseCode.malformed)
            return None, "protocol"
        if not isinstance(welcome, Welcome):
            log.warning("chat: expected welcome, got %s", welcome.type)
            await _close(ws, CloseCode.malformed)
            return None, "protocol"
        session.last_seen = self.clock()
        await self._on_welcome(session, welcome)
        reader = asyncio.ensure_future(self._read(session))
        beat = asyncio.ensure_future(self._heartbeat(session))
        try:
            done, _ = await asyncio.wait({reader, beat}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            reader.cancel()
            beat.cancel()
        outcome: tuple[int | None, str] = (None, "network")
        for task in done:
            with contextlib.suppress(asyncio.CancelledError):
                result = task.result()
                if result is not None:
                    outcome = result
        if self.clock() - session.started < _STABLE_AFTER_S:
            # Up only briefly (a service that accepts, then drops us): keep
            # growing the backoff instead of starting over.
            self.attempt = max(self.attempt, session.attempt_before)
        return outcome

    async def _read(self, session: _Session) -> tuple[int | None, str]:
        ws = session.ws
        try:
            async for raw in ws:
                session.last_seen = self.clock()
                if isinstance(raw, bytes):
                    continue
                if not is_known_server_frame(raw):
                    log.debug("chat: skipped an unknown event")
                    continue
                try:
                    event = parse_server_frame(raw)
                except FrameError as exc:
                    log.warning("chat: skipped a malformed event: %s", exc.message)
                    continue
                await self._guard(self._dispatch(session, event))
        except ConnectionClosed as exc:
            return _closed(exc)
        return _closed_code(ws)

    async def _heartbeat(self, session: _Session) -> tuple[int | None, str]:
        cfg = self.config
        next_ping = self.clock() + cfg.ping_interval_s
        while True:
            now = self.clock()
            dead_at = session.last_seen + cfg.idle_timeout_s
            if now >= dead_at:
                log.warning("chat: nothing heard for %.0f s; reconnecting", now - session.last_seen)
                return None, "heartbeat"
            if now >= next_ping:
                next_ping = now + cfg.ping_interval_s
                # Not awaited: a stalled socket must not stall the death check.
                self._background(self._ping(session))
            await asyncio.sleep(max(0.01, min(next_ping, dead_at) - self.clock()))

    async def _ping(self, session: _Session) -> None:
        """A ``ping`` event (answered by ``pong``) and a websocket ping; either
        answer counts as a sign of life."""
        await self._transmit(Ping())
        try:
            pong = await session.ws.ping()
            await pong
        except (ConnectionClosed, RuntimeError):
            return
        session.last_seen = self.clock()

    async def _shutdown(self) -> None:
        self._stopping = True
        self._kick()
        session = self._session
        if session is not None:
            await _close(session.ws, CloseCode.normal)
        if self._main is not None:
            main = asyncio.wrap_future(self._main)
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(main), 3)

    # --- service events -----------------------------------------------------------------

    async def _on_welcome(self, session: _Session, welcome: Welcome) -> None:
        session.welcomed = True
        self.you = welcome.you
        self.connections += 1
        session.attempt_before = self.attempt
        self.attempt = 0
        self._set_state("online")
        log.info("chat: online (%d open conversation(s))", len(welcome.conversations))
        self._emit(Welcomed(welcome.you, tuple(welcome.conversations)))
        known = self.store.resume_points()
        for summary in welcome.conversations:
            self._remember(summary)
        await self._flush(session)
        for control in self._controls[:]:
            if await self._transmit(control):
                self._controls.remove(control)
        for summary in welcome.conversations:
            local = self.store.conversation(summary.id)
            if summary.unread and local is not None and local.read_seq:
                await self._transmit(Read(conversation_id=summary.id, seq=local.read_seq))
            if summary.id not in known and summary.last_seq > 0:
                # Never seen here (another computer, a new history file): the
                # newest page, then live events keep it up to date.
                self._background(self._catch_up(summary.id))
        self._emit_unread()

    def _remember(self, summary: ConversationSummary) -> None:
        self._summaries[summary.id] = summary
        self.store.save_conversation(summary.id, summary.model_dump(mode="json"))

    async def _dispatch(self, session: _Session, event: ServerEvent) -> None:
        self.on_server_event(event)
        if isinstance(event, MessageEvent):
            await self._on_messages([event])
        elif isinstance(event, Ack):
            await self._on_ack(session, event)
        elif isinstance(event, ReadEvent):
            if event.reader_kind == "agent":
                changed = self.store.mark_read_by_support(event.conversation_id, event.seq)
                if changed:
                    self._emit(MessagesChanged(tuple(changed)))
        elif isinstance(event, TypingEvent):
            if event.who.kind != "customer":
                self._emit(TypingChanged(event.conversation_id, event.who, event.typing))
        elif isinstance(event, ConversationEvent):
            self._remember(event.conversation)
            self._emit(ConversationChanged(event.conversation))
        elif isinstance(event, ErrorEvent):
            await self._on_error(session, event)
        elif isinstance(event, AssistEvent):
            self._emit(AssistChanged(event.session))
        elif isinstance(event, Pong | Welcome):
            pass

    async def _on_messages(
        self, messages: Iterable[ChatMessage], *, from_history: bool = False
    ) -> list[StoredMessage]:
        fresh: list[ChatMessage] = []
        touched: set[int] = set()
        for m in self.transform_messages(list(messages)):
            if m.internal:
                continue  # never meant for customers
            if self._log.add(m).new:
                fresh.append(m)
            touched.add(m.conversation_id)
        if not fresh:
            return []
        stored = self.store.save_incoming(_incoming(m) for m in fresh)
        for cid in touched:
            self.store.set_after_seq(cid, self._log.expected_next(cid) - 1)
        if stored:
            self._emit(MessagesChanged(tuple(stored)))
            self._emit_unread()
        if not from_history:
            for cid in touched:
                if self._log.missing(cid) and cid not in self._gap_fill:
                    self._background(self._fill_gaps(cid))
        return stored

    async def _on_ack(self, session: _Session, ack: Ack) -> None:
        session.inflight.discard(ack.client_id)
        cid = ack.conversation_id
        self._log.track(cid)
        prev: int | None = None
        if self._log.expected_next(cid) == ack.seq:
            # Nothing can be missing before it: the run extends over it.
            prev = ack.seq - 1
            self._log.track(cid, ack.seq)
            self.store.set_after_seq(cid, ack.seq)
        mine = self.store.ack(ack.client_id, cid, ack.seq, prev_seq=prev)
        changed: list[StoredMessage] = [mine] if mine is not None else []
        if self._starter == ack.client_id:
            self._starter = None
            changed += self.store.assign_conversation(cid)
        if changed:
            self._emit(MessagesChanged(tuple(changed)))
        await self._flush(session)

    async def _on_error(self, session: _Session, error: ErrorEvent) -> None:
        code = error.code.value
        log.info("chat: the service refused an event: %s %s", code, error.message)
        if error.client_id is not None:
            session.inflight.discard(error.client_id)
            if self._starter == error.client_id:
                self._starter = None
            if code in _TEMPORARY_ERRORS:
                # Still "sending": the next reconnect (or flush) tries again.
                self._background(self._flush_later(session))
            elif code == ErrorCode.conflict.value and error.conversation_id is not None:
                # Its conversation closed meanwhile: it starts a new one.
                log.info("chat: conversation %d closed; starting a new one", error.conversation_id)
                moved = self.store.mark_sending(error.client_id, new_conversation=True)
                if moved is not None:
                    self._emit(MessagesChanged((moved,)))
                await self._flush(session)
                return
            else:
                failed = self.store.mark_failed(error.client_id, error.message or code)
                if failed is not None:
                    self._emit(MessagesChanged((failed,)))
                await self._flush(session)
        self._emit(Problem(code, error.message, error.client_id, error.conversation_id))

    async def _flush_later(self, session: _Session) -> None:
        await asyncio.sleep(_RATE_LIMITED_MIN_S)
        if self._session is session:
            await self._flush(session)

    # --- outgoing ------------------------------------------------------------------------

    async def _send(
        self,
        client_id: str,
        text: str,
        conversation_id: int | None,
        attachments: list[dict[str, Any]],
    ) -> None:
        problem = _check_message(text, attachments)
        if problem is not None:
            self._emit(Problem(problem, "", client_id, conversation_id))
            return
        if conversation_id is not None:
            summary = self._summaries.get(conversation_id)
            local = self.store.conversation(conversation_id)
            closed = (summary is not None and summary.status == ConversationStatus.closed) or (
                summary is None and local is not None and local.status == "closed"
            )
            if closed:
                conversation_id = None  # a closed conversation: start a new one
        name = self.you.name if self.you is not None else ""
        # Stored before anything is transmitted: from here on it cannot be lost.
        stored = self.store.add_outgoing(
            client_id, conversation_id, text, sender_name=name, attachments=attachments
        )
        self._emit(MessagesChanged((stored,)))
        session = self._session
        if session is not None and session.welcomed:
            await self._flush(session)

    async def _retry(self, client_id: str) -> None:
        m = self.store.mark_sending(client_id)
        if m is None:
            return
        self._emit(MessagesChanged((m,)))
        session = self._session
        if session is not None and session.welcomed:
            await self._flush(session)

    async def _discard(self, client_id: str) -> None:
        m = self.store.by_client_id(client_id)
        if m is None or m.seq is not None:
            return
        if self._session is not None and client_id in self._session.inflight:
            return  # already on its way; the ack will come
        if self.store.discard(client_id):
            self._emit(MessageRemoved(m.local_id, client_id))

    async def _flush(self, session: _Session) -> None:
        """Transmit every message still ``sending`` that is not on its way."""
        if self._session is not session or not session.welcomed:
            return
        for m in self.store.pending():
            if m.client_id is None or m.client_id in session.inflight:
                continue
            if m.conversation_id is None:
                if self._starter is not None and self._starter != m.client_id:
                    continue  # waits for the conversation the first one starts
                self._starter = m.client_id
            try:
                frame = Send(
                    client_id=m.client_id,
                    conversation_id=m.conversation_id,
                    text=m.text,
                    attachment_ids=[int(a["id"]) for a in m.attachments if "id" in a],
                )
            except (ValidationError, ValueError, TypeError) as exc:
                failed = self.store.mark_failed(m.client_id, f"cannot be sent: {exc}")
                if failed is not None:
                    self._emit(MessagesChanged((failed,)))
                continue
            session.inflight.add(m.client_id)
            if not await self._transmit(frame):
                session.inflight.discard(m.client_id)
                return

    async def _transmit(self, event: BaseModel) -> bool:
        """Send one event on the current connection; False when there is none."""
        session = self._session
        lock = self._send_lock
        if session is None or lock is None:
            return False
        frame = encode(event)
        if len(frame.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES:
            log.warning("chat: an event of %d characters is too large to send", len(frame))
            return False
        async with lock:
            try:
                await session.ws.send(frame)
            except ConnectionClosed:
                return False
        return True

    async def _transmit_now(self, event: BaseModel) -> None:
        """Ephemeral events (typing): sent if online, else dropped."""
        session = self._session
        if session is not None and session.welcomed:
            await self._transmit(event)

    async def _control(self, event: BaseModel) -> None:
        """Handoff and feedback: sent now, or after reconnecting."""
        session = self._session
        if session is not None and session.welcomed and await self._transmit(event):
            return
        self._controls.append(event)

    async def _mark_read(self, conversation_id: int, seq: int) -> None:
        if self.store.set_read(conversation_id, seq):
            self._emit_unread()
            await self._transmit_now(Read(conversation_id=conversation_id, seq=seq))

    def _emit_unread(self) -> None:
        count = self.store.unread()
        if count != self._unread:
            self._unread = count
            self._emit(UnreadChanged(count))

    # --- history ----------------------------------------------------------------------------

    def _resume_points(self) -> list[ResumePoint]:
        """Resume every conversation that is not known to be closed."""
        for c in self.store.conversations():
            if c.id not in self._log.conversations() and c.status != "closed":
                self._log.track(c.id, c.after_seq)
        points = [
            p
            for p in self._log.resume_points()
            if self._status(p.conversation_id) != ConversationStatus.closed
        ]
        return points[-MAX_RESUME_POINTS:]

    def _status(self, conversation_id: int) -> str | None:
        summary = self._summaries.get(conversation_id)
        if summary is not None:
            return summary.status.value
        local = self.store.conversation(conversation_id)
        return local.status if local is not None else None

    async def _load_local(self) -> None:
        """The start window from disk: the newest conversation's last page and
        any message not sent yet."""
        conversations = tuple(self.store.conversations())
        newest = conversations[0].id if conversations else None
        messages: list[StoredMessage] = []
        complete = True
        if newest is not None:
            messages = self.store.messages(newest, limit=PAGE_SIZE)
            first = next((m for m in messages if m.seq is not None), None)
            complete = conversations[0].complete or (first is not None and first.prev_seq == 0)
        messages += self.store.unassigned()
        self._emit(
            HistoryLoaded(
                newest,
                tuple(messages),
                complete,
                initial=True,
                conversations=conversations,
            )
        )
        self._unread = -1
        self._emit_unread()

    async def _load_older(self, conversation_id: int, before_seq: int | None) -> None:
        local = self._held_before(conversation_id, before_seq)
        complete = bool(local) and local[0].prev_seq == 0
        if complete or len(local) >= PAGE_SIZE:
            self._emit(HistoryLoaded(conversation_id, tuple(local), complete))
            return
        start = local[0].seq if local else before_seq
        try:
            page = await self._blocking(
                lambda: self.service.messages(conversation_id, start, PAGE_SIZE)
            )
        except ApiError as exc:
            log.info("chat: history of %d not loaded: %s", conversation_id, exc.code)
            self._emit(HistoryLoaded(conversation_id, tuple(local), False, failed=True))
            return
        stored = await self._on_messages(page.messages, from_history=True)
        by_seq = {m.seq: m for m in stored}
        older = [
            by_seq.get(m.seq) or self.store.message(conversation_id, m.seq)
            for m in page.messages
            if not m.internal
        ]
        merged = [m for m in older if m is not None] + local
        if not page.has_more:
            self.store.set_complete(conversation_id)
        self._emit(HistoryLoaded(conversation_id, tuple(merged), not page.has_more))

    def _held_before(self, conversation_id: int, before_seq: int | None) -> list[StoredMessage]:
        """Messages on disk just before ``before_seq`` with no gap between
        them, oldest first."""
        held = self.store.messages(conversation_id, before_seq=before_seq, limit=PAGE_SIZE)
        held = [m for m in held if m.seq is not None]
        if not held:
            return []
        if before_seq is None:
            expected: int | None = held[-1].seq
        else:
            boundary = self.store.message(conversation_id, before_seq)
            expected = boundary.prev_seq if boundary is not None else None
        taken: list[StoredMessage] = []
        for m in reversed(held):
            if expected is None or m.seq != expected:
                break
            taken.append(m)
            expected = m.prev_seq
        taken.reverse()
        return taken

    async def _catch_up(self, conversation_id: int) -> None:
        """The newest page of a conversation this computer has not seen."""
        try:
            page = await self._blocking(
                lambda: self.service.messages(conversation_id, None, PAGE_SIZE)
            )
        except ApiError as exc:
            log.info("chat: conversation %d not loaded: %s", conversation_id, exc.code)
            return
        visible = [m for m in page.messages if not m.internal]
        if visible:
            # The page's first message follows what is not needed here.
            self._log.track(conversation_id, visible[0].prev_seq)
        else:
            self._log.track(conversation_id)
        await self._on_messages(visible)
        if not page.has_more:
            self.store.set_complete(conversation_id)

    async def _fill_gaps(self, conversation_id: int) -> None:
        """A message arrived with a hole before it: ask for what is missing."""
        self._gap_fill.add(conversation_id)
        try:
            for gap in self._log.missing(conversation_id)[:5]:
                try:
                    page = await self._blocking(
                        functools.partial(
                            self.service.messages, conversation_id, gap.before_seq, PAGE_SIZE
                        )
                    )
                except ApiError as exc:
                    # The next reconnect's resume fills it instead.
                    log.info("chat: gap in %d not filled now: %s", conversation_id, exc.code)
                    return
                await self._on_messages(
                    [m for m in page.messages if m.seq > gap.after_seq], from_history=True
                )
        finally:
            self._gap_fill.discard(conversation_id)


# --- helpers --------------------------------------------------------------------------------


def _incoming(m: ChatMessage) -> Incoming:
    return Incoming(
        conversation_id=m.conversation_id,
        seq=m.seq,
        prev_seq=m.prev_seq,
        client_id=m.client_id or None,
        sender_kind=m.sender.kind.value,
        sender_id=m.sender.id,
        sender_name=m.sender.name,
        text=m.text,
        attachments=[a.model_dump(mode="json") for a in m.attachments],
        articles=[a.model_dump(mode="json") for a in m.articles],
        created_at=m.created_at,
    )


def _check_message(text: str, attachments: Sequence[dict[str, Any]]) -> str | None:
    if not text.strip() and not attachments:
        return "empty"
    if len(text) > MAX_TEXT_CHARS:
        return "too_long"
    if len(attachments) > MAX_ATTACHMENTS:
        return "too_many_files"
    return None


def _closed(exc: ConnectionClosed) -> tuple[int | None, str]:
    code = exc.rcvd.code if exc.rcvd is not None else None
    return code, _reason_for(code)


def _closed_code(ws: ClientConnection) -> tuple[int | None, str]:
    code = ws.close_code
    return code, _reason_for(code)


def _reason_for(code: int | None) -> str:
    reasons: dict[int, str] = {
        CloseCode.unauthorized: "auth",
        CloseCode.rate_limited: "rate_limited",
        CloseCode.unsupported_protocol: "unavailable",
        CloseCode.malformed: "protocol",
        CloseCode.too_large: "protocol",
        CloseCode.going_away: "server",
        CloseCode.internal_error: "server",
        CloseCode.service_restart: "server",
        CloseCode.overloaded: "server",
    }
    return reasons.get(code or 0, "network")


async def _close(ws: ClientConnection, code: int) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(ws.close(code), 2)


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in tasks:
        t.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
