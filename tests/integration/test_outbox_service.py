"""The outbox against real failures: the service down, the portal killed, the
service restarted mid-upload. In every case the ticket must arrive exactly
once, with its attachment intact.

The portal is stood in for by a small script using the real Outbox and
ApiClient in a child process, so it can be SIGKILLed at chosen moments.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from client.core.api import ApiClient
from client.core.outbox import Outbox, OutboxItem
from server import models
from tests.servers import REPO, LiveServer, ServerProcess

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL")

FIVE_MB = 5 * 1024 * 1024

CHILD = r'''
"""A stand-in portal: queue one ticket with a file, deliver it, report."""
import json
import os
import signal
import sqlite3
import sys
import time
from pathlib import Path

import client.core.outbox as outbox_module
from client.core.api import ApiClient
from client.core.outbox import Outbox

KILL_AT = os.environ.get("HB_KILL_AT", "")
THROTTLE = float(os.environ.get("HB_THROTTLE", "0"))


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class Client(ApiClient):
    def upload_attachment(self, *args, progress=None, **kwargs):
        def slow(done, total):
            if THROTTLE:
                time.sleep(THROTTLE)
            if KILL_AT == "mid-upload" and done > total // 2:
                die()
            if progress is not None:
                progress(done, total)

        info = super().upload_attachment(*args, progress=slow, **kwargs)
        if KILL_AT == "after-upload":  # uploaded, id not recorded yet
            die()
        return info

    def create_ticket(self, ticket):
        if KILL_AT == "before-create":
            die()
        created = super().create_ticket(ticket)
        if KILL_AT == "after-create":  # created, not marked sent yet
            die()
        return created


if KILL_AT == "after-copy":
    # Files copied and renamed into place, the item not committed yet.
    real_fsync_dir = outbox_module._fsync_dir

    def fsync_dir(path):
        real_fsync_dir(path)
        if path.name.endswith("-files"):
            die()

    outbox_module._fsync_dir = fsync_dir

url, box_path, token, file = sys.argv[1:5]
api = Client(url, timeout=20)
api.exchange_identity(token)
box = Outbox(Path(box_path), api)
if not box.items():
    box.enqueue_ticket(subject="Crash test", body="Sent through a crash.", files=[Path(file)])
print("enqueued", flush=True)
box.start()
deadline = time.monotonic() + 60
while box.pending_count():
    if time.monotonic() > deadline:
        sys.exit("not delivered in time")
    time.sleep(0.02)
box.stop()
print(json.dumps([[i.state, i.result_ticket_id] for i in box.items()]), flush=True)
'''


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def big_file(directory: Path) -> Path:
    path = directory / "trace.bin"
    path.write_bytes(os.urandom(FIVE_MB))
    return path


def wait_for(cond: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def on_server(server: LiveServer, sub: str) -> tuple[int, int]:
    """(tickets, attachments) the customer has in the service's database."""
    with server.db.session() as s:
        customer = s.scalar(select(models.Customer).where(models.Customer.external_id == sub))
        assert customer is not None
        tickets = s.scalar(
            select(func.count())
            .select_from(models.Ticket)
            .where(models.Ticket.requester_id == customer.id)
        )
        attachments = s.scalar(
            select(func.count())
            .select_from(models.Attachment)
            .where(
                models.Attachment.owner_type == "customer",
                models.Attachment.owner_id == customer.id,
            )
        )
        return int(tickets or 0), int(attachments or 0)


