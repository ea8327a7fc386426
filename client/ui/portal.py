"""The portal's state behind the window: connection, sign-in, offline cache.

:class:`Portal` lives in the GUI thread and owns no widget. Every call to the
service, the cache or the keyring is submitted to the :class:`TaskRunner`
(see client/ui/tasks.py); results come back to the GUI thread as callbacks
and signals.

Online / offline:

* A request that fails with ``OfflineError`` marks the portal offline and
  starts health checks with exponential backoff (2 s, 4 s, ... up to 60 s).
* While offline, searches, categories and articles are served from the
  :class:`~client.core.cache.OfflineCache` without trying the network, so
  nothing waits on a dead connection.
* When a health check succeeds the portal is online again; the window then
  refreshes what it shows.

Sign-in: an identity JWT from the host (stdin or the local socket) is exchanged
for a session; the refresh token goes to the TokenStore (keyring). Without a
JWT, the last customer's stored refresh token is used.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from PySide6.QtCore import QObject, QTimer, Signal

from client.ui.errors import error_message, exception_code
from client.ui.tasks import TaskRunner

if TYPE_CHECKING:
    from client.core.api import ApiClient
    from client.core.cache import OfflineCache
    from client.core.tokens import TokenStore
    from protocol.models import Article, CategoryList, Customer, SearchResults, Session

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Fetched(Generic[T]):
    """What a read returned: the value (None when offline and nothing saved)
    and whether it came from the offline cache."""

    value: T | None
    from_cache: bool
    offline: bool


@dataclass(frozen=True, slots=True)
class SignIn:
    customer: Customer | None
    persistent: bool
    problem: str | None


def cache_path_for(server_url: str) -> Path:
    """One cache database per service, so article ids of two services never mix."""
    from client.core.paths import cache_file

    default = cache_file()
    digest = hashlib.sha256(server_url.rstrip("/").encode("utf-8")).hexdigest()[:12]
    return default.with_name(f"{default.stem}-{digest}{default.suffix}")


def unverified_subject(jwt: str) -> str | None:
    """The ``sub`` claim of a JWT, NOT verified: only used to choose whose
    local outbox to use before the service can check the token."""
    import base64
    import json

    parts = jwt.split(".")
    if len(parts) != 3 or len(parts[1]) > 8192:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    subject = payload.get("sub") if isinstance(payload, dict) else None
    return subject if isinstance(subject, str) and 0 < len(subject) <= 256 else None


class Backend:
    """The blocking objects for one service URL, created lazily on a worker
    (their imports and file opening never run on the GUI thread)."""

    def __init__(self, server_url: str, *, timeout_s: float = 8.0) -> None:
        self.server_url = server_url
        self.timeout_s = timeout_s
        self._lock = threading.RLock()
        self._api: ApiClient | None = None
        self._cache: OfflineCache | None = None
        self._tokens: TokenStore | None = None
        self.external_id: str | None = None
        self.access_token: str | None = None
        """The newest access token (the live chat connection sends it in its hello)."""

    @property
    def api(self) -> ApiClient:
        with self._lock:
            if self._api is None:
                from client.core.api import ApiClient

                api = ApiClient(self.server_url, timeout=self.timeout_s)
                api.on_tokens_changed = self._persist_session
                self._api = api
            return self._api

    @property
    def cache(self) -> OfflineCache:
        with self._lock:
            if self._cache is None:
                from client.core.cache import OfflineCache

                self._cache = OfflineCache(cache_path_for(self.server_url))
            return self._cache

    @property
    def tokens(self) -> TokenStore:
        with self._lock:
            if self._tokens is None:
                from client.core.tokens import TokenStore

                self._tokens = TokenStore(self.server_url)
            return self._tokens

    def _persist_session(self, session: Session) -> None:
        """Called by ApiClient (on a worker) whenever it gets a new token pair."""
        with self._lock:
            self.access_token = session.access_token
            if session.customer is not None:
                self.external_id = session.customer.external_id
            external_id = self.external_id
            if not external_id:
                return
            try:
                self.tokens.save(external_id, session.refresh_token)
                self.tokens.remember_last(external_id)
            except Exception:
                # Losing the saved token only means signing in again next time.
                log.exception("could not store the refresh token")

    # -- blocking operations (worker threads only) --------------------------

    def fetch(
        self,
        online: bool,
        net: Callable[[ApiClient], T],
        save: Callable[[OfflineCache, T], None],
        load: Callable[[OfflineCache], T | None],
    ) -> Fetched[T]:
        from client.core.api import OfflineError

        if online:
            try:
                value = net(self.api)
            except OfflineError:
                return Fetched(self._load(load), from_cache=True, offline=True)
            try:
                save(self.cache, value)
            except Exception:
                log.exception("could not write the offline cache")
            return Fetched(value, from_cache=False, offline=False)
        return Fetched(self._load(load), from_cache=True, offline=True)

    def _load(self, load: Callable[[OfflineCache], T | None]) -> T | None:
        try:
            return load(self.cache)
        except Exception:
            log.exception("could not read the offline cache")
            return None

    def sign_in_result(self, session: Session) -> SignIn:
        customer = session.customer
        if customer is None:
            customer = self.api.me()
        with self._lock:
            self.external_id = customer.external_id
        tokens = self.tokens
        # The ApiClient normally persisted the pair already (on_tokens_changed);
        # doing it again is harmless and covers a client that does not call back.
        self._persist_session(session)
        return SignIn(customer, bool(tokens.persistent), tokens.problem)

    def exchange(self, jwt: str) -> SignIn:
        return self.sign_in_result(self.api.exchange_identity(jwt))

    def restore(self) -> SignIn | None:
        """Sign in again with the last customer's stored refresh token."""
        from client.core.api import ApiError, OfflineError

        tokens = self.tokens
        external_id = tokens.last_customer()
        if not external_id:
            return None
        refresh_token = tokens.load(external_id)
        if not refresh_token:
            return None
        with self._lock:
            self.external_id = external_id
        api = self.api
        api.set_session(None, refresh_token)
        try:
            session = api.refresh()
        except OfflineError:
            raise
        except ApiError as exc:
            if exc.code.startswith("session_") or exc.status == 401:
                log.info("stored session no longer valid (%s); forgetting it", exc.code)
                tokens.delete(external_id)
                api.set_session(None, None)
                return None
            raise
        return self.sign_in_result(session)


