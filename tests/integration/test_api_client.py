"""ApiClient against the real service (uvicorn on loopback, real SQLite)."""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from client.core.api import ApiClient, ApiError, OfflineError
from protocol import PROTOCOL_VERSION
from protocol.models import Session
from tests.servers import LiveServer, start_live_server


@pytest.fixture
def client(live_server: LiveServer) -> ApiClient:
    return ApiClient(live_server.url, timeout=10)


@pytest.fixture
def short_sessions(tmp_path: Path) -> Iterator[LiveServer]:
    """A service whose access tokens live one second."""
    server = start_live_server(tmp_path / "short", seed_kb=False, access_ttl=timedelta(seconds=1))
    yield server
    server.stop()


def unique_sub() -> str:
    return "api-" + secrets.token_hex(6)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_health(client: ApiClient) -> None:
    assert client.health().protocol == PROTOCOL_VERSION


def test_identity_exchange_and_me(live_server: LiveServer, client: ApiClient) -> None:
    sub = unique_sub()
    changed: list[Session] = []
    client.on_tokens_changed = changed.append
    session = client.exchange_identity(
        live_server.sign(sub, name="Li Wei", company="Contoso Trading Ltd.", tier="vip")
    )
    assert session.customer is not None and session.customer.external_id == sub
    assert [s.refresh_token for s in changed] == [session.refresh_token]
    me = client.me()
    assert (me.external_id, me.name, me.company, me.tier) == (
        sub,
        "Li Wei",
        "Contoso Trading Ltd.",
        "vip",
    )


def test_me_needs_a_session(client: ApiClient) -> None:
    with pytest.raises(ApiError) as info:
        client.me()
    assert (info.value.code, info.value.status) == ("session_missing", 401)


@pytest.mark.parametrize(
    ("make_token", "code"),
    [
        (lambda s: s.sign(unique_sub(), secret="x" * 40), "token_bad_signature"),
        (lambda s: s.sign(unique_sub(), kid="no-such-key"), "token_unknown_kid"),
        (lambda s: s.sign(unique_sub(), ttl=timedelta(seconds=-600)), "token_expired"),
        (lambda s: "not.a.jwt", "token_malformed"),
        (lambda s: "", "token_missing"),
    ],
    ids=["forged", "unknown-kid", "expired", "garbage", "empty"],
)
def test_refused_identities(
    live_server: LiveServer, make_token: Callable[[LiveServer], str], code: str
) -> None:
    client = ApiClient(live_server.url)
    with pytest.raises(ApiError) as info:
        client.exchange_identity(make_token(live_server))
    assert (info.value.code, info.value.status) == (code, 401)
    assert not client.has_session


def test_search_and_articles(client: ApiClient) -> None:
    found = client.search("backup", locale="en")
    assert found.total >= 1 and found.results
    assert found.page == 1 and found.per_page == 10
    for hit in found.results[:3]:
        assert hit.locale == "en"
        article = client.article(hit.id)
        assert article.id == hit.id and article.title == hit.title
        assert article.published
    # Paging and filters reach the service.
    page = client.search("backup", locale="en", per_page=1, page=1)
    assert len(page.results) == 1 and page.total == found.total
    category = found.results[0].category
    filtered = client.search("backup", locale="en", category=category)
    assert filtered.results and all(h.category == category for h in filtered.results)


def test_chinese_search(client: ApiClient) -> None:
    found = client.search("备份", locale="zh_CN")
    assert found.results and all(h.locale == "zh_CN" for h in found.results)


def test_categories(client: ApiClient) -> None:
    cats = client.categories("en").categories
    assert cats and all(c.locale == "en" and c.count > 0 for c in cats)
    both = client.categories().categories
    assert {c.locale for c in both} == {"en", "zh_CN"}


def test_missing_article(client: ApiClient) -> None:
    with pytest.raises(ApiError) as info:
        client.article(987_654_321)
    assert (info.value.code, info.value.status) == ("not_found", 404)