def outbox_rows(path: Path) -> list[tuple[str, int | None]]:
    """(item state, recorded attachment id) straight from the outbox file."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        return list(
            db.execute(
                "SELECT items.state, files.attachment_id FROM items "
                "LEFT JOIN files ON files.item_id = items.id ORDER BY items.id"
            )
        )


# Where each deterministic kill leaves things: (outbox rows, (tickets, attachments)).
AFTER_KILL: dict[str, tuple[list[tuple[str, int | None]], tuple[int, int]]] = {
    "after-copy": ([], (0, 0)),
    "mid-upload": ([("sending", None)], (0, 0)),
    "after-upload": ([("sending", None)], (0, 1)),
    "before-create": ([("sending", -1)], (0, 1)),
    "after-create": ([("sending", -1)], (1, 1)),
}


@pytest.fixture
def child_script(tmp_path: Path) -> Path:
    path = tmp_path / "portal_stand_in.py"
    path.write_text(CHILD)
    return path


def run_child(
    script: Path, server: LiveServer, sub: str, box: Path, file: Path, **env: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(script), server.url, str(box), server.sign(sub), str(file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
    )


# --- (1) the service is down while the customer writes ---------------------------------


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "service")
    proc.data_dir.mkdir(parents=True)
    yield proc.start()
    proc.stop()


def test_service_down_then_up_delivers_once(service: ServerProcess, tmp_path: Path) -> None:
    api = ApiClient(service.url, timeout=5)
    api.exchange_identity(service.sign("outbox-down"))
    changes: list[OutboxItem] = []
    box = Outbox(tmp_path / "o.sqlite3", api, on_change=changes.append)
    box.start()
    try:
        port = service.port
        assert port is not None
        service.stop()
        file = tmp_path / "screen.png"
        file.write_bytes(os.urandom(200_000))
        item = box.enqueue_ticket(subject="Written offline", files=[file])
        wait_for(lambda: any(c.error_code == "offline" for c in changes))
        waiting = box.get(item.id)
        assert waiting is not None and waiting.state == "pending" and waiting.attempts >= 1
        service.start(port=port)
        box.kick()  # what the UI does when it sees the service again
        wait_for(lambda: box.get(item.id).state == "sent")  # type: ignore[union-attr]
    finally:
        box.stop()
    listed = api.tickets()
    assert listed.total == 1
    ticket = api.ticket(listed.tickets[0].id)
    assert ticket.subject == "Written offline"
    assert [a.sha256 for a in ticket.attachments] == [sha(file)]


# --- (2) the portal is killed while sending -----------------------------------------------


@pytest.mark.parametrize(
    ("kill", "delay"),
    [
        ("after-copy", None),
        ("mid-upload", None),
        ("after-upload", None),
        ("before-create", None),
        ("after-create", None),
        ("timer", 0.05),
        ("timer", 0.2),
        ("timer", 0.5),
    ],
    ids=lambda v: str(v),
)
def test_sigkill_during_submission_delivers_exactly_once(
    live_server: LiveServer,
    tmp_path: Path,
    child_script: Path,
    kill: str,
    delay: float | None,
) -> None:
    sub = "outbox-kill-" + secrets.token_hex(4)
    file = big_file(tmp_path)
    box = tmp_path / "outbox.sqlite3"
    # ~1 s of upload, so the timed kills land mid-transfer.
    env = {"HB_THROTTLE": "0.003"}
    if delay is None:
        env["HB_KILL_AT"] = kill
    first = run_child(child_script, live_server, sub, box, file, **env)
    if delay is not None:
        assert first.stdout is not None
        assert first.stdout.readline().strip() == "enqueued"
        time.sleep(delay)
        first.send_signal(signal.SIGKILL)
    _, err = first.communicate(timeout=60)
    assert first.returncode == -signal.SIGKILL, err
    if delay is None:
        # The kill happened exactly where it was meant to.
        rows, counts = AFTER_KILL[kill]
        seen = [(state, None if att is None else -1) for state, att in outbox_rows(box)]
        assert (seen, on_server(live_server, sub)) == (rows, counts)
        if kill == "after-copy":
            assert len(list((tmp_path / "outbox-files").iterdir())) == 1

    second = run_child(child_script, live_server, sub, box, file)
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    lines = out.splitlines()
    assert lines[0] == "enqueued"
    ((state, ticket_id),) = json.loads(lines[1])
    assert state == "sent"

    api = ApiClient(live_server.url)
    api.exchange_identity(live_server.sign(sub))
    listed = api.tickets()
    assert listed.total == 1 and listed.tickets[0].id == ticket_id
    ticket = api.ticket(ticket_id)
    assert [(a.size, a.sha256) for a in ticket.attachments] == [(FIVE_MB, sha(file))]
    # No stray second upload either.
    assert on_server(live_server, sub) == (1, 1)
    # The delivered copy and any half-queued one are gone.
    assert list((tmp_path / "outbox-files").iterdir()) == []


# --- (3) the service restarts in the middle of an upload ------------------------------------


class ThrottledClient(ApiClient):
    """Uploads slowly (a short sleep per chunk) and reports how far it got."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fraction = 0.0
        self.attempts = 0

    def upload_attachment(self, *args: Any, progress: Any = None, **kwargs: Any) -> Any:
        self.attempts += 1

        def slow(done: int, total: int) -> None:
            time.sleep(0.004)
            self.fraction = done / total
            if progress is not None:
                progress(done, total)

        return super().upload_attachment(*args, progress=slow, **kwargs)


def test_service_restart_mid_upload(service: ServerProcess, tmp_path: Path) -> None:
    api = ThrottledClient(service.url, timeout=10)
    api.exchange_identity(service.sign("outbox-restart"))
    file = big_file(tmp_path)
    box = Outbox(tmp_path / "o.sqlite3", api)
    item = box.enqueue_ticket(subject="Big trace", files=[file])
    port = service.port
    assert port is not None
    box.start()
    try:
        wait_for(lambda: api.fraction > 0.3)
        assert api.fraction < 0.9
        proc = service.proc
        assert proc is not None
        proc.kill()  # a crash, not a graceful stop that would finish the request
        proc.wait()
        service.start(port=port)
        box.kick()
        wait_for(lambda: box.get(item.id).state == "sent", timeout=60)  # type: ignore[union-attr]
    finally:
        box.stop()
    assert api.attempts >= 2
    listed = api.tickets()
    assert listed.total == 1
    ticket = api.ticket(listed.tickets[0].id)
    assert [(a.size, a.sha256) for a in ticket.attachments] == [(FIVE_MB, sha(file))]
