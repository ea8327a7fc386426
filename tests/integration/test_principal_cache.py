"""Customers' principals are kept a few seconds (server.auth.PrincipalCache):
every change that must end or alter a session shows on the very next request."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from sqlalchemy import update

from protocol.models import Role
from server import auth, models
from server.identity import token_hash
from tests.servers import LiveServer


def sign_in(server: LiveServer, sub: str, **claims: Any) -> dict[str, Any]:
    r = requests.post(
        f"{server.url}/api/v1/auth/identity",
        json={"token": server.sign(sub, **claims)},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    session: dict[str, Any] = r.json()
    return session


def me(server: LiveServer, access: str) -> requests.Response:
    return requests.get(
        f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {access}"}, timeout=10
    )


def kept(server: LiveServer, access: str) -> bool:
    return auth.principals.get((server.db.url, token_hash(access))) is not None


def code(r: requests.Response) -> str:
    value: str = r.json()["error"]["code"]
    return value


def warm(server: LiveServer, access: str) -> None:
    assert me(server, access).status_code == 200
    assert kept(server, access)


def test_sign_out_ends_a_kept_session_at_once(fresh_server: LiveServer) -> None:
    s = sign_in(fresh_server, "out-" + uuid.uuid4().hex[:6])
    warm(fresh_server, s["access_token"])
    r = requests.post(
        f"{fresh_server.url}/api/v1/auth/logout",
        headers={"Authorization": f"Bearer {s['access_token']}"},
        timeout=10,
    )
    assert r.status_code == 204
    assert not kept(fresh_server, s["access_token"])
    r = me(fresh_server, s["access_token"])
    assert r.status_code == 401 and code(r) == "session_revoked"


def test_refresh_ends_the_old_access_token_at_once(fresh_server: LiveServer) -> None:
    s = sign_in(fresh_server, "rot-" + uuid.uuid4().hex[:6])
    warm(fresh_server, s["access_token"])
    r = requests.post(
        f"{fresh_server.url}/api/v1/auth/refresh",
        json={"refresh_token": s["refresh_token"]},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    r_old = me(fresh_server, s["access_token"])
    assert r_old.status_code == 401 and code(r_old) == "session_invalid"
    assert me(fresh_server, r.json()["access_token"]).status_code == 200


def test_new_customer_attributes_show_at_once(fresh_server: LiveServer) -> None:
    sub = "attr-" + uuid.uuid4().hex[:6]
    s = sign_in(fresh_server, sub, name="Li Wei", company="Acme", tier="normal")
    warm(fresh_server, s["access_token"])
    assert me(fresh_server, s["access_token"]).json()["company"] == "Acme"
    sign_in(fresh_server, sub, name="Li Wei", company="Globex", tier="vip")
    shown = me(fresh_server, s["access_token"]).json()
    assert (shown["company"], shown["tier"]) == ("Globex", "vip")
    # A ticket opened now gets the new tier's SLA.
    r = requests.post(
        f"{fresh_server.url}/api/v1/tickets",
        json={"client_key": uuid.uuid4().hex, "subject": "After upgrade"},
        headers={"Authorization": f"Bearer {s['access_token']}"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    assert r.json()["requester"]["tier"] == "vip"


def test_sessions_ended_in_bulk_end_at_once(fresh_server: LiveServer) -> None:
    s = sign_in(fresh_server, "bulk-" + uuid.uuid4().hex[:6])
    warm(fresh_server, s["access_token"])
    with fresh_server.db.session() as db:
        db.execute(
            update(models.AuthSession)
            .where(models.AuthSession.access_hash == token_hash(s["access_token"]))
            .values(revoked_at=datetime.now(UTC))
        )
    r = me(fresh_server, s["access_token"])
    assert r.status_code == 401 and code(r) == "session_revoked"


def test_agents_are_looked_up_on_every_request(fresh_server: LiveServer) -> None:
    """An agent disabled from another process (the command line writes the
    database directly) is refused on the next request."""
    email = f"agent-{uuid.uuid4().hex[:6]}@example.com"
    fresh_server.create_agent(email, role=Role.supervisor)
    token = fresh_server.agent_token(email)
    h = {"Authorization": f"Bearer {token}"}
    queue = f"{fresh_server.url}/api/v1/agent/tickets"
    assert requests.get(queue, headers=h, timeout=10).status_code == 200
    assert not kept(fresh_server, token)
    with fresh_server.db.engine.begin() as conn:  # no ORM session: no hooks
        conn.execute(update(models.Agent).where(models.Agent.email == email).values(active=False))
    r = requests.get(queue, headers=h, timeout=10)
    assert r.status_code == 401 and code(r) == "account_disabled"


# --- the cache on its own -------------------------------------------------------------------


def principal(session_id: int, customer_id: int, expires_in: timedelta) -> auth.Principal:
    row = models.AuthSession(
        id=session_id,
        subject_type="customer",
        subject_id=customer_id,
        expires_at=datetime.now(UTC) + expires_in,
    )
    return auth.Principal(row, customer=models.Customer(id=customer_id, external_id="c"))


def test_an_expired_access_token_is_never_served() -> None:
    cache = auth.PrincipalCache(ttl=60)
    cache.put(("db", "a"), principal(1, 1, timedelta(seconds=-1)), cache.generation)
    assert cache.get(("db", "a")) is None
    cache.put(("db", "b"), principal(2, 2, timedelta(hours=1)), cache.generation)
    assert cache.get(("db", "b")) is not None


def test_a_lookup_that_raced_a_change_is_not_kept() -> None:
    cache = auth.PrincipalCache(ttl=60)
    generation = cache.generation
    cache.invalidate(sessions={99})  # a sign-out committed while the lookup ran
    cache.put(("db", "a"), principal(1, 1, timedelta(hours=1)), generation)
    assert cache.get(("db", "a")) is None
    assert len(cache) == 0


def test_invalidation_drops_only_what_changed() -> None:
    cache = auth.PrincipalCache(ttl=60)
    for i in range(1, 4):
        cache.put(("db", str(i)), principal(i, 10 + i, timedelta(hours=1)), cache.generation)
    cache.invalidate(sessions={1}, customers={13})
    assert [cache.get(("db", str(i))) is not None for i in range(1, 4)] == [False, True, False]
    cache.invalidate()
    assert len(cache) == 0


def test_the_cache_stays_bounded() -> None:
    cache = auth.PrincipalCache(ttl=60, max_entries=5)
    for i in range(12):
        cache.put(("db", str(i)), principal(i, i, timedelta(hours=1)), cache.generation)
    assert 1 <= len(cache) <= 5
    assert cache.get(("db", "11")) is not None
