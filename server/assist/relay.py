"""The stream relay: pairs a session's customer and agent websockets and
copies binary messages between them, unparsed.

One :class:`Pair` per live session holds at most one :class:`Leg` (socket)
per side. A newer socket of a side replaces the older one (closed
:attr:`StreamClose.replaced`). Each leg has a reader and a writer task:

* the reader takes a message from its socket and puts it in the other
  side's :class:`Outbox`. While the other side is not there yet the outbox
  keeps what arrives (an RFB server says its version first and then waits,
  so this is a few bytes) up to :data:`OUTBOX_LIMIT`; past that limit the
  reader stops reading until the other side drains it: back-pressure, never
  a dropped byte. Text frames are not part of the stream: the sender is
  closed with 1003.
* the writer sends what its outbox holds, in order, and counts the bytes
  that reached its socket (``bytes_to_agent`` / ``bytes_to_customer``).

The bandwidth cap is one token bucket per session over the bytes read from
both sides together (:class:`ByteBucket`): a reader that overdraws it sleeps
before reading its next message, so over the cap the relay stops reading and
TCP pushes back on the sender.

When a leg of a paired session leaves (dropped, replaced, protocol error),
the other leg first gets what the leaving side sent last (a viewer's final
key or click) and is then closed with :attr:`StreamClose.peer_gone`; both
outboxes are emptied: both ends start a new RFB handshake on their next
sockets, so no byte of an old handshake reaches a new one. A side's absence is timed
(``gone_since``); the service ends a session whose side stays away longer
than its grace, or that moved no byte for its idle timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Literal

from starlette.websockets import WebSocket

from protocol.assist import StreamClose

log = logging.getLogger(__name__)

Side = Literal["customer", "agent"]
SIDES: tuple[Side, Side] = ("customer", "agent")

OUTBOX_LIMIT = 1024 * 1024
"""Bytes waiting for one side before the other side's reader pauses."""
UNSUPPORTED_DATA = 1003


def other(side: Side) -> Side:
    return "agent" if side == "customer" else "customer"


def _reason(text: str) -> str:
    return text.encode()[:123].decode(errors="ignore")


class ByteBucket:
    """``rate`` bytes a second on average, ``burst`` at once. A payment may
    overdraw the bucket; the payer then sleeps until it is even again."""

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.clock = clock
        self.last = clock()

    def _refill(self) -> None:
        t = self.clock()
        self.tokens = min(self.burst, self.tokens + (t - self.last) * self.rate)
        self.last = t

    async def pay(self, n: int) -> None:
        self._refill()
        self.tokens -= n
        if self.tokens < 0:
            await asyncio.sleep(-self.tokens / self.rate)


class Outbox:
    """Messages on their way to one side."""

    def __init__(self) -> None:
        self.items: deque[bytes] = deque()
        self.nbytes = 0
        self.has_data = asyncio.Event()
        self.has_room = asyncio.Event()
        self.has_room.set()

    def put(self, data: bytes) -> None:
        self.items.append(data)
        self.nbytes += len(data)
        self.has_data.set()
        if self.nbytes >= OUTBOX_LIMIT:
            self.has_room.clear()

    def take(self) -> bytes:
        data = self.items.popleft()
        self.nbytes -= len(data)
        if not self.items:
            self.has_data.clear()
        if self.nbytes < OUTBOX_LIMIT:
            self.has_room.set()
        return data

    def clear(self) -> None:
        self.items.clear()
        self.nbytes = 0
        self.has_data.clear()
        self.has_room.set()