class Portal(QObject):
    """Connection state, sign-in and data access for the window.

    Signals:
        online_changed(bool): the service became reachable (True) or not.
        customer_changed(object): the signed-in Customer, or None.
        notice(str, str, str, str): (key, kind, text, detail) to show in the
            banner; kind is "info", "warning" or "error".
        notice_cleared(str): the notice with this key no longer applies.
        server_changed(str): a new service URL is in use.
        account_known(str): the service cannot be reached, but the customer
            is known (the last session's, or the host's identity): their
            external id, so what they write can be kept for them.
    """

    online_changed = Signal(bool)
    customer_changed = Signal(object)
    notice = Signal(str, str, str, str)
    notice_cleared = Signal(str)
    server_changed = Signal(str)
    account_known = Signal(str)

    def __init__(
        self,
        runner: TaskRunner,
        server_url: str,
        locale: str,
        parent: QObject | None = None,
        *,
        retry_initial_s: float = 2.0,
        retry_max_s: float = 60.0,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.locale = locale
        self.backend = Backend(server_url)
        self.online: bool | None = None  # None: not known yet
        self.customer: Customer | None = None
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self._retry_attempt = 0
        self._retry_timer = QTimer(self)
        self._retry_timer.setSingleShot(True)
        self._retry_timer.timeout.connect(self.check_health)
        self._health_pending = False
        self._pending_identity: str | None = None
        self._restore_tried = False
        self._account_looked_up = False
        self._problem_shown = False
        self._started = False

    @property
    def server_url(self) -> str:
        return self.backend.server_url

    @property
    def retry_interval_s(self) -> float:
        """The wait before the next health check while offline."""
        return float(min(self.retry_max_s, self.retry_initial_s * 2.0**self._retry_attempt))

    # -- lifecycle ---------------------------------------------------------

    def start(self, identity: str | None = None) -> None:
        """Begin: check the service, then sign in (with ``identity`` if given)."""
        self._started = True
        if identity:
            self._pending_identity = identity
        self.check_health()

    def set_server(self, server_url: str) -> None:
        """Switch to another service: new connection, cache and token store."""
        if server_url == self.backend.server_url:
            self.retry_now()
            return
        log.info("switching service to %s", server_url)
        self.runner.supersede("search")
        self.backend = Backend(server_url)
        self.customer = None
        self.customer_changed.emit(None)
        self._restore_tried = False
        self._account_looked_up = False
        self._retry_attempt = 0
        self._retry_timer.stop()
        self._health_pending = False
        self.online = None
        self.server_changed.emit(server_url)
        self.check_health()

    def retry_now(self) -> None:
        self._retry_timer.stop()
        self.check_health()

    # -- health and backoff -------------------------------------------------

    def check_health(self) -> None:
        if self._health_pending:
            return
        self._health_pending = True
        backend = self.backend
        self.runner.run_task(
            lambda: backend.api.health(),
            lambda health: self._on_health_ok(backend, health),
            lambda exc: self._on_health_error(backend, exc),
        )

    def _on_health_ok(self, backend: Backend, health: Any) -> None:
        if backend is not self.backend:
            return
        self._health_pending = False
        log.info(
            "service %s is up (version %s)", backend.server_url, getattr(health, "version", "?")
        )
        self.notice_cleared.emit("server")
        self._set_online(True)
        self._after_online()

    def _on_health_error(self, backend: Backend, exc: BaseException) -> None:
        if backend is not self.backend:
            return
        self._health_pending = False
        code = exception_code(exc)
        if code != "offline":
            # Something answers but it is not a usable help service.
            log.warning("service check failed: %s", exc)
            self.notice.emit("server", "error", error_message(code), str(exc))
        self._set_online(False)

    def _set_online(self, online: bool) -> None:
        if online:
            self._retry_attempt = 0
            self._retry_timer.stop()
        else:
            self._schedule_retry()
        if online != self.online:
            self.online = online
            log.info("service %s is %s", self.backend.server_url, "online" if online else "offline")
            self.online_changed.emit(online)
        if not online:
            self._lookup_account()

    def _lookup_account(self) -> None:
        """Offline and nobody signed in: say who the customer is anyway (the
        host's identity, else the last session's), so a ticket written now is
        kept for them. Nothing is trusted from it: the service checks the
        session when the ticket is sent."""
        if self.customer is not None or self._account_looked_up or not self._started:
            return
        self._account_looked_up = True
        backend = self.backend
        jwt = self._pending_identity

        def find() -> str | None:
            subject = unverified_subject(jwt) if jwt else None
            if subject:
                return subject
            external_id = backend.tokens.last_customer()
            if external_id and backend.tokens.load(external_id):
                return external_id
            return None

        def found(external_id: str | None) -> None:
            if backend is self.backend and external_id and self.customer is None:
                log.info("offline; keeping new tickets for customer %s", external_id)
                self.account_known.emit(external_id)

        self.runner.run_task(find, found, lambda exc: log.info("no known customer: %s", exc))

    def _schedule_retry(self) -> None:
        if self._retry_timer.isActive() or self._health_pending:
            return
        interval = self.retry_interval_s
        self._retry_attempt += 1
        self._retry_timer.start(int(interval * 1000))

    def mark_offline(self) -> None:
        """A request found the service unreachable."""
        self._set_online(False)

    # -- sign-in -----------------------------------------------------------

    def submit_identity(self, jwt: str) -> None:
        """Exchange a host JWT for a session (now if online, else when online)."""
        self._pending_identity = jwt
        if self.online:
            self._exchange_pending()
        elif not self._health_pending:
            self.retry_now()

    def _after_online(self) -> None:
        if self._pending_identity:
            self._exchange_pending()
        elif self.customer is None and not self._restore_tried:
            self._restore()

    def _exchange_pending(self) -> None:
        jwt, self._pending_identity = self._pending_identity, None
        if not jwt:
            return
        backend = self.backend
        self.runner.run_task(
            lambda: backend.exchange(jwt),
            lambda result: self._on_signed_in(backend, result),
            lambda exc: self._on_sign_in_error(backend, exc, jwt),
            serial=True,
        )

    def _restore(self) -> None:
        self._restore_tried = True
        backend = self.backend
        self.runner.run_task(
            backend.restore,
            lambda result: self._on_signed_in(backend, result),
            lambda exc: self._on_restore_error(backend, exc),
            serial=True,
        )

    def _on_signed_in(self, backend: Backend, result: SignIn | None) -> None:
        if backend is not self.backend or result is None:
            return
        self.notice_cleared.emit("identity")
        self.customer = result.customer
        if result.customer is not None:
            log.info("signed in as customer %s", result.customer.external_id)
        self.customer_changed.emit(result.customer)
        if not result.persistent and not self._problem_shown:
            self._problem_shown = True
            self.notice.emit(
                "keyring",
                "info",
                self.tr(
                    "Your sign-in cannot be saved on this computer, so it is kept only "
                    "until HelpBridge closes."
                ),
                result.problem or "",
            )

    def _on_sign_in_error(self, backend: Backend, exc: BaseException, jwt: str) -> None:
        if backend is not self.backend:
            return
        code = exception_code(exc)
        if code == "offline":
            # Keep the token and try again once the service is back.
            self._pending_identity = self._pending_identity or jwt
            self.mark_offline()
            return
        log.warning("identity exchange refused: %s", code)
        self.notice.emit("identity", "error", error_message(code), str(getattr(exc, "message", "")))

    def _on_restore_error(self, backend: Backend, exc: BaseException) -> None:
        if backend is not self.backend:
            return
        code = exception_code(exc)
        if code == "offline":
            self._restore_tried = False
            self.mark_offline()
            return
        log.warning("could not restore the previous session: %s", exc)

    def identity_input_error(self, detail: str) -> None:
        """The host's identity could not be read (stdin): say so, keep going."""
        self.notice.emit("identity", "error", error_message("identity_input"), detail)

    # -- reads ---------------------------------------------------------------

    def _read(
        self,
        net: Callable[[ApiClient], T],
        save: Callable[[OfflineCache, T], None],
        load: Callable[[OfflineCache], T | None],
        on_done: Callable[[Fetched[T]], None],
        on_error: Callable[[BaseException], None],
        *,
        latest: str | None = None,
    ) -> None:
        backend = self.backend
        online = self.online is not False

        def done(fetched: Fetched[T]) -> None:
            if backend is not self.backend:
                return
            if fetched.offline and online:
                self.mark_offline()
            on_done(fetched)

        def failed(exc: BaseException) -> None:
            if backend is not self.backend:
                return
            on_error(exc)

        def job() -> Fetched[T]:
            return backend.fetch(online, net, save, load)

        if latest is None:
            self.runner.run_task(job, done, failed)
        else:
            self.runner.run_latest(latest, job, done, failed)

    def search(
        self,
        query: str,
        on_done: Callable[[Fetched[SearchResults]], None],
        on_error: Callable[[BaseException], None],
        *,
        category: str | None = None,
        page: int = 1,
        per_page: int = 10,
        channel: str = "search",
    ) -> None:
        """Search; only the newest search of a ``channel`` reports back (older
        ones are stale). The ticket form's suggestions use their own key, so
        they never cancel the Help page's search."""
        locale = self.locale

        def key() -> str:
            from client.core.cache import search_key

            return search_key(query, locale=locale, category=category, page=page, per_page=per_page)

        self._read(
            lambda api: api.search(
                query, locale=locale, category=category, page=page, per_page=per_page
            ),
            lambda cache, value: cache.put_search(key(), value),
            lambda cache: cache.get_search(key()),
            on_done,
            on_error,
            latest=channel,
        )

    def cancel_search(self) -> None:
        self.runner.supersede("search")

    def categories(
        self,
        on_done: Callable[[Fetched[CategoryList]], None],
        on_error: Callable[[BaseException], None],
        *,
        channel: str = "categories",
    ) -> None:
        """The knowledge base's categories in the UI language; only the newest
        request of a ``channel`` reports back."""
        locale = self.locale
        self._read(
            lambda api: api.categories(locale=locale),
            lambda cache, value: cache.put_categories(locale, value),
            lambda cache: cache.get_categories(locale),
            on_done,
            on_error,
            latest=channel,
        )

    def article(
        self,
        article_id: int,
        on_done: Callable[[Fetched[Article]], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        self._read(
            lambda api: api.article(article_id),
            lambda cache, value: cache.put_article(value),
            lambda cache: cache.get_article(article_id),
            on_done,
            on_error,
            latest="article",
        )