def test_invalid_request(client: ApiClient) -> None:
    with pytest.raises(ApiError) as info:
        client.search("x", per_page=100_000)
    assert (info.value.code, info.value.status) == ("invalid_request", 422)


def test_expired_access_token_is_refreshed(short_sessions: LiveServer) -> None:
    client = ApiClient(short_sessions.url)
    refreshed: list[str] = []
    client.on_tokens_changed = lambda s: refreshed.append(s.refresh_token)
    first = client.exchange_identity(short_sessions.sign(unique_sub()))
    time.sleep(1.2)
    assert client.me().external_id  # 401 session_expired -> refresh -> retry
    assert len(refreshed) == 2 and refreshed[1] != first.refresh_token
    # The old refresh token stopped working when it was used.
    stale = ApiClient(short_sessions.url)
    stale.set_session(None, first.refresh_token)
    with pytest.raises(ApiError) as info:
        stale.refresh()
    assert info.value.code.startswith("session_")
    assert not stale.has_session


def test_concurrent_expiry_uses_one_refresh(short_sessions: LiveServer) -> None:
    """Refresh tokens rotate: if two threads refreshed with the same one, the
    second would be refused. Every thread must succeed."""
    client = ApiClient(short_sessions.url)
    refreshed: list[str] = []
    client.on_tokens_changed = lambda s: refreshed.append(s.refresh_token)
    client.exchange_identity(short_sessions.sign(unique_sub()))
    time.sleep(1.2)
    results: list[object] = []
    barrier = threading.Barrier(6)

    def work() -> None:
        barrier.wait()
        try:
            results.append(client.me().id)
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, int) for r in results), results
    assert len(refreshed) == 2


def test_resume_from_stored_refresh_token(live_server: LiveServer) -> None:
    first = ApiClient(live_server.url)
    sub = unique_sub()
    session = first.exchange_identity(live_server.sign(sub))
    # Next start of the portal: only the refresh token from the keyring.
    second = ApiClient(live_server.url)
    second.set_session(None, session.refresh_token)
    assert second.me().external_id == sub


def test_logout_revokes(live_server: LiveServer) -> None:
    # Repeated: the revocation must be committed before the 204 is sent, or
    # a request right after it still gets through now and then.
    for _ in range(30):
        client = ApiClient(live_server.url)
        session = client.exchange_identity(live_server.sign(unique_sub()))
        client.logout()
        assert not client.has_session
        other = ApiClient(live_server.url)
        other.set_session(session.access_token, None)
        with pytest.raises(ApiError) as info:
            other.me()
        assert info.value.code == "session_revoked"
        other.set_session(None, session.refresh_token)
        with pytest.raises(ApiError) as info2:
            other.refresh()
        assert info2.value.code.startswith("session_")


def test_session_usable_right_after_exchange(live_server: LiveServer) -> None:
    # Repeated for the same reason: the portal calls /me at once.
    for _ in range(30):
        client = ApiClient(live_server.url)
        client.exchange_identity(live_server.sign(unique_sub()))
        assert client.me().id


def test_threads_share_one_client(client: ApiClient) -> None:
    errors: list[BaseException] = []

    def work(query: str) -> None:
        try:
            for _ in range(5):
                client.search(query, locale="en")
                client.categories("en")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(q,)) for q in ("backup", "invoice", "tax")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_service_down_is_offline_quickly() -> None:
    client = ApiClient(f"http://127.0.0.1:{closed_port()}", timeout=10)
    started = time.monotonic()
    with pytest.raises(OfflineError):
        client.health()
    with pytest.raises(OfflineError):
        client.search("backup")
    assert time.monotonic() - started < 2


def test_service_stopping_mid_session(tmp_path: Path) -> None:
    server = start_live_server(tmp_path / "stopping", seed_kb=False)
    client = ApiClient(server.url, timeout=5)
    client.exchange_identity(server.sign(unique_sub()))
    assert client.me()
    server.stop()
    started = time.monotonic()
    with pytest.raises(OfflineError):
        client.me()
    assert time.monotonic() - started < 2
    assert client.has_session  # offline is not signed out
