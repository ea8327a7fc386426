"""Customer identity exchange and sessions against a real service."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import requests

from server import models
from tests.servers import LiveServer


def exchange(server: LiveServer, token: str) -> requests.Response:
    return requests.post(f"{server.url}/api/v1/auth/identity", json={"token": token}, timeout=10)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_identity_exchange_creates_and_updates_customer(fresh_server: LiveServer) -> None:
    token = fresh_server.sign(
        "isv-42",
        name="王芳",
        email="wf@example.com",
        company="Contoso",
        tier="svip",
        product="LedgerPro",
        product_version="6.2.1",
        phone="+86 10 1234",
    )
    r = exchange(fresh_server, token)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["customer"]["external_id"] == "isv-42"
    assert body["customer"]["name"] == "王芳"
    assert body["customer"]["tier"] == "svip"
    me = requests.get(
        f"{fresh_server.url}/api/v1/me", headers=auth(body["access_token"]), timeout=5
    )
    assert me.json()["product_version"] == "6.2.1"

    # The host's token is the source of truth: a new token updates the record.
    r2 = exchange(fresh_server, fresh_server.sign("isv-42", name="Wang Fang", tier="vip"))
    assert r2.json()["customer"]["id"] == body["customer"]["id"]
    assert r2.json()["customer"]["name"] == "Wang Fang"
    assert r2.json()["customer"]["email"] == "wf@example.com"
    with fresh_server.db.session() as s:
        assert s.query(models.Customer).count() == 1


def _none_alg(sub: str) -> str:
    return jwt.encode({"sub": sub, "exp": int(time.time()) + 60}, "", algorithm="none")


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda s: "", "token_missing"),
        (lambda s: "not-a-jwt", "token_malformed"),
        (lambda s: "a.b.c", "token_malformed"),
        (lambda s: "x" * 9000, "token_malformed"),
        (lambda s: s.sign("c")[:-4] + "AAAA", "token_bad_signature"),
        (
            lambda s: s.sign("c", secret="another-secret-of-sufficient-length-0123"),
            "token_bad_signature",
        ),
        (lambda s: _none_alg("c"), "token_alg_not_allowed"),
        (lambda s: s.sign("c", kid="nobody"), "token_unknown_kid"),
        (lambda s: s.sign("c", ttl=timedelta(minutes=-10)), "token_expired"),
        (lambda s: s.sign("c", ttl=timedelta(hours=30)), "token_ttl_too_long"),
        (lambda s: s.sign("c", tier="platinum"), "token_invalid_claim"),
        (lambda s: s.sign("c", name=["x"]), "token_invalid_claim"),
        (lambda s: s.sign(" "), "token_invalid_claim"),
        (
            lambda s: jwt.encode(
                {"exp": int(time.time()) + 60}, s.secret, algorithm="HS256", headers={"kid": s.kid}
            ),
            "token_missing_claim",
        ),
        (
            lambda s: jwt.encode({"sub": "c"}, s.secret, algorithm="HS256", headers={"kid": s.kid}),
            "token_missing_claim",
        ),
        (
            lambda s: jwt.encode(
                {"sub": "c", "exp": int(time.time()) + 600, "iat": int(time.time()) + 3600},
                s.secret,
                algorithm="HS256",
                headers={"kid": s.kid},
            ),
            "token_not_yet_valid",
        ),
        (
            lambda s: jwt.encode(
                {"sub": "c", "exp": int(time.time()) + 60}, s.secret, algorithm="HS256"
            ),
            "token_unknown_kid",
        ),
    ],
)
def test_bad_identity_tokens_get_401_with_reason(
    live_server: LiveServer, make: object, code: str
) -> None:
    token = make(live_server)  # type: ignore[operator]
    r = exchange(live_server, token)
    assert r.status_code == 401, r.text
    assert r.json() == {"error": {"code": code, "message": r.json()["error"]["message"]}}
    assert "Traceback" not in r.text


def test_clock_skew_is_tolerated(live_server: LiveServer) -> None:
    # Issued 30 s in the "future" by a host whose clock runs fast: accepted.
    now = datetime.now(UTC) + timedelta(seconds=30)
    token = jwt.encode(
        {"sub": "skew", "iat": int(now.timestamp()), "exp": int(now.timestamp()) + 600},
        live_server.secret,
        algorithm="HS256",
        headers={"kid": live_server.kid},
    )
    assert exchange(live_server, token).status_code == 200


def test_non_json_body_is_a_clear_error(live_server: LiveServer) -> None:
    r = requests.post(
        f"{live_server.url}/api/v1/auth/identity",
        data=b"\xff\x00garbage",
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert r.status_code in (400, 422)
    assert r.json()["error"]["code"] == "invalid_request"


def test_refresh_rotates_and_logout_revokes(fresh_server: LiveServer) -> None:
    s1 = exchange(fresh_server, fresh_server.sign("c1")).json()
    r = requests.post(
        f"{fresh_server.url}/api/v1/auth/refresh",
        json={"refresh_token": s1["refresh_token"]},
        timeout=5,
    )
    assert r.status_code == 200
    s2 = r.json()
    assert s2["access_token"] != s1["access_token"]
    # The old pair is dead.
    old = requests.get(f"{fresh_server.url}/api/v1/me", headers=auth(s1["access_token"]), timeout=5)
    assert old.status_code == 401
    again = requests.post(
        f"{fresh_server.url}/api/v1/auth/refresh",
        json={"refresh_token": s1["refresh_token"]},
        timeout=5,
    )
    assert again.json()["error"]["code"] == "session_invalid"
    # Sign out ends the session and its refresh path.
    out = requests.post(
        f"{fresh_server.url}/api/v1/auth/logout", headers=auth(s2["access_token"]), timeout=5
    )
    assert out.status_code == 204
    me = requests.get(f"{fresh_server.url}/api/v1/me", headers=auth(s2["access_token"]), timeout=5)
    assert me.json()["error"]["code"] == "session_revoked"
    ref = requests.post(
        f"{fresh_server.url}/api/v1/auth/refresh",
        json={"refresh_token": s2["refresh_token"]},
        timeout=5,
    )
    assert ref.json()["error"]["code"] == "session_revoked"


def test_expired_access_token_says_so(fresh_server: LiveServer) -> None:
    s1 = exchange(fresh_server, fresh_server.sign("c1")).json()
    with fresh_server.db.session() as s:
        for row in s.query(models.AuthSession):
            row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    me = requests.get(f"{fresh_server.url}/api/v1/me", headers=auth(s1["access_token"]), timeout=5)
    assert me.status_code == 401
    assert me.json()["error"]["code"] == "session_expired"


def test_key_rotation(fresh_server: LiveServer) -> None:
    new_secret = fresh_server.add_key("2027-01")
    old = exchange(fresh_server, fresh_server.sign("c1")).json()
    assert exchange(fresh_server, fresh_server.sign("c2", kid="2027-01", secret=new_secret)).ok
    # Retiring the old key refuses its tokens and ends its sessions at refresh.
    with fresh_server.db.session() as s:
        key = s.query(models.IdentityKey).filter_by(kid=fresh_server.kid).one()
        key.active = False
    assert (
        exchange(fresh_server, fresh_server.sign("c1")).json()["error"]["code"]
        == "token_unknown_kid"
    )
    r = requests.post(
        f"{fresh_server.url}/api/v1/auth/refresh",
        json={"refresh_token": old["refresh_token"]},
        timeout=5,
    )
    assert r.json()["error"]["code"] == "session_revoked"


def test_agent_login(fresh_server: LiveServer) -> None:
    fresh_server.create_agent("Ann@Example.com")
    r = requests.post(
        f"{fresh_server.url}/api/v1/agent/login",
        json={"email": "ann@example.com", "password": "correct horse battery"},
        timeout=5,
    )
    assert r.status_code == 200
    assert r.json()["agent"]["role"] == "agent"
    with fresh_server.db.session() as s:
        stored = s.query(models.Agent).one().password_hash
    assert stored.startswith("$argon2")
    for email, password in [("ann@example.com", "wrong"), ("nobody@example.com", "x")]:
        bad = requests.post(
            f"{fresh_server.url}/api/v1/agent/login",
            json={"email": email, "password": password},
            timeout=5,
        )
        assert bad.status_code == 401
        assert bad.json()["error"]["code"] == "bad_credentials"
    # A customer's session is not an agent's.
    cust = exchange(fresh_server, fresh_server.sign("c1")).json()
    r = requests.post(
        f"{fresh_server.url}/api/v1/kb/articles",
        headers=auth(cust["access_token"]),
        json={"locale": "en", "title": "x", "body": "y"},
        timeout=5,
    )
    assert r.status_code == 403


def test_disabled_agent_cannot_sign_in(fresh_server: LiveServer) -> None:
    fresh_server.create_agent("bob@example.com")
    token = fresh_server.agent_token("bob@example.com")
    with fresh_server.db.session() as s:
        s.query(models.Agent).filter_by(email="bob@example.com").one().active = False
    r = requests.get(
        f"{fresh_server.url}/api/v1/kb/search",
        params={"q": "x", "drafts": "true"},
        headers=auth(token),
        timeout=5,
    )
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "account_disabled"


def test_health_and_openapi(live_server: LiveServer) -> None:
    h = requests.get(f"{live_server.url}/healthz", timeout=5).json()
    assert h["status"] == "ok" and h["protocol"] == 1
    spec = requests.get(f"{live_server.url}/openapi.json", timeout=5).json()
    assert "/api/v1/auth/identity" in spec["paths"]
    assert "/api/v1/kb/search" in spec["paths"]
