"""ApiClient's ticket methods against the real service (uvicorn on loopback, real SQLite)."""

from __future__ import annotations

import hashlib
import itertools
import os
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from client.core.api import ApiClient, ApiError
from protocol.tickets import (
    DEFAULT_MAX_FILE_BYTES,
    CommentCreate,
    CsatIn,
    Level,
    TicketCreate,
    TicketStatus,
)
from server import models
from tests.servers import LiveServer, start_live_server


def key() -> str:
    return secrets.token_hex(12)


def signed_in(server: LiveServer, sub: str | None = None) -> ApiClient:
    client = ApiClient(server.url, timeout=20)
    client.exchange_identity(server.sign(sub or "tk-" + secrets.token_hex(6), name="Li Wei"))
    return client


def attachment_rows(server: LiveServer) -> int:
    with server.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(models.Attachment)) or 0)


def close_ticket(server: LiveServer, ticket_id: int) -> None:
    email = f"agent-{secrets.token_hex(4)}@example.com"
    server.create_agent(email)
    token = server.agent_token(email)
    r = requests.post(
        f"{server.url}/api/v1/agent/tickets/{ticket_id}/status",
        json={"status": "closed"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    r.raise_for_status()


@pytest.fixture
def short_sessions(tmp_path: Path) -> Iterator[LiveServer]:
    """A service whose access tokens live one second."""
    server = start_live_server(tmp_path / "short", seed_kb=False, access_ttl=timedelta(seconds=1))
    yield server
    server.stop()


def test_upload_streams_a_file_and_is_idempotent(live_server: LiveServer, tmp_path: Path) -> None:
    client = signed_in(live_server)
    data = os.urandom(3 * 1024 * 1024 + 17)
    path = tmp_path / "trace.bin"
    path.write_bytes(data)
    seen: list[tuple[int, int]] = []
    k = key()
    info = client.upload_attachment(
        path, "trace log.bin", k, progress=lambda d, t: seen.append((d, t))
    )
    assert info.size == len(data)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert info.filename == "trace log.bin"
    # Streamed in pieces, not one read of the whole file.
    assert len(seen) > 10
    assert seen[-1] == (len(data), len(data))
    assert all(b[0] > a[0] for a, b in itertools.pairwise(seen))
    before = attachment_rows(live_server)
    again = client.upload_attachment(path, "trace log.bin", k)
    assert again.id == info.id
    assert attachment_rows(live_server) == before


def test_upload_bytes(live_server: LiveServer) -> None:
    client = signed_in(live_server)
    png = b"\x89PNG\r\n\x1a\n" + os.urandom(2000)
    info = client.upload_attachment(png, "screen.png", key())
    assert (info.size, info.sha256) == (len(png), hashlib.sha256(png).hexdigest())


def test_too_large_is_refused_before_sending(live_server: LiveServer, tmp_path: Path) -> None:
    client = signed_in(live_server)
    big = tmp_path / "huge.iso"
    with big.open("wb") as f:  # sparse: no disk space used
        f.truncate(DEFAULT_MAX_FILE_BYTES + 1)
    before = attachment_rows(live_server)
    sent: list[int] = []
    started = time.monotonic()
    with pytest.raises(ApiError) as info:
        client.upload_attachment(big, "huge.iso", key(), progress=lambda d, t: sent.append(d))
    assert time.monotonic() - started < 1.0
    assert info.value.code == "too_large"
    assert "huge.iso" in info.value.message and "20 MB" in info.value.message
    assert sent == []
    assert attachment_rows(live_server) == before


def test_empty_missing_and_unreadable_files(live_server: LiveServer, tmp_path: Path) -> None:
    client = signed_in(live_server)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(ApiError) as info:
        client.upload_attachment(empty, "empty.txt", key())
    assert (info.value.code, info.value.message) == ("invalid_request", "empty.txt is empty")
    with pytest.raises(ApiError) as info:
        client.upload_attachment(b"", "shot.png", key())
    assert info.value.code == "invalid_request" and "shot.png is empty" in info.value.message
    with pytest.raises(ApiError) as info:
        client.upload_attachment(tmp_path / "gone.txt", "gone.txt", key())
    assert info.value.code == "local_file"
    assert info.value.message.startswith("cannot read gone.txt")
    with pytest.raises(ApiError) as info:
        client.upload_attachment(tmp_path, "folder", key())
    assert info.value.code == "local_file"
    with pytest.raises(ApiError) as info:
        client.upload_attachment(b"x", "x.txt", "short")
    assert info.value.code == "invalid_request"


def test_file_shrinking_mid_upload_is_a_clear_error(
    live_server: LiveServer, tmp_path: Path
) -> None:
    client = signed_in(live_server)
    path = tmp_path / "growing.log"
    path.write_bytes(os.urandom(2 * 1024 * 1024))

    def truncate(done: int, total: int) -> None:
        if done >= 256 * 1024:
            os.truncate(path, 300 * 1024)

    with pytest.raises(ApiError) as info:
        client.upload_attachment(path, "growing.log", key(), progress=truncate)
    assert (info.value.code, info.value.message) == (
        "local_file",
        "growing.log changed while being sent",
    )
    # The client is still usable afterwards.
    assert client.me().name == "Li Wei"


def test_ticket_lifecycle(live_server: LiveServer, tmp_path: Path) -> None:
    client = signed_in(live_server)
    att = client.upload_attachment(b"error 42 at startup\n", "error.txt", key())
    create = TicketCreate(
        client_key=key(),
        subject="Invoices do not print",
        body="Since the update the print button does nothing.",
        category="printing",
        urgency=Level.high,
        impact=Level.low,
        context={"module": "invoices"},
        attachment_ids=[att.id],
    )
    ticket = client.create_ticket(create)
    assert ticket.subject == "Invoices do not print"
    assert ticket.status == TicketStatus.new
    assert ticket.priority.value == "P3"
    assert [a.id for a in ticket.attachments] == [att.id]
    # The same key again: the same ticket, nothing new.
    again = client.create_ticket(create)
    assert again.id == ticket.id
    listed = client.tickets()
    assert listed.total == 1 and [t.id for t in listed.tickets] == [ticket.id]

    reply = client.reply(ticket.id, CommentCreate(client_key=key(), body="Also on page 2."))
    comments = [e for e in reply.events if e.kind == "comment"]
    assert [c.body for c in comments] == ["Also on page 2."]

    fetched = client.ticket(ticket.id)
    assert fetched.id == ticket.id and len(fetched.events) == len(reply.events)

    resolved = client.resolve(ticket.id)
    assert resolved.status == TicketStatus.resolved
    assert client.tickets(status=TicketStatus.resolved).total == 1
    assert client.tickets(status=[TicketStatus.new, TicketStatus.open]).total == 0
    rated = client.rate(ticket.id, CsatIn(rating=5, comment="quick"))
    assert rated.csat is not None and rated.csat.rating == 5
    reopened = client.reopen(ticket.id)
    assert reopened.status == TicketStatus.open
    with pytest.raises(ApiError) as info:
        client.reopen(ticket.id)
    assert (info.value.code, info.value.status) == ("conflict", 409)

    future = datetime.now(UTC) + timedelta(minutes=5)
    assert client.tickets(updated_since=future).total == 0
    naive_past = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    assert client.tickets(updated_since=naive_past).total == 1


def test_reply_to_a_closed_ticket_is_refused(live_server: LiveServer) -> None:
    client = signed_in(live_server)
    ticket = client.create_ticket(TicketCreate(client_key=key(), subject="Closed soon"))
    close_ticket(live_server, ticket.id)
    with pytest.raises(ApiError) as info:
        client.reply(ticket.id, CommentCreate(client_key=key(), body="one more thing"))
    assert (info.value.code, info.value.status) == ("conflict", 409)


def test_download_attachment(live_server: LiveServer, tmp_path: Path) -> None:
    client = signed_in(live_server)
    data = os.urandom(1024 * 1024 + 3)
    att = client.upload_attachment(data, "dump.bin", key())
    dest = tmp_path / "dump.bin"
    progress: list[int] = []
    assert (
        client.download_attachment(att.id, dest, progress=lambda d, t: progress.append(d)) == dest
    )
    assert dest.read_bytes() == data
    assert progress[-1] == len(data)
    # Another customer cannot see it, and nothing is left behind.
    other = signed_in(live_server)
    denied = tmp_path / "denied.bin"
    with pytest.raises(ApiError) as info:
        other.download_attachment(att.id, denied)
    assert (info.value.code, info.value.status) == ("not_found", 404)
    assert not denied.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dump.bin"]
    with pytest.raises(ApiError) as info:
        client.download_attachment(att.id, tmp_path / "no-such-dir" / "x.bin")
    assert info.value.code == "local_file"


def test_upload_after_the_access_token_expired(short_sessions: LiveServer, tmp_path: Path) -> None:
    """The 401 comes after the body was sent: the client refreshes and sends
    the whole file again from the start."""
    client = signed_in(short_sessions)
    data = os.urandom(512 * 1024)
    path = tmp_path / "late.bin"
    path.write_bytes(data)
    time.sleep(1.2)
    info = client.upload_attachment(path, "late.bin", key())
    assert info.sha256 == hashlib.sha256(data).hexdigest() and info.size == len(data)


def test_ticket_methods_need_a_session(live_server: LiveServer) -> None:
    client = ApiClient(live_server.url)
    with pytest.raises(ApiError) as info:
        client.tickets()
    assert (info.value.code, info.value.status) == ("session_missing", 401)
    with pytest.raises(ApiError) as info:
        client.upload_attachment(b"data", "a.txt", key())
    assert info.value.status == 401
