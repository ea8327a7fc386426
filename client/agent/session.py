"""The console's connection to the service: sign-in, the stored session,
and a single way to run API calls off the GUI thread.

:class:`AgentBackend` holds the blocking objects (an
:class:`~client.core.agent_api.AgentApi`, the
:class:`~client.core.tokens.TokenStore`); only worker threads touch it.
:class:`Console` lives in the GUI thread, owns no widget, and hands every
call to the :class:`~client.ui.tasks.TaskRunner`.

The refresh token is kept in the OS keyring under the service URL with the
user name ``agent:<e-mail>`` (the prefix keeps it apart from the customer
portal's entries on the same machine); the password is never stored. The
last e-mail used is an ordinary setting.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, QSettings, Signal

from client.agent.texts import error_message, exception_code
from client.ui.tasks import TaskRunner

if TYPE_CHECKING:
    from client.core.agent_api import AgentApi
    from client.core.tokens import TokenStore
    from protocol.models import Agent, Session

log = logging.getLogger(__name__)

T = TypeVar("T")

ORGANIZATION = "HelpBridge"
APPLICATION = "Agent"
DEFAULT_SERVER_URL = "http://127.0.0.1:8765"
USER_PREFIX = "agent:"
DEFAULT_CAPACITY = 3
MAX_CAPACITY = 20

SESSION_CODES = frozenset(
    {"session_missing", "session_invalid", "session_expired", "session_revoked", "account_disabled"}
)


def open_settings() -> QSettings:
    """QSettings org "HelpBridge", app "Agent"; an ini file in the data
    directory when ``HELPBRIDGE_DATA_DIR`` is set (tests, portable use)."""
    if os.environ.get("HELPBRIDGE_DATA_DIR", "").strip():
        from client.core.paths import data_dir

        return QSettings(str(data_dir() / "agent.ini"), QSettings.Format.IniFormat)
    return QSettings(ORGANIZATION, APPLICATION)


class ConsoleSettings:
    """Typed access to the console's few settings."""

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store if store is not None else open_settings()

    def _get(self, key: str, default: str = "") -> str:
        return str(self.store.value(key, default) or default)

    @property
    def server_url(self) -> str:
        from client.ui.settings import normalize_server_url

        return normalize_server_url(self._get("server/url")) or DEFAULT_SERVER_URL

    @server_url.setter
    def server_url(self, url: str) -> None:
        self.store.setValue("server/url", url)

    @property
    def email(self) -> str:
        return self._get("agent/email")

    @email.setter
    def email(self, value: str) -> None:
        self.store.setValue("agent/email", value)

    @property
    def language(self) -> str:
        return self._get("ui/language", "system")

    @property
    def capacity(self) -> int:
        try:
            value = int(self._get("chat/capacity", str(DEFAULT_CAPACITY)))
        except ValueError:
            return DEFAULT_CAPACITY
        return max(1, min(MAX_CAPACITY, value))

    @capacity.setter
    def capacity(self, value: int) -> None:
        self.store.setValue("chat/capacity", max(1, min(MAX_CAPACITY, int(value))))

    def sync(self) -> None:
        self.store.sync()


class AgentBackend:
    """Blocking objects for one service URL; created lazily on a worker."""

    def __init__(self, server_url: str, *, timeout_s: float = 10.0) -> None:
        self.server_url = server_url
        self.timeout_s = timeout_s
        self._lock = threading.RLock()
        self._api: AgentApi | None = None
        self._tokens: TokenStore | None = None
        self.email: str | None = None

    @property
    def api(self) -> AgentApi:
        with self._lock:
            if self._api is None:
                from client.core.agent_api import AgentApi

                api = AgentApi(self.server_url, timeout=self.timeout_s)
                api.on_tokens_changed = self._persist
                self._api = api
            return self._api

    @property
    def tokens(self) -> TokenStore:
        with self._lock:
            if self._tokens is None:
                from client.core.tokens import TokenStore

                self._tokens = TokenStore(self.server_url)
            return self._tokens

    def _persist(self, session: Session) -> None:
        """Called by the API client (on a worker) with every new token pair."""
        with self._lock:
            if session.agent is not None:
                self.email = session.agent.email
            email = self.email
        if not email:
            return
        try:
            self.tokens.save(USER_PREFIX + email, session.refresh_token)
        except Exception:
            # Only means signing in again next time.
            log.exception("could not store the refresh token")

    # -- blocking operations (worker threads only) ---------------------------

    def login(self, email: str, password: str) -> Session:
        self.api.health()
        session = self.api.login(email, password)
        self._persist(session)
        return session

    def restore(self, email: str) -> Session | None:
        """Sign in with the refresh token stored for ``email``, if any."""
        from client.core.api import ApiError

        if not email:
            return None
        user = USER_PREFIX + email
        token = self.tokens.load(user)
        if not token:
            return None
        self.api.health()
        with self._lock:
            self.email = email
        self.api.set_session(None, token)
        try:
            session = self.api.refresh()
        except ApiError as exc:
            if exc.code in SESSION_CODES or exc.status == 401:
                log.info("stored agent session no longer valid (%s)", exc.code)
                self.tokens.delete(user)
                self.api.set_session(None, None)
                if exc.code == "account_disabled":
                    raise
                return None
            raise
        return session

    def logout(self) -> None:
        with self._lock:
            email, self.email = self.email, None
        try:
            self.api.logout()
        finally:
            if email:
                self.tokens.delete(USER_PREFIX + email)

    def keyring_problem(self) -> str | None:
        tokens = self.tokens
        return None if tokens.persistent else tokens.problem


