"""HTTP client of the vendor service's REST API (v1).

Blocking, thread-safe, meant to be called from worker threads only. Every
answer is parsed into the protocol models; every failure becomes an
:class:`ApiError` whose ``code`` is an :class:`~protocol.models.ErrorCode`
value or one of ``offline`` (:class:`OfflineError`), ``bad_response`` and
``incompatible_server``, so the UI can translate it.

The access token is refreshed automatically, once, when the service answers
401 ``session_expired``; concurrent callers share a single refresh. Tokens
never appear in exceptions, log lines or ``repr``.

Tickets: attachments are uploaded first (streamed from disk, never read
whole into memory) under a client-made key, then the ticket or reply names
them by id. Local file problems raise :class:`ApiError` too: ``too_large``
and ``invalid_request`` (empty) before anything is sent, and ``local_file``
when a file cannot be read or a download cannot be written.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TypeVar
from urllib.parse import urlsplit

import requests
import requests.auth
from pydantic import BaseModel, ValidationError

from client import __version__
from protocol import API_PREFIX, PROTOCOL_VERSION
from protocol.assist import (
    ASSIST_PREFIX,
    AssistCode,
    AssistSession,
    AssistSessionList,
    ClipboardConsent,
    Consent,
    ControlConsent,
    Pause,
)
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
from protocol.tickets import (
    CLIENT_KEY,
    DEFAULT_MAX_FILE_BYTES,
    AttachmentInfo,
    CommentCreate,
    CsatIn,
    Ticket,
    TicketCreate,
    TicketList,
    TicketStatus,
)

__all__ = [
    "MAX_DOWNLOAD_BYTES",
    "MAX_RESPONSE_BYTES",
    "ApiClient",
    "ApiError",
    "OfflineError",
    "Progress",
]

log = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 8 * 1024 * 1024
"""Larger answers are refused (the biggest legitimate one, an article, is ~1 MB)."""

MAX_DOWNLOAD_BYTES = 2 * 1024 * 1024 * 1024
"""A downloaded attachment larger than this is abandoned (the service's own
limit is far lower; this only stops a broken answer from filling the disk)."""

_UPLOAD_CHUNK = 64 * 1024
_ASSIST = ASSIST_PREFIX.removeprefix(API_PREFIX)  # "/assist": _url adds the API prefix
_CLIENT_KEY = re.compile(CLIENT_KEY)

Progress = Callable[[int, int], None]
"""``progress(bytes_done, bytes_total)``; raising from it abandons the transfer
(the exception propagates to the caller unchanged)."""

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

    # --- tickets ------------------------------------------------------------

    def upload_attachment(
        self,
        path_or_bytes: Path | str | bytes,
        filename: str,
        client_key: str,
        *,
        progress: Progress | None = None,
        max_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ) -> AttachmentInfo:
        """``PUT /attachments/{client_key}``: one file as the raw body.

        A path is streamed from disk. The size is checked before anything is
        sent; the same ``client_key`` again returns the stored attachment, so
        retrying after any failure is safe.
        """
        if not _CLIENT_KEY.match(client_key):
            raise ApiError(ErrorCode.invalid_request.value, "malformed attachment key")
        if not filename or len(filename) > 1000:
            raise ApiError(ErrorCode.invalid_request.value, "a file needs a name (1-1000 chars)")
        body = _UploadBody.open(path_or_bytes, filename, max_bytes, progress)
        try:
            return self._call(
                "PUT",
                f"/attachments/{client_key}",
                AttachmentInfo,
                auth=True,
                params={"filename": filename},
                body=body.rewound,
                headers={"Content-Type": "application/octet-stream"},
            )
        finally:
            body.close()

    def create_ticket(self, ticket: TicketCreate) -> Ticket:
        """``POST /tickets``; the same ``client_key`` again returns the first ticket."""
        return self._call(
            "POST", "/tickets", Ticket, auth=True, payload=ticket.model_dump(mode="json")
        )

    def tickets(
        self,
        status: TicketStatus | Sequence[TicketStatus] | None = None,
        updated_since: datetime | None = None,
        page: int = 1,
        per_page: int = 20,
    ) -> TicketList:
        """The customer's tickets, most recently updated first."""
        params: dict[str, Any] = {"page": page, "per_page": per_page}
        if status is not None:
            statuses = [status] if isinstance(status, str) else list(status)
            params["status"] = [TicketStatus(s).value for s in statuses]
        if updated_since is not None:
            if updated_since.tzinfo is None:
                # Protocol times are UTC; a naive value is taken to be UTC too.
                updated_since = updated_since.replace(tzinfo=UTC)
            params["updated_since"] = updated_since.isoformat()
        return self._call("GET", "/tickets", TicketList, auth=True, params=params)

    def ticket(self, ticket_id: int) -> Ticket:
        return self._call("GET", f"/tickets/{int(ticket_id)}", Ticket, auth=True)

    def reply(self, ticket_id: int, comment: CommentCreate) -> Ticket:
        """Add the customer's reply; the same ``client_key`` again stores nothing new."""
        return self._call(
            "POST",
            f"/tickets/{int(ticket_id)}/comments",
            Ticket,
            auth=True,
            payload=comment.model_dump(mode="json"),
        )

    def resolve(self, ticket_id: int) -> Ticket:
        return self._call("POST", f"/tickets/{int(ticket_id)}/resolve", Ticket, auth=True)

    def reopen(self, ticket_id: int) -> Ticket:
        return self._call("POST", f"/tickets/{int(ticket_id)}/reopen", Ticket, auth=True)

    def rate(self, ticket_id: int, csat: CsatIn) -> Ticket:
        return self._call(
            "POST",
            f"/tickets/{int(ticket_id)}/csat",
            Ticket,
            auth=True,
            payload=csat.model_dump(mode="json"),
        )

    def download_attachment(
        self, attachment_id: int, dest: Path, *, progress: Progress | None = None
    ) -> Path:
        """Save an attachment to ``dest``, which appears whole or not at all."""
        return self.download(f"/attachments/{int(attachment_id)}", dest, progress=progress)

    # --- endpoints without a method of their own ---------------------------

    def get_model(self, path: str, model: type[M], params: Mapping[str, Any] | None = None) -> M:
        """``GET path`` (signed in) answered by ``model``, with the token
        refresh and error mapping of every other call (used for the chat
        endpoints, whose models the realtime protocol module defines)."""
        return self._call("GET", path, model, auth=True, params=params)

    def download(
        self,
        path: str,
        dest: Path,
        *,
        params: Mapping[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> Path:
        """``GET path`` (signed in) saved to ``dest``, which appears whole or
        not at all; returns ``dest``."""
        dest = Path(dest)
        self._request("GET", path, auth=True, params=params, sink=_DownloadSink(dest, progress))
        return dest

    # --- remote assist (the customer's side) -------------------------------

    def create_assist_code(self) -> AssistCode:
        """``POST /assist/codes``: a new one-time code for "Get remote help"
        (it replaces the customer's previous one)."""
        return self._call("POST", f"{_ASSIST}/codes", AssistCode, auth=True)

    def assist_session(self, session_id: int) -> AssistSession:
        return self._call("GET", f"{_ASSIST}/{int(session_id)}", AssistSession, auth=True)

    def assist_sessions(self) -> AssistSessionList:
        """The customer's sessions that are not over yet."""
        return self._call("GET", f"{_ASSIST}/sessions", AssistSessionList, auth=True)

    def assist_consent(self, session_id: int, consent: Consent) -> AssistSession:
        """Answer a request: allow (view only) or deny; 409 if no longer asked."""
        return self._assist_post(session_id, "consent", consent)

    def assist_control_consent(self, session_id: int, consent: ControlConsent) -> AssistSession:
        """Grant control, refuse it, or take it back (Stop control)."""
        return self._assist_post(session_id, "control-consent", consent)

    def assist_clipboard(self, session_id: int, consent: ClipboardConsent) -> AssistSession:
        return self._assist_post(session_id, "clipboard", consent)

    def assist_pause(self, session_id: int, pause: Pause) -> AssistSession:
        return self._assist_post(session_id, "pause", pause)

    def end_assist(self, session_id: int) -> AssistSession:
        """End the session (idempotent once it has ended)."""
        return self._call("POST", f"{_ASSIST}/{int(session_id)}/end", AssistSession, auth=True)

    def _assist_post(self, session_id: int, action: str, body: BaseModel) -> AssistSession:
        return self._call(
            "POST",
            f"{_ASSIST}/{int(session_id)}/{action}",
            AssistSession,
            auth=True,
            payload=body.model_dump(mode="json"),
        )

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
        body: Callable[[], Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> M:
        """A request whose answer is ``model``."""
        status, answer = self._request(
            method, path, auth=auth, params=params, payload=payload, body=body, headers=headers
        )
        try:
            return model.model_validate_json(answer)
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
        body: Callable[[], Any] | None = None,
        headers: Mapping[str, str] | None = None,
        sink: _DownloadSink | None = None,
    ) -> tuple[int, bytes]:
        """One request (refreshing and retrying once when ``auth``); raises on errors.

        ``body`` makes a fresh request body for each attempt (an upload is
        sent again after a refresh); ``sink`` receives a successful answer's
        body instead of memory.
        """
        extra = _Extra(body, headers, sink)
        if not auth:
            return _check(self._send(method, path, None, params, payload, extra))
        with self._token_lock:
            access = self._tokens.access
            have_refresh = self._tokens.refresh is not None
        if access is None and have_refresh:
            # Started from a stored refresh token: get an access token first.
            access = self._refresh_from(None)
        status, answer = self._send(method, path, access, params, payload, extra)
        if status == 401:
            code = _error_code(answer)
            with self._token_lock:
                current = self._tokens.access
            if code in _SESSION_CODES and current is not None and current != access:
                # Another thread refreshed meanwhile (the service may already
                # call the old token unknown): retry with the new one.
                status, answer = self._send(method, path, current, params, payload, extra)
            elif code == ErrorCode.session_expired.value:
                access = self._refresh_from(access)
                status, answer = self._send(method, path, access, params, payload, extra)
        return _check((status, answer))

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
        extra: _Extra | None = None,
    ) -> tuple[int, bytes]:
        started = time.monotonic()
        extra = extra or _Extra()
        try:
            with self._http().request(
                method,
                self._url(path),
                params=params,
                json=payload,
                data=extra.body() if extra.body is not None else None,
                headers=extra.headers,
                # Always an auth object: keeps requests from adding ~/.netrc credentials.
                auth=_Bearer(access),
                timeout=self.timeout,
                stream=True,
                allow_redirects=False,
            ) as response:
                status = response.status_code
                if extra.sink is not None and 200 <= status < 300:
                    extra.sink.write(response)
                    body = b""
                else:
                    body = _read_limited(response)
        except _LocalFileError as exc:
            raise ApiError("local_file", exc.message) from None
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


class _Extra:
    """What a few requests add: a body factory, headers, a download sink."""

    __slots__ = ("body", "headers", "sink")

    def __init__(
        self,
        body: Callable[[], Any] | None = None,
        headers: Mapping[str, str] | None = None,
        sink: _DownloadSink | None = None,
    ) -> None:
        self.body = body
        self.headers = headers
        self.sink = sink


class _LocalFileError(Exception):
    """A local file failed mid-transfer. Deliberately not an OSError, so that
    requests and urllib3 do not mistake it for a network failure."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n} bytes"


class _UploadBody:
    """A request body streamed from a file or bytes, with a known length.

    requests sends it with ``Content-Length`` (from ``__len__``) by calling
    ``read``; ``rewound`` starts it over for a retry.
    """

    def __init__(
        self,
        name: str,
        size: int,
        file: IO[bytes] | None,
        data: bytes | None,
        progress: Progress | None,
    ) -> None:
        self._name = name
        self._size = size
        self._file = file
        self._data = data
        self._progress = progress
        self._done = 0

    @classmethod
    def open(
        cls,
        source: Path | str | bytes,
        name: str,
        max_bytes: int,
        progress: Progress | None,
    ) -> _UploadBody:
        file: IO[bytes] | None = None
        data: bytes | None = None
        if isinstance(source, bytes | bytearray | memoryview):
            data = bytes(source)
            size = len(data)
        else:
            try:
                file = open(source, "rb")  # noqa: SIM115 - closed by close()
                info = os.fstat(file.fileno())
            except OSError as exc:
                if file is not None:
                    file.close()
                raise ApiError("local_file", f"cannot read {name}: {_reason(exc)}") from None
            size = info.st_size
            if not stat.S_ISREG(info.st_mode):
                file.close()
                raise ApiError("local_file", f"{name} is not a regular file")
        if size > max_bytes:
            if file is not None:
                file.close()
            raise ApiError(
                ErrorCode.too_large.value,
                f"{name} is {_mb(size)}; a file may be at most {_mb(max_bytes)}",
            )
        if size == 0:
            if file is not None:
                file.close()
            raise ApiError(ErrorCode.invalid_request.value, f"{name} is empty")
        return cls(name, size, file, data, progress)

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(_UPLOAD_CHUNK):
            yield chunk

    def rewound(self) -> _UploadBody:
        self._done = 0
        if self._file is not None:
            try:
                self._file.seek(0)
            except OSError as exc:
                raise ApiError("local_file", f"cannot read {self._name}: {_reason(exc)}") from None
        return self

    def read(self, n: int = -1) -> bytes:
        left = self._size - self._done
        if left <= 0:
            return b""
        n = left if n is None or n < 0 else min(n, left)
        if self._data is not None:
            chunk = self._data[self._done : self._done + n]
        else:
            assert self._file is not None
            try:
                chunk = self._file.read(n)
            except OSError as exc:
                raise _LocalFileError(f"cannot read {self._name}: {_reason(exc)}") from None
            if not chunk:
                # Shorter than announced: sending less would hang the request.
                raise _LocalFileError(f"{self._name} changed while being sent")
        self._done += len(chunk)
        if self._progress is not None:
            self._progress(self._done, self._size)
        return chunk

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class _DownloadSink:
    """Writes a successful answer to a temporary file next to ``dest``, then
    renames it into place, so ``dest`` is never half-written."""

    def __init__(self, dest: Path, progress: Progress | None) -> None:
        self.dest = dest
        self.progress = progress

    def write(self, response: requests.Response) -> None:
        declared = response.headers.get("Content-Length", "")
        total = int(declared) if declared.isdigit() else 0
        if total > MAX_DOWNLOAD_BYTES:
            raise ApiError("bad_response", "the attachment is too large", response.status_code)
        name = self.dest.name
        try:
            fd, tmp = tempfile.mkstemp(prefix=".part-", dir=self.dest.parent)
        except OSError as exc:
            raise ApiError("local_file", f"cannot write {name}: {_reason(exc)}") from None
        done = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in response.iter_content(_UPLOAD_CHUNK):
                    done += len(chunk)
                    if done > MAX_DOWNLOAD_BYTES:
                        raise ApiError(
                            "bad_response", "the attachment is too large", response.status_code
                        )
                    out.write(chunk)
                    if self.progress is not None:
                        self.progress(done, total or done)
            os.replace(tmp, self.dest)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise ApiError("local_file", f"cannot write {name}: {_reason(exc)}") from None
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


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
