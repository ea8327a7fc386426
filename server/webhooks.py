"""Outgoing webhooks: events POSTed, signed, to the ISV's systems.

:func:`emit` stores one ``webhook_deliveries`` row per subscription in the
caller's transaction (so an event exists exactly when its change
committed) and wakes the :class:`Dispatcher`, an asyncio task of the
service that sends due deliveries with ``httpx`` and retries failures with
growing delays (``WebhookOptions.retry_delays``). Every try is logged in
``webhook_attempts``: status code or error, and duration. Requests never
wait for a target.

The body is JSON ``{"id", "event", "created_at", "data"}``. Headers:
``X-HelpBridge-Event``, ``X-HelpBridge-Delivery`` (the event id, the same on
every retry), ``X-HelpBridge-Timestamp`` (Unix seconds of this try) and
``X-HelpBridge-Signature: sha256=<hex>``, the HMAC-SHA256 with the
subscription's secret of ``<timestamp>.<body>``.

Targets must be http(s) and resolve to public addresses, checked when a
subscription is made and again before every try (the name may resolve
elsewhere later); operators allow private networks with
``HELPBRIDGE_WEBHOOK_ALLOW_NETWORKS``. Redirects are not followed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import Session as DbSession

from server import __version__, models
from server.db import Database

log = logging.getLogger(__name__)

EVENTS: dict[str, str] = {
    "ticket.created": "a customer opened a ticket",
    "ticket.updated": "a ticket changed: reply, note, status, assignment",
    "conversation.closed": "a live chat ended",
    "csat.received": "a customer rated a resolved ticket",
}
SIGNATURE_HEADER = "X-HelpBridge-Signature"
TIMESTAMP_HEADER = "X-HelpBridge-Timestamp"
MAX_URL = 2000
RETENTION = timedelta(days=30)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def parse_duration(text: str) -> float:
    """Seconds in ``10s``, ``1m``, ``2h``, ``250ms`` or a bare number of seconds."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"not a duration: {text!r} (use e.g. 10s, 1m, 2h)")
    unit = m.group(2) or "s"
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]


@dataclass(frozen=True)
class WebhookOptions:
    """Operator settings, from the environment (:meth:`from_env`)."""

    retry_delays: tuple[float, ...] = (10, 60, 300, 1800, 7200)
    """Seconds before each retry; the first try is at once, so a delivery
    gets ``1 + len(retry_delays)`` tries before it is marked failed."""
    timeout: float = 10.0
    """Seconds a target has to answer one try."""
    allow_networks: tuple[IPNetwork, ...] = ()
    """Private networks targets may be in (none by default)."""
    max_concurrency: int = 8
    poll_seconds: float = 30.0
    """Longest sleep between looks for due deliveries (emit wakes it sooner)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebhookOptions:
        env = os.environ if environ is None else environ
        kw: dict[str, Any] = {}
        if env.get("HELPBRIDGE_WEBHOOK_RETRY_DELAYS", "").strip():
            kw["retry_delays"] = tuple(
                parse_duration(p) for p in env["HELPBRIDGE_WEBHOOK_RETRY_DELAYS"].split(",")
            )
        if env.get("HELPBRIDGE_WEBHOOK_TIMEOUT", "").strip():
            kw["timeout"] = parse_duration(env["HELPBRIDGE_WEBHOOK_TIMEOUT"])
            if kw["timeout"] <= 0:
                raise ValueError("HELPBRIDGE_WEBHOOK_TIMEOUT must be positive")
        if env.get("HELPBRIDGE_WEBHOOK_ALLOW_NETWORKS", "").strip():
            try:
                kw["allow_networks"] = tuple(
                    ipaddress.ip_network(p.strip(), strict=False)
                    for p in env["HELPBRIDGE_WEBHOOK_ALLOW_NETWORKS"].split(",")
                    if p.strip()
                )
            except ValueError as exc:
                raise ValueError(f"HELPBRIDGE_WEBHOOK_ALLOW_NETWORKS: {exc}") from exc
        return cls(**kw)


# --- signatures -------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for one try."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance: float = 300,
    now: float | None = None,
) -> bool:
    """What a receiver does: the signature matches and the timestamp is
    recent (a replayed old request is refused)."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


