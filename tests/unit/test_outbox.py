"""The outbox's state machine, delivering to a real service on loopback.

``run_once`` is driven directly with an injected clock wherever timing
matters; the worker thread is exercised on its own at the end.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from client.core.api import ApiClient, ApiError, OfflineError
from client.core.outbox import (
    BACKOFF_MAX,
    Outbox,
    OutboxError,
    OutboxItem,
    _is_transient,
    outbox_path,
)
from protocol.tickets import TicketCreate
from tests.servers import LiveServer


class Clock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


class MidJitter(random.Random):
    """No jitter: ``uniform`` gives the middle of the range."""

    def uniform(self, a: float, b: float) -> float:
        return (a + b) / 2


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def signed_in(server: LiveServer, sub: str | None = None) -> ApiClient:
    client = ApiClient(server.url, timeout=20)
    client.exchange_identity(server.sign(sub or "ob-" + secrets.token_hex(6)))
    return client


def offline_client() -> ApiClient:
    return ApiClient(f"http://127.0.0.1:{closed_port()}", timeout=2)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def wait_for(cond: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def close_ticket(server: LiveServer, ticket_id: int) -> None:
    email = f"agent-{secrets.token_hex(4)}@example.com"
    server.create_agent(email)
    r = requests.post(
        f"{server.url}/api/v1/agent/tickets/{ticket_id}/status",
        json={"status": "closed"},
        headers={"Authorization": f"Bearer {server.agent_token(email)}"},
        timeout=10,
    )
    r.raise_for_status()


# --- delivery --------------------------------------------------------------------


def test_enqueue_copies_files_so_deleting_the_original_loses_nothing(
    live_server: LiveServer, tmp_path: Path
) -> None:
    api = signed_in(live_server)
    seen: list[tuple[int, str]] = []
    box = Outbox(tmp_path / "outbox.sqlite3", api, on_change=lambda i: seen.append((i.id, i.state)))
    original = tmp_path / "report.pdf"
    report = os.urandom(300_000)
    original.write_bytes(report)
    screenshot = b"\x89PNG\r\n\x1a\n" + os.urandom(5000)
    item = box.enqueue_ticket(
        subject="  Cannot export to Excel ",
        body="Export stops at 50 %.",
        urgency="high",
        context={"module": "export"},
        files=[original, ("screen 1.png", screenshot)],
    )
    assert (item.kind, item.state, item.summary) == ("ticket", "pending", "Cannot export to Excel")
    assert [(f.name, f.size) for f in item.files] == [
        ("report.pdf", len(report)),
        ("screen 1.png", len(screenshot)),
    ]
    assert [f.sha256 for f in item.files] == [sha(report), sha(screenshot)]
    original.unlink()  # the customer tidies up before the portal is online
    assert box.pending_count() == 1

    assert box.run_once()
    done = box.get(item.id)
    assert done is not None and done.state == "sent" and done.error is None
    assert done.result_ticket_id is not None and done.sent_at is not None
    assert all(f.attachment_id is not None for f in done.files)
    assert seen == [(item.id, "pending"), (item.id, "sending"), (item.id, "sent")]
    assert box.pending_count() == 0

    ticket = api.ticket(done.result_ticket_id)
    assert ticket.subject == "Cannot export to Excel"
    assert ticket.urgency.value == "high" and ticket.context == {"module": "export"}
    assert sorted((a.filename, a.sha256) for a in ticket.attachments) == sorted(
        [("report.pdf", sha(report)), ("screen 1.png", sha(screenshot))]
    )
    assert api.tickets().total == 1
    # The service holds the files now: the local copies are gone.
    assert list(box.files_dir.iterdir()) == []
    assert not box.run_once()


def test_replies_are_delivered_in_order(live_server: LiveServer, tmp_path: Path) -> None:
    api = signed_in(live_server)
    ticket = api.create_ticket(TicketCreate(client_key=secrets.token_hex(8), subject="Slow start"))
    box = Outbox(tmp_path / "o.sqlite3", api)
    first = box.enqueue_reply(ticket.id, "First\nmore detail")
    second = box.enqueue_reply(ticket.id, "", files=[("log.txt", b"line 1\n")])
    assert (first.summary, second.summary) == ("First", "1 file(s)")
    assert box.run_once() and box.run_once() and not box.run_once()
    assert [i.state for i in box.items()] == ["sent", "sent"]
    events = [e for e in api.ticket(ticket.id).events if e.kind == "comment"]
    assert [e.body for e in events] == ["First\nmore detail", ""]
    assert [a.filename for a in events[1].attachments] == ["log.txt"]


def test_backoff_with_an_injected_clock(live_server: LiveServer, tmp_path: Path) -> None:
    clock = Clock()
    box = Outbox(tmp_path / "o.sqlite3", offline_client(), clock=clock, rng=MidJitter())
    item = box.enqueue_ticket(subject="Offline", files=[("a.txt", b"abc")])
    t0 = clock.now
    expected = [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    for n, delay in enumerate(expected, start=1):
        assert box.run_once()
        now = box.get(item.id)
        assert now is not None and now.state == "pending"
        assert now.attempts == n and now.error_code == "offline"
        assert now.error is not None and "cannot connect" in now.error
        assert now.next_attempt_at is not None
        assert now.next_attempt_at.timestamp() == pytest.approx(clock.now + delay, abs=1e-3)
        # Not due yet: nothing is tried.
        clock.now += delay - 0.01
        assert not box.run_once()
        assert box.next_delay() == pytest.approx(0.01, abs=1e-6)
        assert box.get(item.id).attempts == n  # type: ignore[union-attr]
        clock.now += 0.01
    assert clock.now - t0 == pytest.approx(sum(expected))
    # kick() tries at once, backoff or not.
    clock.now += 1
    box.kick()
    assert box.next_delay() == 0
    assert box.run_once() and box.get(item.id).attempts == len(expected) + 1  # type: ignore[union-attr]
    # The service is reachable again.
    box.api = signed_in(live_server)
    box.kick()
    assert box.run_once()
    done = box.get(item.id)
    assert done is not None and done.state == "sent" and done.result_ticket_id


def test_backoff_has_jitter_and_a_ceiling(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3", offline_client(), rng=random.Random(7))
    for attempts in range(1, 40):
        base = min(BACKOFF_MAX, 2.0 ** (attempts - 1))
        delays = {box.backoff(attempts) for _ in range(20)}
        assert len(delays) > 1
        assert all(0.8 * base <= d <= min(BACKOFF_MAX, 1.2 * base) for d in delays)


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (OfflineError("cannot connect"), True),
        (ApiError("internal", "boom", 500), True),
        (ApiError("bad_response", "HTTP 502 without an error body", 502), True),
        (ApiError("rate_limited", "slow down", 429), True),
        (ApiError("bad_response", "HTTP 408 without an error body", 408), True),
        (ApiError("bad_response", "the answer is not a valid Ticket", 201), True),
        (ApiError("bad_response", "ChunkedEncodingError", None), True),
        (ApiError("conflict", "the ticket is closed", 409), False),
        (ApiError("invalid_request", "bad", 422), False),
        (ApiError("too_large", "too big", 413), False),
        (ApiError("not_found", "no ticket", 404), False),
        (ApiError("local_file", "cannot read x", None), False),
    ],
)
def test_which_errors_are_retried(error: ApiError, transient: bool) -> None:
    assert _is_transient(error) is transient


def test_permanent_failures_stay_visible_until_retried_or_discarded(
    live_server: LiveServer, tmp_path: Path
) -> None:
    api = signed_in(live_server)
    ticket = api.create_ticket(TicketCreate(client_key=secrets.token_hex(8), subject="Old issue"))
    close_ticket(live_server, ticket.id)
    box = Outbox(tmp_path / "o.sqlite3", api)
    late = box.enqueue_reply(ticket.id, "It happened again", files=[("again.txt", b"again")])
    lost = box.enqueue_reply(987_654, "To nowhere")
    assert box.run_once()
    failed = box.get(late.id)
    assert failed is not None and failed.state == "failed"
    assert (failed.error_code, failed.error) == ("conflict", "the ticket is closed; open a new one")
    assert failed.next_attempt_at is None
    # A failed item does not block the queue.
    assert box.run_once()
    nowhere = box.get(lost.id)
    assert nowhere is not None and (nowhere.state, nowhere.error_code) == ("failed", "not_found")
    assert not box.run_once()
    assert box.pending_count() == 0 and box.failed_count() == 2
    assert [i.id for i in box.items(states=["failed"])] == [late.id, lost.id]

    again = box.retry(late.id)
    assert (again.state, again.attempts, again.error) == ("pending", 0, None)
    assert box.run_once()
    assert box.get(late.id).state == "failed"  # type: ignore[union-attr]

    folder = box.files_dir
    assert any(folder.iterdir())
    box.discard(late.id)
    box.discard(lost.id)
    assert box.items() == [] and list(folder.iterdir()) == []
    box.discard(late.id)  # already gone: nothing to do
    with pytest.raises(OutboxError):
        box.retry(late.id)


def test_expired_session_pauses_and_asks_for_sign_in(
    live_server: LiveServer, tmp_path: Path
) -> None:
    sub = "ob-" + secrets.token_hex(6)
    api = signed_in(live_server, sub)
    api.set_session(None, None)  # signed out, e.g. the refresh token was revoked
    asked: list[bool] = []
    clock = Clock()
    box = Outbox(
        tmp_path / "o.sqlite3", api, clock=clock, on_auth_needed=lambda: asked.append(True)
    )
    item = box.enqueue_ticket(subject="Needs a session", files=[("n.txt", b"n")])
    assert box.run_once()
    waiting = box.get(item.id)
    assert waiting is not None and waiting.state == "pending" and waiting.waiting_for_sign_in
    assert waiting.attempts == 0 and asked == [True]
    assert waiting.next_attempt_at is not None
    assert waiting.next_attempt_at.timestamp() == pytest.approx(clock.now + 300, abs=1e-3)
    assert not box.run_once()
    api.exchange_identity(live_server.sign(sub))
    box.kick()
    assert box.run_once()
    done = box.get(item.id)
    assert done is not None and done.state == "sent" and not done.waiting_for_sign_in
    assert api.tickets().total == 1


# --- enqueue checks -----------------------------------------------------------------


def test_files_are_checked_at_enqueue(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3", offline_client(), max_ticket_bytes=10_000)
    big = tmp_path / "big.iso"
    with big.open("wb") as f:
        f.truncate(20 * 1024 * 1024 + 1)
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    half = tmp_path / "half.bin"
    half.write_bytes(b"x" * 6000)
    cases: list[tuple[list[Path | str | tuple[str, bytes]], str]] = [
        ([big], "big.iso is 20 MB; a file may be at most 20 MB"),
        ([empty], "empty.log is empty"),
        ([("shot.png", b"")], "shot.png is empty"),
        ([tmp_path / "gone.txt"], "gone.txt does not exist (any more)"),
        ([tmp_path], "is not a file"),
        ([("", b"x")], "an attached file has no name"),
        ([half, half], "the files total 12000 bytes; together they may be at most 10000 bytes"),
        ([("a.txt", b"a")] * 51, "at most 50 files can be attached at once"),
    ]
    for files, message in cases:
        with pytest.raises(OutboxError) as info:
            box.enqueue_ticket(subject="Checked", files=files)
        assert message in info.value.message, (files, info.value.message)
    with pytest.raises(OutboxError, match="a ticket needs a subject"):
        box.enqueue_ticket(subject="   ")
    with pytest.raises(OutboxError, match="subject"):
        box.enqueue_ticket(subject="x" * 201)
    with pytest.raises(OutboxError, match="urgent"):
        box.enqueue_ticket(subject="ok", urgency="urgent")
    with pytest.raises(OutboxError, match="a reply needs text or a file"):
        box.enqueue_reply(1, "  \n")
    assert box.items() == []
    assert not box.files_dir.exists() or list(box.files_dir.iterdir()) == []


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads every file")
def test_unreadable_file_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked.txt"
    locked.write_text("private")
    locked.chmod(0)
    box = Outbox(tmp_path / "o.sqlite3", offline_client())
    with pytest.raises(OutboxError) as info:
        box.enqueue_ticket(subject="Locked", files=[locked])
    assert info.value.message == "cannot read locked.txt: Permission denied"
    assert box.items() == []


def test_special_files_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes here")
    os.mkfifo(fifo)  # reading it would block forever
    box = Outbox(tmp_path / "o.sqlite3", offline_client())
    with pytest.raises(OutboxError, match="pipe is not a file"):
        box.enqueue_ticket(subject="Pipe", files=[fifo])


def test_discard_removes_the_copied_files(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3", offline_client())
    keep = box.enqueue_ticket(subject="Keep", files=[("k.txt", b"keep")])
    gone = box.enqueue_ticket(subject="Gone", files=[("g.txt", b"gone"), ("h.txt", b"h")])
    assert len(list(box.files_dir.iterdir())) == 2
    box.discard(gone.id)
    assert [i.id for i in box.items()] == [keep.id]
    (left,) = box.files_dir.iterdir()
    assert sorted(p.read_bytes() for p in left.iterdir()) == [b"keep"]


# --- crashes and damage ---------------------------------------------------------------


def test_restart_resumes_an_interrupted_item(live_server: LiveServer, tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    api = signed_in(live_server)
    box = Outbox(path, api)
    item = box.enqueue_ticket(subject="Interrupted", files=[("i.txt", b"interrupted")])
    # As if the process died mid-send.
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE items SET state = 'sending', attempts = 1")
    box.close()
    (tmp_path / "o-files" / "tmp-abandoned").mkdir()
    again = Outbox(path, api)
    resumed = again.get(item.id)
    assert resumed is not None and resumed.state == "pending" and resumed.attempts == 1
    assert not (tmp_path / "o-files" / "tmp-abandoned").exists()
    assert again.run_once()
    done = again.get(item.id)
    assert done is not None and done.state == "sent"
    ticket = api.ticket(done.result_ticket_id or 0)
    assert [a.sha256 for a in ticket.attachments] == [sha(b"interrupted")]
    assert api.tickets().total == 1


def test_a_corrupt_outbox_is_moved_aside_and_recreated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "o.sqlite3"
    box = Outbox(path, offline_client())
    box.enqueue_ticket(subject="Before", files=[("b.txt", b"before")])
    box.close()
    garbage = b"this is not a database " * 200
    path.write_bytes(garbage)
    Path(str(path) + "-wal").unlink(missing_ok=True)
    with caplog.at_level(logging.ERROR, logger="client.core.outbox"):
        fresh = Outbox(path, offline_client())
    (record,) = [r for r in caplog.records if "damaged" in r.getMessage()]
    assert "moved to" in record.getMessage() and "new outbox" in record.getMessage()
    (aside,) = tmp_path.glob("o.sqlite3.corrupt-*")
    assert aside.read_bytes() == garbage
    assert fresh.persistent and fresh.items() == []
    # The lost items' files are left alone, for support to recover.
    assert len(list(fresh.files_dir.iterdir())) == 1
    assert fresh.enqueue_ticket(subject="After").state == "pending"
    assert [i.summary for i in Outbox(path, offline_client()).items()] == ["After"]


def test_an_unusable_location_falls_back_to_memory(tmp_path: Path) -> None:
    (tmp_path / "dir.sqlite3").mkdir()
    box = Outbox(tmp_path / "dir.sqlite3", offline_client())
    assert not box.persistent and box.problem and "cannot be saved" in box.problem
    assert box.enqueue_ticket(subject="In memory", files=[("m.txt", b"m")]).state == "pending"


def test_delivered_items_are_pruned_after_a_week(live_server: LiveServer, tmp_path: Path) -> None:
    clock = Clock()
    box = Outbox(tmp_path / "o.sqlite3", signed_in(live_server), clock=clock)
    item = box.enqueue_ticket(subject="Pruned later")
    assert box.run_once()
    clock.now += timedelta(days=6).total_seconds()
    box.run_once()
    assert box.get(item.id) is not None
    clock.now += timedelta(days=1, minutes=1).total_seconds()
    box.run_once()
    assert box.get(item.id) is None


def test_per_customer_outbox_paths(tmp_path: Path) -> None:
    a, b = outbox_path(tmp_path, "cust-1"), outbox_path(tmp_path, "cust-2")
    assert a != b and a.parent == b.parent == tmp_path / "outbox"
    assert a == outbox_path(tmp_path, "cust-1") and "cust" not in a.name


# --- the worker thread ----------------------------------------------------------------


def test_the_worker_delivers_and_wakes_on_enqueue(live_server: LiveServer, tmp_path: Path) -> None:
    api = signed_in(live_server)
    states: list[OutboxItem] = []
    box = Outbox(tmp_path / "o.sqlite3", api, on_change=states.append)
    box.start()
    try:
        time.sleep(0.2)  # idle, waiting
        started = time.monotonic()
        item = box.enqueue_ticket(subject="Via the thread", files=[("t.txt", b"thread")])
        wait_for(lambda: box.get(item.id).state == "sent")  # type: ignore[union-attr]
        assert time.monotonic() - started < 5
    finally:
        box.stop()
    assert not box.running
    assert [s.state for s in states if s.id == item.id] == ["pending", "sending", "sent"]
    assert api.tickets().total == 1


def test_stopping_mid_upload_resumes_on_the_next_start(
    live_server: LiveServer, tmp_path: Path
) -> None:
    api = signed_in(live_server)
    data = os.urandom(4 * 1024 * 1024)
    uploading = threading.Event()
    progress: list[tuple[int, int]] = []

    def on_progress(item_id: int, done: int, total: int) -> None:
        progress.append((done, total))
        if not uploading.is_set():
            uploading.set()
            time.sleep(0.5)  # hold the upload so stop() lands mid-stream

    path = tmp_path / "o.sqlite3"
    box = Outbox(path, api, on_progress=on_progress)
    item = box.enqueue_ticket(subject="Big one", files=[("big.bin", data)])
    box.start()
    assert uploading.wait(10)
    box.stop()
    stopped = box.get(item.id)
    assert stopped is not None and stopped.state == "pending" and stopped.attempts == 0
    assert progress[-1][0] < len(data)
    box.close()

    again = Outbox(path, api)
    again.start()
    try:
        wait_for(lambda: again.get(item.id).state == "sent")  # type: ignore[union-attr]
    finally:
        again.stop()
    done = again.get(item.id)
    assert done is not None
    ticket = api.ticket(done.result_ticket_id or 0)
    assert [(a.size, a.sha256) for a in ticket.attachments] == [(len(data), sha(data))]
    assert api.tickets().total == 1
