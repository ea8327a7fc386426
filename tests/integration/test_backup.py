"""Backup while the service is under load; restore into a new data dir."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import requests

from tests.servers import REPO, ServerProcess


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


def customer(url: str, token: str) -> requests.Session:
    s = requests.Session()
    r = s.post(f"{url}/api/v1/auth/identity", json={"token": token}, timeout=10)
    r.raise_for_status()
    s.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return s


def make_ticket(url: str, s: requests.Session, i: int) -> dict[str, object]:
    data = f"attachment {i} ".encode() * 500
    up = s.put(
        f"{url}/api/v1/attachments/{uuid.uuid4().hex}",
        params={"filename": f"f{i}.txt"},
        data=data,
        timeout=10,
    )
    up.raise_for_status()
    t = s.post(
        f"{url}/api/v1/tickets",
        json={
            "client_key": uuid.uuid4().hex,
            "subject": f"ticket {i}",
            "body": "x",
            "attachment_ids": [up.json()["id"]],
        },
        timeout=10,
    )
    t.raise_for_status()
    s.post(
        f"{url}/api/v1/tickets/{t.json()['id']}/comments",
        json={"client_key": uuid.uuid4().hex, "body": f"reply {i}"},
        timeout=10,
    ).raise_for_status()
    return {"id": t.json()["id"], "sha": hashlib.sha256(data).hexdigest()}


def test_backup_under_load_then_restore(server_process: ServerProcess, tmp_path: Path) -> None:
    url = server_process.url
    s = customer(url, server_process.sign("backup-1"))
    before = [make_ticket(url, s, i) for i in range(20)]

    # Keep writing while the backup runs.
    stop = threading.Event()
    during: list[dict[str, object]] = []
    s2 = customer(url, server_process.sign("backup-2"))

    def load() -> None:
        i = 1000
        while not stop.is_set():
            during.append(make_ticket(url, s2, i))
            i += 1

    worker = threading.Thread(target=load)
    worker.start()
    deadline = time.monotonic() + 20
    while not during and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        dest = tmp_path / "backup"
        r = cli("backup", str(dest), "--data-dir", str(server_process.data_dir))
        assert r.returncode == 0, r.stderr
    finally:
        stop.set()
        worker.join()
    assert during, "the backup ran while tickets were being written"
    manifest = json.loads((dest / "manifest.json").read_text())
    in_backup = manifest["counts"]["tickets"]
    assert in_backup >= len(before)

    # A second backup into the same folder is refused.
    again = cli("backup", str(dest), "--data-dir", str(server_process.data_dir))
    assert again.returncode == 2 and "not empty" in again.stderr

    # Restore into a new data directory and serve it.
    new_dir = tmp_path / "restored"
    r = cli("restore", str(dest), "--data-dir", str(new_dir))
    assert r.returncode == 0, r.stderr
    restored = ServerProcess(new_dir).start()
    try:
        s3 = customer(restored.url, restored.sign("backup-1"))
        mine = s3.get(f"{restored.url}/api/v1/tickets", params={"per_page": 100}, timeout=10).json()
        assert mine["total"] == len(before)
        for t in before:
            full = s3.get(f"{restored.url}/api/v1/tickets/{t['id']}", timeout=10).json()
            assert any(e["body"].startswith("reply") for e in full["events"])
            att = full["attachments"][0]
            body = s3.get(f"{restored.url}/api/v1/attachments/{att['id']}", timeout=10).content
            assert hashlib.sha256(body).hexdigest() == t["sha"]
        # Every ticket the snapshot counted is complete, attachments included.
        s4 = customer(restored.url, restored.sign("backup-2"))
        theirs = s4.get(
            f"{restored.url}/api/v1/tickets", params={"per_page": 100}, timeout=10
        ).json()
        assert mine["total"] + theirs["total"] == in_backup
        for summary in theirs["tickets"]:
            full = s4.get(f"{restored.url}/api/v1/tickets/{summary['id']}", timeout=10).json()
            for att in full["attachments"]:
                r2 = s4.get(f"{restored.url}/api/v1/attachments/{att['id']}", timeout=10)
                assert (
                    r2.status_code == 200
                    and hashlib.sha256(r2.content).hexdigest() == att["sha256"]
                )
    finally:
        restored.stop()


def test_restore_refuses_damaged_or_foreign_folders(
    tmp_path: Path, server_process: ServerProcess
) -> None:
    r = cli("restore", str(tmp_path), "--data-dir", str(tmp_path / "x"))
    assert r.returncode == 2 and "not a HelpBridge backup" in r.stderr
    good = tmp_path / "good"
    assert cli("backup", str(good), "--data-dir", str(server_process.data_dir)).returncode == 0
    r = cli("restore", str(good), "--data-dir", str(server_process.data_dir))
    assert r.returncode == 2 and "exists" in r.stderr
    dest = tmp_path / "b"
    assert cli("backup", str(dest), "--data-dir", str(server_process.data_dir)).returncode == 0
    with (dest / "helpbridge.sqlite3").open("r+b") as f:
        f.seek(200)
        f.write(b"\x00garbage\x00")
    r = cli("restore", str(dest), "--data-dir", str(tmp_path / "y"))
    assert r.returncode == 2 and "checksum" in r.stderr