# --- targets ----------------------------------------------------------------------------


class TargetRefused(ValueError):
    """A URL or address webhooks may not be sent to."""


def _address_refusal(ip: IPAddress, options: WebhookOptions) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in options.allow_networks):
        return None
    if not ip.is_global or ip.is_multicast:
        return f"{ip} is a private, loopback or reserved address"
    return None


def check_url(url: str, options: WebhookOptions, *, resolve: bool = True) -> str:
    """The URL if webhooks may go there; :class:`TargetRefused` says why not."""
    url = url.strip()
    if len(url) > MAX_URL:
        raise TargetRefused(f"the URL is longer than {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"not a URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("only http and https URLs are allowed")
    if not parts.hostname:
        raise TargetRefused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("put credentials in the secret, not in the URL")
    if resolve:
        for ip in resolve_host(parts.hostname, port or (443 if parts.scheme == "https" else 80)):
            why = _address_refusal(ip, options)
            if why:
                raise TargetRefused(f"{parts.hostname}: {why}")
    return url


def resolve_host(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise TargetRefused(f"cannot resolve {host}: {exc.strerror or exc}") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


# --- emitting ---------------------------------------------------------------------------

_wakers: set[Callable[[], None]] = set()
_wakers_lock = threading.Lock()


def _wake_all(_session: DbSession) -> None:
    with _wakers_lock:
        wakers = list(_wakers)
    for wake in wakers:
        wake()


def emit(db: DbSession, event_name: str, data: Mapping[str, Any]) -> int:
    """Queue ``event_name`` with ``data`` (JSON-able) for every active
    subscription to it, in ``db``'s transaction; the dispatcher sends them
    once it commits. Returns the number of deliveries queued."""
    if event_name not in EVENTS:
        raise ValueError(f"unknown webhook event {event_name!r}")
    subs = [
        s
        for s in db.scalars(
            select(models.WebhookSubscription).where(models.WebhookSubscription.active.is_(True))
        ).all()
        if event_name in (s.events or [])
    ]
    if not subs:
        return 0
    event_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    body = json.dumps(
        {"id": event_id, "event": event_name, "created_at": now.isoformat(), "data": data},
        ensure_ascii=False,
        separators=(",", ":"),
        default=_json_default,
    )
    for sub in subs:
        db.add(
            models.WebhookDelivery(
                subscription_id=sub.id,
                event=event_name,
                event_id=event_id,
                payload=body,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    if not db.info.get("webhooks_wake"):
        db.info["webhooks_wake"] = True
        event.listen(db, "after_commit", _wake_all)
    return len(subs)


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def ticket_data(db: DbSession, t: models.Ticket) -> dict[str, Any]:
    requester = db.get(models.Customer, t.requester_id)
    assignee = db.get(models.Agent, t.assignee_id) if t.assignee_id else None
    return {
        "id": t.id,
        "number": models.ticket_number(t.id),
        "subject": t.subject,
        "status": t.status,
        "priority": t.priority,
        "category": t.category,
        "requester": None
        if requester is None
        else {
            "id": requester.id,
            "external_id": requester.external_id,
            "name": requester.name,
            "email": requester.email,
            "company": requester.company,
            "tier": requester.tier,
            "product": requester.product,
        },
        "assignee": None
        if assignee is None
        else {"id": assignee.id, "name": assignee.name, "email": assignee.email},
        "created_at": t.created_at,
        "updated_at": t.updated_at,
        "first_response_due": t.first_response_due,
        "resolution_due": t.resolution_due,
    }


def ticket_event(db: DbSession, t: models.Ticket, e: models.TicketEvent) -> None:
    """Called by ``server.tickets.add_event`` for every timeline entry."""
    if e.kind == "created":
        name = "ticket.created"
    elif e.kind == "csat":
        name = "csat.received"
    else:
        name = "ticket.updated"
    if not db.scalar(
        select(func.count())
        .select_from(models.WebhookSubscription)
        .where(models.WebhookSubscription.active.is_(True))
    ):
        return  # nobody listens: skip building the payload
    data: dict[str, Any] = {"ticket": ticket_data(db, t)}
    if name == "csat.received":
        data["csat"] = {"rating": t.csat_rating, "comment": t.csat_comment, "at": t.csat_at}
    elif name == "ticket.updated":
        data["change"] = {
            "kind": e.kind,
            "by": {"type": e.author_type, "id": e.author_id, "name": e.author_name},
            "internal": e.internal,
            # Internal notes stay inside the service; public replies travel.
            "body": None if e.internal else e.body,
            "status_from": e.status_from,
            "status_to": e.status_to,
            "at": e.created_at,
        }
    emit(db, name, data)


# --- sending ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    delivery_id: int
    attempt: int
    url: str
    secret: str
    event: str
    event_id: str
    payload: str


@dataclass
class _Result:
    status_code: int | None = None
    error: str = ""
    duration_ms: int = 0
    permanent: bool = False

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class Dispatcher:
    """Sends due deliveries in the background of the service's event loop."""

    database: Database
    options: WebhookOptions = field(default_factory=WebhookOptions)
    batch: int = 50

    def __post_init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._client: httpx.AsyncClient | None = None
        self._last_prune = 0.0

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.options.timeout),
            follow_redirects=False,
            trust_env=False,  # no proxies from the environment: targets are checked
            headers={"User-Agent": f"HelpBridge-Webhooks/{__version__}"},
        )
        with _wakers_lock:
            _wakers.add(self.poke)
        self._task = asyncio.create_task(self._run(), name="helpbridge-webhooks")

    async def stop(self) -> None:
        with _wakers_lock:
            _wakers.discard(self.poke)
        tasks = [t for t in (self._task, *self._inflight) if t is not None]
        for t in tasks:
            t.cancel()
        # An interrupted try is retried once its lease runs out (at least once).
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def poke(self) -> None:
        """Look for due deliveries now (from any thread)."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed
            loop.call_soon_threadsafe(wake.set)

    async def _run(self) -> None:
        assert self._wake is not None
        sem = asyncio.Semaphore(self.options.max_concurrency)
        while True:
            self._wake.clear()
            try:
                jobs, next_due = await asyncio.to_thread(self._claim)
            except Exception:
                log.exception("webhook dispatcher could not read deliveries")
                jobs, next_due = [], self.options.poll_seconds
            for job in jobs:
                task = asyncio.create_task(self._deliver(job, sem))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)
            if len(jobs) >= self.batch:
                await asyncio.sleep(0)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=next_due)

    def _claim(self) -> tuple[list[_Job], float]:
        """Take due deliveries under a lease (another service process sharing
        the database skips them) and say when the next one falls due."""
        D, S = models.WebhookDelivery, models.WebhookSubscription
        now = datetime.now(UTC)
        lease = now + timedelta(seconds=self.options.timeout + 60)
        jobs: list[_Job] = []
        with self.database.session() as s:
            rows = s.execute(
                select(D, S)
                .join(S, S.id == D.subscription_id)
                .where(D.status == "pending", D.next_attempt_at <= now, S.active.is_(True))
                .order_by(D.next_attempt_at, D.id)
                .limit(self.batch)
                .with_for_update(skip_locked=True, of=D)
            ).all()
            for d, sub in rows:
                d.attempts += 1
                d.next_attempt_at = lease
                jobs.append(
                    _Job(d.id, d.attempts, sub.url, sub.secret, d.event, d.event_id, d.payload)
                )
            nxt = s.scalar(
                select(func.min(D.next_attempt_at))
                .join(S, S.id == D.subscription_id)
                .where(D.status == "pending", S.active.is_(True))
            )
            if time.monotonic() - self._last_prune > 3600:
                self._last_prune = time.monotonic()
                s.execute(delete(D).where(D.status != "pending", D.finished_at < now - RETENTION))
        wait = self.options.poll_seconds
        if nxt is not None:
            wait = min(wait, max((nxt - datetime.now(UTC)).total_seconds(), 0.0))
        return jobs, wait

    async def _deliver(self, job: _Job, sem: asyncio.Semaphore) -> None:
        async with sem:
            result = await self._try(job)
        if not result.ok:
            log.warning(
                "webhook try failed",
                extra={
                    "delivery": job.delivery_id,
                    "attempt": job.attempt,
                    "status": result.status_code,
                    "error": result.error,
                },
            )
        try:
            await asyncio.to_thread(self._finish, job, result)
        except Exception:
            log.exception("could not record webhook delivery %s", job.delivery_id)

    async def _try(self, job: _Job) -> _Result:
        assert self._client is not None and self._loop is not None
        started = time.perf_counter()
        result = _Result()
        try:
            parts = urlsplit(job.url)
            host = parts.hostname or ""
            port = parts.port or (443 if parts.scheme == "https" else 80)
            try:
                ips = [ipaddress.ip_address(host)]
            except ValueError:
                infos = await self._loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                ips = [ipaddress.ip_address(str(i[4][0]).split("%")[0]) for i in infos]
            for ip in ips:
                why = _address_refusal(ip, self.options)
                if why:
                    result.error = f"refused: {host}: {why}"
                    result.permanent = True
                    return result
            body = job.payload.encode()
            ts = int(time.time())
            headers = {
                "Content-Type": "application/json",
                "X-HelpBridge-Event": job.event,
                "X-HelpBridge-Delivery": job.event_id,
                TIMESTAMP_HEADER: str(ts),
                SIGNATURE_HEADER: sign(job.secret, ts, body),
            }
            # One deadline for the whole try: per-read timeouts alone would
            # let a target that trickles bytes hold a slot for ever.
            async with (
                asyncio.timeout(self.options.timeout),
                self._client.stream("POST", job.url, content=body, headers=headers) as r,
            ):
                result.status_code = r.status_code
            if not result.ok:
                result.error = f"HTTP {result.status_code}"
        except (TimeoutError, httpx.TimeoutException):
            result.error = f"no answer within {self.options.timeout:g} s"
        except OSError as exc:
            result.error = f"cannot reach the target: {exc.strerror or exc}"
        except httpx.HTTPError as exc:
            result.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        finally:
            result.duration_ms = round((time.perf_counter() - started) * 1000)
        return result

    def _finish(self, job: _Job, result: _Result) -> None:
        now = datetime.now(UTC)
        with self.database.session() as s:
            d = s.get(models.WebhookDelivery, job.delivery_id)
            if d is None:
                return  # the subscription was deleted meanwhile
            s.add(
                models.WebhookAttempt(
                    delivery_id=d.id,
                    number=job.attempt,
                    at=now,
                    status_code=result.status_code,
                    error=result.error[:500],
                    duration_ms=result.duration_ms,
                )
            )
            d.last_status_code = result.status_code
            d.last_error = result.error[:500]
            if result.ok:
                d.status, d.finished_at, d.next_attempt_at = "delivered", now, None
            elif result.permanent or job.attempt > len(self.options.retry_delays):
                d.status, d.finished_at, d.next_attempt_at = "failed", now, None
            else:
                delay = self.options.retry_delays[job.attempt - 1]
                d.next_attempt_at = now + timedelta(seconds=delay)
        if not result.ok:
            self.poke()  # the next due time may be sooner than the sleep
