"""The audit log: sign-ins (and failed ones), settings changes, exports;
administrators read and export it; nobody can change it."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from protocol.models import Role
from server import models
from tests.servers import REPO, LiveServer


def test_sign_ins_settings_and_exports_are_recorded(fresh_server: LiveServer) -> None:
    url = f"{fresh_server.url}/api/v1"
    fresh_server.create_agent("root@example.com", role=Role.admin)
    fresh_server.create_agent("ann@example.com")
    admin = {"Authorization": f"Bearer {fresh_server.agent_token('root@example.com')}"}
    ann = {"Authorization": f"Bearer {fresh_server.agent_token('ann@example.com')}"}
    requests.post(
        f"{url}/agent/login", json={"email": "ann@example.com", "password": "nope"}, timeout=5
    )
    requests.post(f"{url}/auth/identity", json={"token": fresh_server.sign("c-1")}, timeout=5)
    requests.post(
        f"{url}/auth/identity",
        json={"token": "garbage"},
        headers={"User-Agent": "LedgerPro/6.2"},
        timeout=5,
    )
    rule = {
        "rules": [
            {"tier": "vip", "priority": "P1", "first_response_minutes": 5, "resolution_minutes": 60}
        ]
    }
    assert requests.put(f"{url}/agent/sla", json=rule, headers=ann, timeout=5).status_code == 403
    assert requests.put(f"{url}/agent/sla", json=rule, headers=admin, timeout=5).status_code == 200

    # Agents cannot read the log; administrators can, with filters.
    assert requests.get(f"{url}/admin/audit", headers=ann, timeout=5).status_code == 403
    page = requests.get(f"{url}/admin/audit", headers=admin, timeout=5).json()
    seen = {(e["action"], e["outcome"]) for e in page["entries"]}
    assert ("agent.sign_in", "ok") in seen
    assert ("agent.sign_in", "failed") in seen
    assert ("customer.sign_in", "ok") in seen
    assert ("customer.sign_in", "failed") in seen
    assert ("settings.sla", "denied") in seen
    assert ("settings.sla", "ok") in seen
    failed = requests.get(
        f"{url}/admin/audit",
        params={"action": "customer.sign_in", "outcome": "failed"},
        headers=admin,
        timeout=5,
    ).json()["entries"]
    assert failed[0]["detail"]["reason"] == "token_malformed"
    assert "127.0.0.1" in failed[0]["source"] and "LedgerPro/6.2" in failed[0]["source"]
    # No secret ever lands in the log.
    everything = requests.get(
        f"{url}/admin/audit", params={"per_page": 500}, headers=admin, timeout=5
    ).text
    assert "nope" not in everything and fresh_server.secret not in everything

    # Export: CSV, itself recorded; formula-looking cells are defused.
    requests.post(
        f"{url}/agent/login", json={"email": "=cmd|calc@x.com", "password": "x"}, timeout=5
    )
    total = requests.get(f"{url}/admin/audit", headers=admin, timeout=5).json()["total"]
    r = requests.get(f"{url}/admin/audit.csv", headers=admin, timeout=5)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["id", "at", "actor_type"]
    assert len(rows) - 1 == total
    assert any(row[4] == "'=cmd|calc@x.com" for row in rows)
    after = requests.get(
        f"{url}/admin/audit", params={"action": "audit.export"}, headers=admin, timeout=5
    ).json()
    assert after["total"] == 1


def test_nobody_can_change_or_delete_entries(fresh_server: LiveServer) -> None:
    requests.post(
        f"{fresh_server.url}/api/v1/auth/identity",
        json={"token": fresh_server.sign("c-2")},
        timeout=5,
    )
    with fresh_server.db.engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar()
        assert n and n > 0
    for statement in ("UPDATE audit_log SET outcome = 'ok'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), fresh_server.db.engine.begin() as conn:
            conn.execute(sa.text(statement))
    # And the API has no way to: no PUT/DELETE routes exist for it.
    fresh_server.create_agent("root2@example.com", role=Role.admin)
    h = {"Authorization": f"Bearer {fresh_server.agent_token('root2@example.com')}"}
    for method in ("PUT", "DELETE", "PATCH", "POST"):
        r = requests.request(method, f"{fresh_server.url}/api/v1/admin/audit", headers=h, timeout=5)
        assert r.status_code == 405
    with fresh_server.db.session() as s:
        assert s.query(models.AuditEntry).count() == n + 1  # the admin's sign-in


def test_operator_commands_are_recorded(tmp_path: Path) -> None:
    def cli(*args: str, stdin: str | None = None) -> None:
        r = subprocess.run(
            [sys.executable, "-m", "server", *args, "--data-dir", str(tmp_path)],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=60,
        )
        assert r.returncode == 0, r.stderr

    cli("identity-key", "add", "--kid", "k1")
    cli("identity-key", "revoke", "--kid", "k1")
    cli(
        "create-agent",
        "--email",
        "op@example.com",
        "--name",
        "Op",
        "--role",
        "supervisor",
        "--password-stdin",
        stdin="long enough secret\n",
    )
    cli("backup", str(tmp_path / "bk"))
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'helpbridge.sqlite3'}")
    with engine.connect() as conn:
        actions = [r[0] for r in conn.execute(sa.text("SELECT action FROM audit_log ORDER BY id"))]
        details = " ".join(r[0] for r in conn.execute(sa.text("SELECT detail FROM audit_log")))
    engine.dispose()
    assert actions == [
        "settings.identity_key.add",
        "settings.identity_key.revoke",
        "agent.create",
        "backup",
    ]
    assert "long enough secret" not in details
