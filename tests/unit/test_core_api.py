"""ApiClient against a scripted HTTP server on loopback.

The real service is exercised in tests/integration/test_api_client.py; this
server produces what the real one should never send (garbage, wrong
protocol, huge bodies, hangs) and lets the refresh dance be timed precisely.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from client.core.api import ApiClient, ApiError, OfflineError
from protocol.models import Customer, Session

Reply = tuple[int, bytes] | tuple[int, bytes, dict[str, str]]


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    auth: str | None
    body: Any


@dataclass
class FakeService:
    url: str = ""
    routes: dict[tuple[str, str], Callable[[Seen], Reply]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def route(self, method: str, path: str) -> Callable[[Callable[[Seen], Reply]], None]:
        def register(fn: Callable[[Seen], Reply]) -> None:
            self.routes[(method, path)] = fn

        return register

    def calls(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]


def js(status: int, data: Any) -> Reply:
    return status, json.dumps(data).encode()


def err(status: int, code: str, message: str = "nope") -> Reply:
    return js(status, {"error": {"code": code, "message": message}})


def session_json(access: str, refresh: str) -> Reply:
    now = datetime.now(UTC)
    session = Session(
        access_token=access,
        refresh_token=refresh,
        expires_at=now + timedelta(hours=1),
        refresh_expires_at=now + timedelta(days=30),
        customer=Customer(id=1, external_id="cust-001", name="Li Wei"),
    )
    return 200, session.model_dump_json().encode()


CUSTOMER = {"id": 1, "external_id": "cust-001", "name": "Li Wei", "tier": "vip"}


@pytest.fixture
def fake() -> Iterator[FakeService]:
    service = FakeService()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            seen = Seen(
                self.command,
                parts.path,
                parse_qs(parts.query),
                self.headers.get("Authorization"),
                json.loads(raw) if raw else None,
            )
            service.seen.append(seen)
            fn = service.routes.get((self.command, parts.path))
            reply: Reply = fn(seen) if fn else err(404, "not_found")
            status, body = reply[0], reply[1]
            headers = reply[2] if len(reply) == 3 else {"Content-Type": "application/json"}
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

        do_GET = do_POST = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    service.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield service
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- health and parsing ------------------------------------------------------


def test_health(fake: FakeService) -> None:
    fake.routes[("GET", "/healthz")] = lambda s: js(200, {"version": "1.2.3", "protocol": 1})
    health = ApiClient(fake.url + "/").health()
    assert health.version == "1.2.3"
    assert fake.seen[0].path == "/healthz"


def test_health_refuses_other_protocol(fake: FakeService) -> None:
    fake.routes[("GET", "/healthz")] = lambda s: js(200, {"version": "9", "protocol": 2})
    with pytest.raises(ApiError) as info:
        ApiClient(fake.url).health()
    assert info.value.code == "incompatible_server"


@pytest.mark.parametrize(
    "reply",
    [
        (200, b"<html>captive portal</html>", {"Content-Type": "text/html"}),
        (200, b"{}"),
        (200, b'{"version": "1", "protocol": "one"}'),
        (200, b"\xff\xfe"),
        (200, b""),
        (302, b"", {"Location": "http://elsewhere/"}),
    ],
    ids=["html", "empty-object", "wrong-type", "binary", "no-body", "redirect"],
)
def test_unusable_answers_are_bad_response(fake: FakeService, reply: Reply) -> None:
    fake.routes[("GET", "/healthz")] = lambda s: reply
    with pytest.raises(ApiError) as info:
        ApiClient(fake.url).health()
    assert info.value.code == "bad_response"
    assert info.value.status == reply[0]
    assert not isinstance(info.value, OfflineError)


def test_error_bodies_map_to_codes(fake: FakeService) -> None:
    fake.routes[("GET", "/api/v1/kb/articles/5")] = lambda s: err(404, "not_found", "no such")
    with pytest.raises(ApiError) as info:
        ApiClient(fake.url).article(5)
    assert (info.value.code, info.value.status, info.value.message) == ("not_found", 404, "no such")


def test_unknown_error_code_is_kept(fake: FakeService) -> None:
    fake.routes[("GET", "/api/v1/kb/articles/5")] = lambda s: err(418, "brand_new_reason")
    with pytest.raises(ApiError) as info:
        ApiClient(fake.url).article(5)
    assert info.value.code == "brand_new_reason"


def test_server_error_without_body(fake: FakeService) -> None:
    fake.routes[("GET", "/api/v1/kb/articles/5")] = lambda s: (
        502,
        b"Bad Gateway",
        {"Content-Type": "text/plain"},
    )
    with pytest.raises(ApiError) as info:
        ApiClient(fake.url).article(5)
    assert (info.value.code, info.value.status) == ("bad_response", 502)


def test_oversized_answer_is_refused(fake: FakeService) -> None:
    big = b'{"categories": [' + b" " * (9 * 1024 * 1024) + b"]}"
    fake.routes[("GET", "/api/v1/kb/categories")] = lambda s: (200, big)
    with pytest.raises(ApiError, match="too large"):
        ApiClient(fake.url).categories()


def test_search_parameters(fake: FakeService) -> None:
    body = {"query": "发票", "total": 0, "page": 2, "per_page": 5, "results": []}
    fake.routes[("GET", "/api/v1/kb/search")] = lambda s: js(200, body)
    client = ApiClient(fake.url)
    result = client.search("发票", locale="zh_CN", page=2, per_page=5)
    assert result.total == 0
    assert fake.seen[-1].query == {
        "q": ["发票"],
        "locale": ["zh_CN"],
        "page": ["2"],
        "per_page": ["5"],
    }
    client.search("x", product="LedgerPro", category="Install")
    assert fake.seen[-1].query["product"] == ["LedgerPro"]
    assert fake.seen[-1].query["category"] == ["Install"]
    assert fake.seen[-1].auth is None


def test_bad_base_url() -> None:
    for url in ("", "ftp://x", "localhost:8000", "http://"):
        with pytest.raises(ValueError):
            ApiClient(url)


# --- offline -------------------------------------------------------------------


def test_closed_port_is_offline_quickly() -> None:
    client = ApiClient(f"http://127.0.0.1:{closed_port()}", timeout=5)
    started = time.monotonic()
    with pytest.raises(OfflineError) as info:
        client.search("x")
    assert time.monotonic() - started < 2
    assert info.value.code == "offline" and info.value.status is None


def test_unresolvable_host_is_offline() -> None:
    with pytest.raises(OfflineError):
        ApiClient("http://helpbridge.invalid", timeout=5).health()


def test_silent_server_times_out() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts the connection, never answers
        client = ApiClient(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=0.5)
        started = time.monotonic()
        with pytest.raises(OfflineError, match="did not answer"):
            client.health()
        assert time.monotonic() - started < 3


# --- sessions -----------------------------------------------------------------


def test_identity_exchange_and_bearer(fake: FakeService) -> None:
    fake.routes[("POST", "/api/v1/auth/identity")] = lambda s: session_json("acc-1", "ref-1")
    fake.routes[("GET", "/api/v1/me")] = lambda s: (
        js(200, CUSTOMER) if s.auth == "Bearer acc-1" else err(401, "session_invalid")
    )
    client = ApiClient(fake.url)
    changed: list[Session] = []
    client.on_tokens_changed = changed.append
    session = client.exchange_identity("h.p.s")
    assert fake.seen[0].body == {"token": "h.p.s"}
    assert session.customer is not None and session.customer.external_id == "cust-001"
    assert [c.refresh_token for c in changed] == ["ref-1"]
    assert client.me().tier == "vip"


def test_refused_identity_keeps_the_service_reason(fake: FakeService) -> None:
    fake.routes[("POST", "/api/v1/auth/identity")] = lambda s: err(401, "token_missing")
    client = ApiClient(fake.url)
    with pytest.raises(ApiError) as info:
        client.exchange_identity("")
    assert (info.value.code, info.value.status) == ("token_missing", 401)
    assert not client.has_session


def test_expired_access_refreshes_once_and_retries(fake: FakeService) -> None:
    fake.routes[("POST", "/api/v1/auth/refresh")] = lambda s: (
        session_json("acc-2", "ref-2") if s.body == {"refresh_token": "ref-1"} else err(401, "x")
    )
    fake.routes[("GET", "/api/v1/me")] = lambda s: (
        js(200, CUSTOMER) if s.auth == "Bearer acc-2" else err(401, "session_expired")
    )
    client = ApiClient(fake.url)
    saved: list[str] = []
    client.on_tokens_changed = lambda session: saved.append(session.refresh_token)
    client.set_session("acc-1", "ref-1")
    assert client.me().external_id == "cust-001"
    assert [s.auth for s in fake.calls("/api/v1/me")] == ["Bearer acc-1", "Bearer acc-2"]
    assert saved == ["ref-2"]


def test_refresh_only_once_per_call(fake: FakeService) -> None:
    fake.routes[("POST", "/api/v1/auth/refresh")] = lambda s: session_json("acc-2", "ref-2")
    fake.routes[("GET", "/api/v1/me")] = lambda s: err(401, "session_expired")
    client = ApiClient(fake.url)
    client.set_session("acc-1", "ref-1")
    with pytest.raises(ApiError) as info:
        client.me()
    assert info.value.code == "session_expired"
    assert len(fake.calls("/api/v1/auth/refresh")) == 1
    assert len(fake.calls("/api/v1/me")) == 2


def test_other_401_codes_do_not_refresh(fake: FakeService) -> None:
    fake.routes[("GET", "/api/v1/me")] = lambda s: err(401, "session_revoked")
    client = ApiClient(fake.url)
    client.set_session("acc-1", "ref-1")
    with pytest.raises(ApiError) as info:
        client.me()
    assert info.value.code == "session_revoked"
    assert fake.calls("/api/v1/auth/refresh") == []


def test_concurrent_expiry_refreshes_once(fake: FakeService) -> None:
    def refresh(s: Seen) -> Reply:
        time.sleep(0.3)  # every other thread hits its 401 meanwhile
        return session_json("acc-2", "ref-2")

    fake.routes[("POST", "/api/v1/auth/refresh")] = refresh
    fake.routes[("GET", "/api/v1/me")] = lambda s: (
        js(200, CUSTOMER) if s.auth == "Bearer acc-2" else err(401, "session_expired")
    )
    client = ApiClient(fake.url)
    client.set_session("acc-1", "ref-1")
    results: list[object] = []
    barrier = threading.Barrier(8)

    def work() -> None:
        barrier.wait()
        try:
            results.append(client.me().external_id)
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["cust-001"] * 8
    assert len(fake.calls("/api/v1/auth/refresh")) == 1


def test_start_from_stored_refresh_token(fake: FakeService) -> None:
    fake.routes[("POST", "/api/v1/auth/refresh")] = lambda s: session_json("acc-9", "ref-9")
    fake.routes[("GET", "/api/v1/me")] = lambda s: (
        js(200, CUSTOMER) if s.auth == "Bearer acc-9" else err(401, "session_missing")
    )
    client = ApiClient(fake.url)
    client.set_session(None, "ref-stored")
    assert client.me().id == 1
    assert [s.path for s in fake.seen] == ["/api/v1/auth/refresh", "/api/v1/me"]


def test_dead_refresh_token_signs_out(fake: FakeService) -> None:
    fake.routes[("POST", "/api/v1/auth/refresh")] = lambda s: err(401, "session_revoked")
    fake.routes[("GET", "/api/v1/me")] = lambda s: err(401, "session_expired")
    client = ApiClient(fake.url)
    client.set_session("acc-1", "ref-1")
    with pytest.raises(ApiError) as info:
        client.me()
    assert info.value.code == "session_revoked"
    assert not client.has_session
    with pytest.raises(ApiError) as info2:
        client.refresh()
    assert info2.value.code == "session_missing"


def test_failing_callback_does_not_break_the_session(fake: FakeService) -> None:
    fake.routes[("POST", "/api/v1/auth/identity")] = lambda s: session_json("acc-1", "ref-1")

    def boom(session: Session) -> None:
        raise RuntimeError("disk full")

    client = ApiClient(fake.url)
    client.on_tokens_changed = boom
    client.exchange_identity("h.p.s")
    assert client.has_session


def test_logout(fake: FakeService) -> None:
    fake.routes[("POST", "/api/v1/auth/logout")] = lambda s: (204, b"", {})
    client = ApiClient(fake.url)
    client.set_session("acc-1", "ref-1")
    client.logout()
    assert fake.calls("/api/v1/auth/logout")[0].auth == "Bearer acc-1"
    assert not client.has_session
    client.logout()  # signed out already: nothing sent
    assert len(fake.calls("/api/v1/auth/logout")) == 1


def test_logout_offline_still_forgets_locally() -> None:
    client = ApiClient(f"http://127.0.0.1:{closed_port()}")
    client.set_session("acc-1", "ref-1")
    with pytest.raises(OfflineError):
        client.logout()
    assert not client.has_session


def test_tokens_never_leak(fake: FakeService, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake.routes[("POST", "/api/v1/auth/refresh")] = lambda s: err(401, "session_revoked")
    fake.routes[("GET", "/api/v1/me")] = lambda s: err(401, "session_expired")
    client = ApiClient(fake.url)
    client.set_session("SECRET-ACCESS", "SECRET-REFRESH")
    texts = [repr(client)]
    with pytest.raises(ApiError) as info:
        client.me()
    texts += [str(info.value), repr(info.value), caplog.text]
    offline = ApiClient(f"http://127.0.0.1:{closed_port()}")
    offline.set_session("SECRET-ACCESS", "SECRET-REFRESH")
    with pytest.raises(OfflineError) as info2:
        offline.me()
    texts += [str(info2.value), repr(info2.value), repr(offline), caplog.text]
    assert info2.value.__cause__ is None and info2.value.__suppress_context__
    joined = "\n".join(texts)
    assert "SECRET" not in joined
    assert "GET /me -> 401" in caplog.text  # the log line exists, without tokens


def test_knowledge_base_sends_the_session_when_signed_in(fake: FakeService) -> None:
    body = {"query": "x", "total": 0, "page": 1, "per_page": 10, "results": []}
    fake.routes[("GET", "/api/v1/kb/search")] = lambda s: js(200, body)
    fake.routes[("GET", "/api/v1/kb/categories")] = lambda s: js(200, {"categories": []})
    client = ApiClient(fake.url)
    client.search("x")
    client.set_session("acc-1", "ref-1")
    client.search("x")
    client.categories("en")
    assert [s.auth for s in fake.seen] == [None, "Bearer acc-1", "Bearer acc-1"]


def test_token_rotated_by_another_thread_is_retried(fake: FakeService) -> None:
    client = ApiClient(fake.url)

    def me(s: Seen) -> Reply:
        if s.auth == "Bearer acc-2":
            return js(200, CUSTOMER)
        # Another thread refreshes while this request is in flight; the
        # service no longer knows the old access token.
        client.set_session("acc-2", "ref-2")
        return err(401, "session_invalid")

    fake.routes[("GET", "/api/v1/me")] = me
    client.set_session("acc-1", "ref-1")
    assert client.me().id == 1
    assert fake.calls("/api/v1/auth/refresh") == []
