"""API tokens for the ISV's CRM against a real service: shown once, stored
hashed, scoped, revocable, expiring; CRM attributes they set reach agents."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import sqlalchemy as sa

from protocol.models import Role
from server import api_tokens, models
from tests.integration.test_tickets_api import customer
from tests.servers import LiveServer


def _call(live: LiveServer, method: str, path: str, token: str, body: Any = None) -> Any:
    return requests.request(
        method,
        f"{live.url}/api/v1{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_crm_sets_attributes_agents_see_them(fresh_server: LiveServer) -> None:
    live = fresh_server
    live.create_agent("root@example.com", role=Role.admin)
    live.create_agent("ann@example.com")
    admin = live.agent_token("root@example.com")
    ann = live.agent_token("ann@example.com")
    expires = (datetime.now(UTC) + timedelta(days=90)).isoformat()
    r = _call(
        live,
        "POST",
        "/admin/api-tokens",
        admin,
        {
            "name": "CRM sync",
            "scopes": ["customers.write", "customers.read"],
            "expires_at": expires,
        },
    )
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    info = r.json()["info"]
    assert token.startswith("hbt_") and len(token) > 40
    assert info["state"] == "active" and token.startswith(info["prefix"])
    # Only the hash is kept: the token is nowhere in the database, nor in lists.
    listed = _call(live, "GET", "/admin/api-tokens", admin).text
    assert token not in listed and info["prefix"] in listed
    with live.db.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM api_tokens")).mappings().one()
        audit_text = str(conn.execute(sa.text("SELECT detail, target FROM audit_log")).all())
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(dict(row)) and token not in audit_text
    # An agent cannot make tokens.
    assert (
        _call(
            live, "POST", "/admin/api-tokens", ann, {"name": "x", "scopes": ["customers.read"]}
        ).status_code
        == 403
    )

    # The CRM knows the customer before they ever open the portal.
    attrs = {
        "contract": "Enterprise 2026",
        "service_level": "Gold 24/7",
        "products_owned": ["PhotoTool", "LedgerPro"],
        "extra": {"account_manager": "Mei Lin", "seats": 250, "renewal_due": True},
    }
    r = _call(live, "PUT", "/integration/customers/acme-042/attributes", token, attrs)
    assert r.status_code == 200, r.text
    assert r.json()["external_id"] == "acme-042" and r.json()["extra"]["seats"] == 250
    cust = customer(live, "acme-042", name="Wang Fang", product="PhotoTool")
    me = requests.get(f"{live.url}/api/v1/me", headers=cust.h, timeout=5).json()
    assert me["id"] == r.json()["customer_id"]  # one customer, met from both sides
    # Agents see it in the customer panel's data.
    seen = _call(live, "GET", f"/team/customers/{me['id']}/attributes", ann).json()
    assert seen["contract"] == "Enterprise 2026" and seen["products_owned"] == [
        "PhotoTool",
        "LedgerPro",
    ]
    assert seen["extra"] == attrs["extra"]
    with live.db.session() as s:
        assert api_tokens.customer_attributes(s, me["id"])["service_level"] == "Gold 24/7"
        assert api_tokens.customer_attributes(s, 999_999) == {}
    # A PUT replaces everything.
    r = _call(
        live, "PUT", "/integration/customers/acme-042/attributes", token, {"contract": "Basic"}
    )
    assert r.json()["extra"] == {} and r.json()["service_level"] is None
    assert (
        _call(live, "GET", "/integration/customers/acme-042/attributes", token).json()["contract"]
        == "Basic"
    )
    assert _call(live, "GET", "/integration/customers/nobody/attributes", token).status_code == 404

    # Bad input: too many keys, long keys, long values, wrong types.
    too_many = {"extra": {f"k{i}": i for i in range(51)}}
    for bad in (
        too_many,
        {"extra": {"x" * 65: 1}},
        {"extra": {"note": "y" * 1001}},
        {"extra": {"nested": {"a": 1}}},
        {"products_owned": "PhotoTool"},
        {"surprise": 1},
    ):
        r = _call(live, "PUT", "/integration/customers/acme-042/attributes", token, bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["code"] == "invalid_request"


def test_rejected_tokens_get_clear_codes_and_are_recorded(fresh_server: LiveServer) -> None:
    live = fresh_server
    live.create_agent("root@example.com", role=Role.admin)
    admin = live.agent_token("root@example.com")

    def make(scopes: list[str]) -> tuple[int, str]:
        r = _call(live, "POST", "/admin/api-tokens", admin, {"name": "t", "scopes": scopes})
        assert r.status_code == 201, r.text
        return r.json()["info"]["id"], r.json()["token"]

    reader_id, reader = make(["customers.read"])
    writer_id, writer = make(["customers.write"])
    path = "/integration/customers/c-1/attributes"
    ok = _call(live, "PUT", path, writer, {"contract": "A"})
    assert ok.status_code == 200
    # Scope: a reading token cannot write, a writing one cannot read.
    r = _call(live, "PUT", path, reader, {"contract": "B"})
    assert r.status_code == 403 and "customers.write" in r.json()["error"]["message"]
    assert _call(live, "GET", path, writer).status_code == 403

    # Revoked: refused from the next call on.
    r = _call(live, "DELETE", f"/admin/api-tokens/{writer_id}", admin)
    assert r.json()["state"] == "revoked"
    r = _call(live, "PUT", path, writer, {"contract": "C"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "api_token_revoked"
    assert r.headers["www-authenticate"] == "Bearer"
    # Expired.
    with live.db.session() as s:
        row = s.get(models.ApiToken, reader_id)
        assert row is not None
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    r = _call(live, "GET", path, reader)
    assert r.status_code == 401 and r.json()["error"]["code"] == "api_token_expired"
    listed = {
        t["id"]: t["state"] for t in _call(live, "GET", "/admin/api-tokens", admin).json()["tokens"]
    }
    assert listed == {reader_id: "expired", writer_id: "revoked"}
    # Unknown or malformed tokens; people's sessions are not API tokens.
    for bad in ("hbt_" + "x" * 43, "garbage"):
        r = _call(live, "GET", path, bad)
        assert r.status_code == 401 and r.json()["error"]["code"] == "api_token_invalid"
    r = requests.get(f"{live.url}/api/v1{path}", timeout=5)
    assert r.status_code == 401
    assert _call(live, "GET", path, admin).status_code == 403
    # Nothing changed by the refused calls.
    with live.db.session() as s:
        attrs = s.query(models.CustomerAttributes).one()
        assert attrs.contract == "A"
    # Creating: bad scopes, past expiry.
    r = _call(live, "POST", "/admin/api-tokens", admin, {"name": "t", "scopes": ["tickets.delete"]})
    assert r.status_code == 422
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    r = _call(
        live,
        "POST",
        "/admin/api-tokens",
        admin,
        {"name": "t", "scopes": ["customers.read"], "expires_at": past},
    )
    assert r.status_code == 422

    with live.db.session() as s:
        uses = s.query(models.AuditEntry).filter_by(action="api_token.use").all()
        reasons = sorted(e.detail.get("reason", e.outcome) for e in uses)
        changes = [
            e.action
            for e in s.query(models.AuditEntry).filter(
                models.AuditEntry.action.like("settings.api_token.%")
            )
        ]
    assert reasons == [
        "api_token_expired",
        "api_token_invalid",
        "api_token_invalid",
        "api_token_revoked",
        "denied",
        "denied",
    ]
    assert changes == [
        "settings.api_token.create",
        "settings.api_token.create",
        "settings.api_token.revoke",
    ]
