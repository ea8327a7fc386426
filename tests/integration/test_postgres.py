"""The service on PostgreSQL (``--database-url``): the same journey as on SQLite.

Runs when ``HELPBRIDGE_TEST_POSTGRES_URL`` names a database the tests may
create databases next to (scripts/test.sh starts a throwaway cluster).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.databases import PG_ADMIN_URL, throwaway_postgres
from tests.servers import LiveServer, start_live_server

pytestmark = pytest.mark.skipif(not PG_ADMIN_URL, reason="HELPBRIDGE_TEST_POSTGRES_URL is not set")


@pytest.fixture
def pg_server(tmp_path: Path) -> Iterator[LiveServer]:
    with throwaway_postgres() as url:
        server = start_live_server(tmp_path / "svc", database_url=url)
        try:
            yield server
        finally:
            server.stop()
            server.db.dispose()


def test_journey_on_postgresql(pg_server: LiveServer) -> None:
    base = f"{pg_server.url}/api/v1"
    assert pg_server.db.engine.dialect.name == "postgresql"
    r = requests.post(
        f"{base}/auth/identity", json={"token": pg_server.sign("pg-1", name="Li")}, timeout=10
    )
    assert r.status_code == 200, r.text
    h = {"Authorization": f"Bearer {r.json()['access_token']}"}
    # Knowledge search (the portable back end), Chinese and English.
    for q in ("发票", "invoice"):
        found = requests.get(f"{base}/kb/search", params={"q": q}, timeout=10).json()
        assert found["total"] > 0, q
    # A ticket with an attachment, a reply, idempotent retry.
    up = requests.put(
        f"{base}/attachments/{uuid.uuid4().hex}",
        params={"filename": "a.txt"},
        data=b"hello",
        headers=h,
        timeout=10,
    )
    assert up.status_code == 200, up.text
    key = uuid.uuid4().hex
    body = {"client_key": key, "subject": "PG ticket", "attachment_ids": [up.json()["id"]]}
    t1 = requests.post(f"{base}/tickets", json=body, headers=h, timeout=10)
    t2 = requests.post(f"{base}/tickets", json=body, headers=h, timeout=10)
    assert (t1.status_code, t2.status_code) == (201, 200)
    assert t1.json()["id"] == t2.json()["id"]
    assert t1.json()["attachments"][0]["filename"] == "a.txt"
    mine = requests.get(f"{base}/tickets", headers=h, timeout=10).json()
    assert mine["total"] == 1