class Leg:
    """One side's socket."""

    def __init__(self, pair: Pair, side: Side, ws: WebSocket) -> None:
        self.pair = pair
        self.side = side
        self.ws = ws
        self.closing = False
        self.last_words: list[bytes] = []
        """Sent before the close frame: what the other side said just before
        it left (its last keys and clicks), taken out of the shared outbox so
        that none of it reaches this side's next socket."""
        self.close_code = 0
        self.close_reason = ""
        self.wake = asyncio.Event()
        """Set when the writer has something to do (data, or a close)."""

    def close(self, code: int, reason: str, last_words: Outbox | None = None) -> None:
        """Close soon (the writer sends ``last_words``' messages, then the
        close frame)."""
        if self.closing:
            return
        if last_words is not None:
            self.last_words = list(last_words.items)
            last_words.clear()
        self.closing = True
        self.close_code = code
        self.close_reason = _reason(reason)
        self.wake.set()

    def finish(self) -> None:
        """The client is gone: the writer stops without a close frame."""
        self.closing = True
        self.wake.set()

    async def read_loop(self) -> None:
        pair, ws = self.pair, self.ws
        while not self.closing:
            box = pair.outbox[other(self.side)]
            if not box.has_room.is_set():
                await _first(box.has_room, self.wake)
                continue
            msg = await ws.receive()
            if msg["type"] == "websocket.disconnect":
                return
            if self.closing or pair.legs[self.side] is not self:
                return
            data = msg.get("bytes")
            if data is None:
                self.close(UNSUPPORTED_DATA, "the stream carries binary messages only")
                return
            pair.last_activity = time.monotonic()
            box.put(data)
            await pair.bucket.pay(len(data))

    async def write_loop(self) -> None:
        pair, ws = self.pair, self.ws
        box = pair.outbox[self.side]
        try:
            while True:
                if not self.closing and not box.items:
                    self.wake.clear()
                    await _first(box.has_data, self.wake)
                    continue
                if self.closing:
                    for data in self.last_words if self.close_code else ():
                        await ws.send_bytes(data)
                        pair.count(self.side, len(data))
                    self.last_words = []
                    if self.close_code:
                        await ws.close(self.close_code, self.close_reason)
                    return
                data = box.take()
                await ws.send_bytes(data)
                pair.count(self.side, len(data))
        except Exception:  # the socket is gone; the reader sees it too
            self.closing = True


async def _first(*events: asyncio.Event) -> None:
    """Wait until one of ``events`` is set."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


class Pair:
    """The relay's state of one live session."""

    def __init__(
        self,
        session_id: int,
        agent_id: int,
        customer_id: int,
        bucket: ByteBucket,
        on_change: Callable[[int], None],
    ) -> None:
        self.session_id = session_id
        self.agent_id = agent_id
        self.customer_id = customer_id
        self.bucket = bucket
        self.on_change = on_change
        """Called (on the event loop) when a side connects or leaves."""
        self.legs: dict[Side, Leg | None] = {"customer": None, "agent": None}
        self.outbox: dict[Side, Outbox] = {"customer": Outbox(), "agent": Outbox()}
        now = time.monotonic()
        self.gone_since: dict[Side, float | None] = {"customer": now, "agent": now}
        """Since when a side has had no socket (None: connected)."""
        self.last_activity = now
        self.to_agent = 0
        self.to_customer = 0
        self.stopped = False

    @property
    def paired(self) -> bool:
        return self.legs["customer"] is not None and self.legs["agent"] is not None

    def connected(self, side: Side) -> bool:
        return self.legs[side] is not None

    def count(self, side: Side, n: int) -> None:
        if side == "agent":
            self.to_agent += n
        else:
            self.to_customer += n
        self.last_activity = time.monotonic()

    def attach(self, leg: Leg) -> None:
        old = self.legs[leg.side]
        if old is not None:
            old.close(StreamClose.replaced, "a newer connection of this side took over")
            self._leave(old)
        self.legs[leg.side] = leg
        self.gone_since[leg.side] = None
        self.on_change(self.session_id)

    def detach(self, leg: Leg) -> None:
        """``leg``'s socket is done (its reader returned)."""
        if self.legs[leg.side] is leg:
            self._leave(leg)
            self.on_change(self.session_id)

    def _leave(self, leg: Leg) -> None:
        now = time.monotonic()
        self.legs[leg.side] = None
        self.gone_since[leg.side] = now
        peer = self.legs[other(leg.side)]
        if peer is not None:
            # Its RFB partner is gone: it starts again on a new socket, after
            # what the partner sent last (a viewer's final click or key).
            peer.close(
                StreamClose.peer_gone,
                "the other side dropped; reconnect",
                last_words=self.outbox[peer.side],
            )
            self.legs[peer.side] = None
            self.gone_since[peer.side] = now
        for box in self.outbox.values():
            box.clear()

    def stop(self, code: int, reason: str) -> None:
        """The session is over (or the service stops): close both sockets now."""
        self.stopped = True
        for side in SIDES:
            leg = self.legs[side]
            if leg is not None:
                leg.close(code, reason)
                self.legs[side] = None
        for box in self.outbox.values():
            box.clear()


async def run_leg(leg: Leg) -> None:
    """Serve one accepted socket until it is closed by either end."""
    reader = asyncio.create_task(leg.read_loop())
    writer = asyncio.create_task(leg.write_loop())
    try:
        done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
        if writer in done:
            # The service closed it (or sending failed): stop reading.
            reader.cancel()
        else:
            exc = reader.exception()
            if exc is not None:
                log.warning("assist stream reader failed", exc_info=exc)
            leg.finish()
    finally:
        leg.pair.detach(leg)
        if not writer.done():
            leg.wake.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer, timeout=5)
        for task in (reader, writer):
            if not task.done():
                task.cancel()
            with contextlib.suppress(BaseException):
                await task