class Console(QObject):
    """Sign-in state and API access for the console's widgets.

    Signals:
        signed_in(object): the signed-in :class:`~protocol.models.Agent`.
        signed_out(str): the session ended; the text says why ("" when the
            agent signed out).
        online_changed(bool): the service answered (True) or could not be reached.
        sign_in_failed(str, str): (code, translated message) of a refused sign-in.
        notice(str, str): (kind, text) for the status bar.
    """

    signed_in = Signal(object)
    signed_out = Signal(str)
    online_changed = Signal(bool)
    sign_in_failed = Signal(str, str)
    notice = Signal(str, str)

    def __init__(
        self,
        runner: TaskRunner,
        settings: ConsoleSettings,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.settings = settings
        self.backend = AgentBackend(settings.server_url)
        self.agent: Agent | None = None
        self.online: bool | None = None
        self.access_token: str | None = None
        self.known_agents: dict[int, str] = {}
        """Agents met so far (assignees, presence): whom a ticket can go to."""

    @property
    def server_url(self) -> str:
        return self.backend.server_url

    @property
    def role(self) -> str:
        return self.agent.role.value if self.agent is not None else ""

    def remember_agent(self, agent_id: int, name: str) -> None:
        self.known_agents[int(agent_id)] = name

    # -- sign-in -------------------------------------------------------------

    def sign_in(self, server_url: str, email: str, password: str) -> None:
        """Sign in with a password; reports through signed_in / sign_in_failed."""
        email = email.strip()
        if server_url.rstrip("/") != self.backend.server_url:
            self.backend = AgentBackend(server_url.rstrip("/"))
        backend = self.backend
        self.runner.run_task(
            lambda: backend.login(email, password),
            lambda session: self._on_session(backend, session, server_url, email),
            lambda exc: self._on_sign_in_error(backend, exc),
            serial=True,
        )

    def restore(self) -> bool:
        """Try the stored refresh token of the last agent. False when there is
        no e-mail to try; otherwise reports like :meth:`sign_in` (a missing or
        stale token fails with code ``no_session``)."""
        email = self.settings.email
        if not email:
            return False
        backend = self.backend

        def done(session: Session | None) -> None:
            if session is None:
                if backend is self.backend:
                    self.sign_in_failed.emit("no_session", "")
                return
            self._on_session(backend, session, backend.server_url, email)

        self.runner.run_task(
            lambda: backend.restore(email),
            done,
            lambda exc: self._on_sign_in_error(backend, exc),
            serial=True,
        )
        return True

    def _on_session(self, backend: AgentBackend, session: Session, url: str, email: str) -> None:
        if backend is not self.backend:
            return
        self._set_online(True)
        self.agent = session.agent
        self.access_token = session.access_token
        if session.agent is not None:
            self.remember_agent(session.agent.id, session.agent.name)
        self.settings.server_url = backend.server_url
        self.settings.email = session.agent.email if session.agent else email
        self.settings.sync()
        log.info("agent signed in (%s)", self.role)
        self.signed_in.emit(session.agent)
        self.runner.run_task(backend.keyring_problem, self._on_keyring_problem)

    def _on_keyring_problem(self, problem: str | None) -> None:
        if problem:
            log.warning("keyring: %s", problem)
            self.notice.emit(
                "info",
                self.tr("Your sign-in cannot be saved on this computer: sign in again next time."),
            )

    def _on_sign_in_error(self, backend: AgentBackend, exc: BaseException) -> None:
        if backend is not self.backend:
            return
        code = exception_code(exc)
        if code == "offline":
            self._set_online(False)
        log.info("sign-in refused: %s", code)
        self.sign_in_failed.emit(code, error_message(code))

    def sign_out(self) -> None:
        backend = self.backend
        self.agent = None
        self.access_token = None
        self.runner.run_task(backend.logout, None, lambda exc: log.info("sign-out: %s", exc))
        self.signed_out.emit("")

    # -- calls ---------------------------------------------------------------

    def call(
        self,
        fn: Callable[[AgentApi], T],
        on_done: Callable[[T], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        *,
        latest: str | None = None,
        serial: bool = False,
    ) -> None:
        """Run ``fn(api)`` on a worker; callbacks on the GUI thread.

        Offline and ended sessions are handled here (status bar, sign-in
        dialog) before ``on_error`` sees the exception.
        """
        backend = self.backend

        def done(value: Any) -> None:
            if backend is not self.backend:
                return
            self._set_online(True)
            if on_done is not None:
                on_done(value)

        def failed(exc: BaseException) -> None:
            if backend is not self.backend:
                return
            code = exception_code(exc)
            if code == "offline":
                self._set_online(False)
            elif code in SESSION_CODES and self.agent is not None:
                self.agent = None
                self.signed_out.emit(error_message(code))
            if on_error is not None:
                on_error(exc)
            else:
                log.warning("request failed: %s", exc)

        def job() -> T:
            return fn(backend.api)

        if latest is not None:
            self.runner.run_latest(latest, job, done, failed)
        else:
            self.runner.run_task(job, done, failed, serial=serial)

    def _set_online(self, online: bool) -> None:
        if online != self.online:
            self.online = online
            self.online_changed.emit(online)
