"""HTTP client of the vendor service's REST API (v1).

Blocking, thread-safe, meant to be called from worker threads only. Every
answer is parsed into the protocol models; every failure becomes an
:class:`ApiError` whose ``code`` is an :class:`~protocol.models.ErrorCode`
value or one of ``offline`` (:class:`OfflineError`), ``bad_response`` and
``incompatible_server``, so the UI can translate it.

The access token is refreshed automatically, once, when the service answers
401 ``session_expired``; concurrent callers share a single refresh. Tokens
never appear in exceptions, log lines or ``repr``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import requests.auth
from pydantic import BaseModel, ValidationError

from client import __version__
from protocol import API_PREFIX, PROTOCOL_VERSION
from protocol.models import (
    Article,
    CategoryList,
    Customer,
    ErrorBody,
    ErrorCode,
    Health,
    IdentityExchange,
    RefreshRequest,
    SearchResults,
    Session,
)

__all__ = ["MAX_RESPONSE_BYTES", "ApiClient", "ApiError", "OfflineError"]

log = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 8 * 1024 * 1024
"""Larger answers are refused (the biggest legitimate one, an article, is ~1 MB)."""

M = TypeVar("M", bound=BaseModel)

_SESSION_CODES = frozenset(
    {
        ErrorCode.session_missing,
        ErrorCode.session_invalid,
        ErrorCode.session_expired,
        ErrorCode.session_revoked,
    }
)


class ApiError(Exception):
    """The service refused a request, or its answer could not be used.

    ``code`` is an ``ErrorCode`` value, ``"offline"``, ``"bad_response"`` or
    ``"incompatible_server"``; ``message`` is English, for logs;
    ``status`` is the HTTP status when there was one.
    """

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, status={self.status!r})"


class OfflineError(ApiError):
    """The service could not be reached (refused, DNS, TLS, timeout)."""

    def __init__(self, message: str) -> None:
        super().__init__("offline", message, None)


class _Tokens:
    """The current session pair; a plain holder so it never shows in a repr."""

    __slots__ = ("access", "refresh")

    def __init__(self) -> None:
        self.access: str | None = None
        self.refresh: str | None = None

    def __repr__(self) -> str:
        return "_Tokens(<hidden>)"


class _Bearer(requests.auth.AuthBase):
    """Sets ``Authorization: Bearer`` when there is a token; no-op otherwise."""

    def __init__(self, token: str | None) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._token:
            request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "_Bearer(<hidden>)"


class ApiClient:
    """Client of one HelpBridge service, e.g. ``ApiClient("https://help.example.com")``."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        base_url = base_url.strip().rstrip("/")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) service address: {base_url!r}")
        self.base_url = base_url
        self.timeout = timeout
        self.on_tokens_changed: Callable[[Session], None] | None = None
        self._tokens = _Tokens()
        self._token_lock = threading.Lock()
        # Held for the whole refresh round trip so concurrent 401s refresh once.
        self._refresh_lock = threading.RLock()
        # requests.Session is not thread-safe: one per worker thread.
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ApiClient({self.base_url!r}, signed_in={self.has_session})"

    # --- session ------------------------------------------------------------

    @property
    def has_session(self) -> bool:
        """Whether an access or refresh token is set."""
        with self._token_lock:
            return self._tokens.access is not None or self._tokens.refresh is not None

    def set_session(self, access_token: str | None, refresh_token: str | None) -> None:
        """Use these tokens from now on (None, None: signed out)."""
        with self._token_lock:
            self._tokens.access = access_token or None
            self._tokens.refresh = refresh_token or None

    def close(self) -> None:
        """Close the connection pools of every thread."""
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for http in sessions:
            http.close()

    # --- endpoints ----------------------------------------------------------

    def health(self) -> Health:
        """``GET /healthz``; refuses a service speaking another protocol version."""
        health = self._call("GET", "/healthz", Health, auth=False)
        if health.protocol != PROTOCOL_VERSION:
            raise ApiError(
                "incompatible_server",
                f"the service speaks protocol {health.protocol}, this portal {PROTOCOL_VERSION}",
            )
        return health

    def exchange_identity(self, jwt: str) -> Session:
        """Trade the host's signed identity token for a customer session."""
        # Empty or oversized tokens are sent as they are: the service answers
        # with the precise reason code (token_missing, token_malformed...).
        payload = IdentityExchange(token=jwt).model_dump(mode="json")
        session = self._call("POST", "/auth/identity", Session, payload=payload, auth=False)
        self._adopt(session)
        return session

    def refresh(self) -> Session:
        """Get a new token pair with the refresh token (the old one stops working)."""
        with self._refresh_lock:
            with self._token_lock:
                refresh_token = self._tokens.refresh
            if refresh_token is None:
                raise ApiError(ErrorCode.session_missing.value, "not signed in", None)
            try:
                payload = RefreshRequest(refresh_token=refresh_token).model_dump(mode="json")
            except ValidationError:
                self.set_session(None, None)
                raise ApiError(
                    ErrorCode.session_invalid.value, "stored refresh token is unusable", None
                ) from None
            try:
                session = self._call("POST", "/auth/refresh", Session, payload=payload, auth=False)
            except ApiError as exc:
                if exc.code in _SESSION_CODES:
                    # Expired or revoked for good: only a new identity helps now.
                    self.set_session(None, None)
                raise
            self._adopt(session)
            return session

    def logout(self) -> None:
        """Revoke the session on the service and forget it here.

        The local tokens are dropped even when the service cannot be reached,
        so signing out always works on this machine.
        """
        try:
            if self.has_session:
                self._request("POST", "/auth/logout", auth=True)
        except ApiError as exc:
            if exc.code not in _SESSION_CODES:
                raise
        finally:
            self.set_session(None, None)

    def me(self) -> Customer:
        return self._call("GET", "/me", Customer, auth=True)

    # The knowledge base may be public; when signed in the session is sent
    # anyway, so a service that restricts articles to customers still answers.

    def search(
        self,
        query: str,
        *,
        locale: str | None = None,
        product: str | None = None,
        category: str | None = None,
        page: int = 1,
        per_page: int = 10,
    ) -> SearchResults:
        params: dict[str, str | int] = {"q": query, "page": page, "per_page": per_page}
        for name, value in (("locale", locale), ("product", product), ("category", category)):
            if value:
                params[name] = value
        return self._call("GET", "/kb/search", SearchResults, params=params, auth=self.has_session)

    def categories(self, locale: str | None = None) -> CategoryList:
        params = {"locale": locale} if locale else None
        return self._call(
            "GET", "/kb/categories", CategoryList, params=params, auth=self.has_session
        )

    def article(self, article_id: int) -> Article:
        return self._call("GET", f"/kb/articles/{int(article_id)}", Article, auth=self.has_session)

    # --- plumbing -----------------------------------------------------------

    def _adopt(self, session: Session) -> None:
        self.set_session(session.access_token, session.refresh_token)
        callback = self.on_tokens_changed
        if callback is None:
            return
        try:
            callback(session)
        except Exception:
            # The session itself is fine; persisting it is the caller's concern.
            log.exception("on_tokens_changed callback failed")

    def _http(self) -> requests.Session:
        http: requests.Session | None = getattr(self._local, "http", None)
        if http is None:
            http = requests.Session()
            http.headers["User-Agent"] = f"HelpBridge/{__version__}"
            http.headers["Accept"] = "application/json"
            self._local.http = http
            with self._sessions_lock:
                self._sessions.append(http)
        return http

    def _url(self, path: str) -> str:
        prefix = "" if path == "/healthz" else API_PREFIX
        return f"{self.base_url}{prefix}{path}"

    def _call(
        self,
        method: str,
        path: str,
        model: type[M],
        *,
        auth: bool,
        params: Mapping[str, Any] | None = None,
        payload: Any = None,
    ) -> M:
        """A request whose answer is ``model``."""
        status, body = self._request(method, path, auth=auth, params=params, payload=payload)
        try:
            return model.model_validate_json(body)
        except ValidationError as exc:
            where = ".".join(str(p) for p in exc.errors()[0].get("loc", ())) or "body"
            raise ApiError(
                "bad_response",
                f"the service's answer is not a valid {model.__name__} ({where})",
                status,
            ) from None

    def _request(
        self,
        method: str,
        path: str,
        *,
        auth: bool,
        params: Mapping[str, Any] | None = None,
        payload: Any = None,
    ) -> tuple[int, bytes]:
        """One request (refreshing and retrying once when ``auth``); raises on errors."""
        if not auth:
            return _check(self._send(method, path, None, params, payload))
        with self._token_lock:
            access = self._tokens.access
            have_refresh = self._tokens.refresh is not None
        if access is None and have_refresh:
            # Started from a stored refresh token: get an access token first.
            access = self._refresh_from(None)
        status, body = self._send(method, path, access, params, payload)
        if status == 401:
            code = _error_code(body)
            with self._token_lock:
                current = self._tokens.access
            if code in _SESSION_CODES and current is not None and current != access:
                # Another thread refreshed meanwhile (the service may already
                # call the old token unknown): retry with the new one.
                status, body = self._send(method, path, current, params, payload)
            elif code == ErrorCode.session_expired.value:
                access = self._refresh_from(access)
                status, body = self._send(method, path, access, params, payload)
        return _check((status, body))

    def _refresh_from(self, stale_access: str | None) -> str | None:
        """Refresh unless another thread already replaced ``stale_access``."""
        with self._refresh_lock:
            with self._token_lock:
                current = self._tokens.access
            if current is not None and current != stale_access:
                return current
            return self.refresh().access_token

    def _send(
        self,
        method: str,
        path: str,
        access: str | None,
        params: Mapping[str, Any] | None,
        payload: Any,
    ) -> tuple[int, bytes]:
        started = time.monotonic()
        try:
            with self._http().request(
                method,
                self._url(path),
                params=params,
                json=payload,
                # Always an auth object: keeps requests from adding ~/.netrc credentials.
                auth=_Bearer(access),
                timeout=self.timeout,
                stream=True,
                allow_redirects=False,
            ) as response:
                body = _read_limited(response)
                status = response.status_code
        except requests.Timeout:
            raise OfflineError(
                f"{self.base_url} did not answer within {self.timeout:g} s"
            ) from None
        except requests.exceptions.SSLError:
            raise OfflineError(f"secure connection to {self.base_url} failed") from None
        except requests.ConnectionError:
            raise OfflineError(f"cannot connect to {self.base_url}") from None
        except requests.RequestException as exc:
            raise ApiError(
                "bad_response", f"{method} {path} failed: {type(exc).__name__}"
            ) from None
        # Path only: query strings may hold what the customer typed.
        log.debug(
            "%s %s -> %d (%.0f ms)", method, path, status, (time.monotonic() - started) * 1000
        )
        return status, body


def _check(reply: tuple[int, bytes]) -> tuple[int, bytes]:
    """Raise the service's error for a non-2xx answer."""
    status, body = reply
    if status >= 400:
        raise _error_from(status, body)
    if not 200 <= status < 300:
        raise ApiError("bad_response", f"unexpected HTTP status {status}", status)
    return reply


def _read_limited(response: requests.Response) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
        raise ApiError("bad_response", "the service's answer is too large", response.status_code)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise ApiError(
                "bad_response", "the service's answer is too large", response.status_code
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _error_code(body: bytes) -> str | None:
    """The ``error.code`` of an ErrorBody-shaped answer, leniently."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            return str(error["code"])
    return None


def _error_from(status: int, body: bytes) -> ApiError:
    try:
        parsed = ErrorBody.model_validate_json(body)
    except ValidationError:
        # A code this portal does not know yet still beats "bad response".
        code = _error_code(body)
        if code is not None and code.isidentifier() and len(code) <= 64:
            return ApiError(code, f"HTTP {status} {code}", status)
        return ApiError("bad_response", f"HTTP {status} without an error body", status)
    return ApiError(parsed.error.code.value, parsed.error.message[:500], status)
