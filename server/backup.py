"""Consistent backups of a running service, and restores.

``helpbridge-server backup DEST`` writes::

    DEST/
      manifest.json        what, when, schema revision, row counts, checksums
      helpbridge.sqlite3   SQLite's online backup (a consistent snapshot), or
      database.dump        pg_dump's custom format, for PostgreSQL
      blobs/ab/abcdef...   the attachments, content-addressed

The database is copied first, then the blobs. A blob is always written (and
renamed into place) before the row that names it commits, so every
attachment the snapshot knows is already on disk when the blobs are copied.
Blobs are immutable, so copying them while the service runs is safe.

``helpbridge-server restore SRC --data-dir NEW`` checks the manifest and the
checksums, puts the database and blobs in place, and upgrades the schema to
this version's newest revision.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from server import __version__
from server.db import Database, sqlite_url

MANIFEST = "manifest.json"
SQLITE_NAME = "helpbridge.sqlite3"
PG_DUMP_NAME = "database.dump"
COUNTED_TABLES = ("customers", "agents", "tickets", "ticket_events", "attachments", "articles")


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why."""


@dataclass(frozen=True)
class BackupReport:
    dest: Path
    counts: dict[str, int]
    blobs: int
    bytes: int


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _counts(conn: sqlite3.Connection, tables: tuple[str, ...]) -> dict[str, int]:
    present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {
        t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])  # noqa: S608
        for t in tables
        if t in present
    }


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (PostgreSQL client tools)")
    return path


def _copy_blobs(src: Path, dest: Path) -> tuple[int, int]:
    n = size = 0
    if not src.is_dir():
        return 0, 0
    for path in src.rglob("*"):
        if not path.is_file() or path.parent.name == "tmp":
            continue
        target = dest / path.relative_to(src)
        if target.exists() and target.stat().st_size == path.stat().st_size:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        n += 1
        size += path.stat().st_size
    return n, size


def backup(db_url: str, data_dir: Path, dest: Path) -> BackupReport:
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} is not empty; back up into a new folder")
    dest.mkdir(parents=True, exist_ok=True)
    url = make_url(db_url)
    manifest: dict[str, Any] = {
        "format": 1,
        "helpbridge": __version__,
        "created_at": datetime.now(UTC).isoformat(),
        "backend": url.get_backend_name(),
    }
    if url.get_backend_name() == "sqlite":
        source = Path(url.database or "")
        if not source.is_file():
            raise BackupError(f"no database at {source}")
        target = dest / SQLITE_NAME
        src_conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
        dst_conn = sqlite3.connect(target)
        try:
            # The online backup API copies a consistent snapshot while the
            # service keeps writing (pages changed mid-copy restart the copy).
            src_conn.backup(dst_conn, pages=1024)
            manifest["counts"] = _counts(dst_conn, COUNTED_TABLES)
            manifest["revision"] = _revision(dst_conn)
        finally:
            dst_conn.close()
            src_conn.close()
        manifest["database"] = {"file": SQLITE_NAME, "sha256": _sha256(target)}
    elif url.get_backend_name() == "postgresql":
        target = dest / PG_DUMP_NAME
        pg_url = url.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            subprocess.run(  # noqa: S603
                [_tool("pg_dump"), "--format=custom", "--file", str(target), "--dbname", pg_url],
                check=True,
                capture_output=True,
                text=True,
            )
        except FileNotFoundError as exc:
            raise BackupError("pg_dump is not installed (PostgreSQL client tools)") from exc
        except subprocess.CalledProcessError as exc:
            raise BackupError(f"pg_dump failed: {exc.stderr.strip()[:500]}") from exc
        database = Database(db_url)
        with database.engine.connect() as conn:
            manifest["counts"] = {
                t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() or 0)  # noqa: S608
                for t in COUNTED_TABLES
            }
            manifest["revision"] = conn.execute(
                text("SELECT version_num FROM alembic_version")
            ).scalar()
        database.dispose()
        manifest["database"] = {"file": PG_DUMP_NAME, "sha256": _sha256(target)}
    else:
        raise BackupError(f"cannot back up a {url.get_backend_name()} database")
    blobs, size = _copy_blobs(data_dir / "blobs", dest / "blobs")
    manifest["blobs"] = {"count": blobs, "bytes": size}
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return BackupReport(dest, manifest["counts"], blobs, size)


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    return str(row[0]) if row else None


def read_manifest(src: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((src / MANIFEST).read_text())
    except FileNotFoundError as exc:
        raise BackupError(f"{src} is not a HelpBridge backup (no {MANIFEST})") from exc
    except (OSError, ValueError) as exc:
        raise BackupError(f"{src / MANIFEST} is unreadable: {exc}") from exc
    if manifest.get("format") != 1:
        raise BackupError("this backup was made by an unknown HelpBridge version")
    return manifest


def restore(
    src: Path, data_dir: Path, db_url: str | None = None, *, force: bool = False
) -> dict[str, int]:
    manifest = read_manifest(src)
    db_file = src / manifest["database"]["file"]
    if not db_file.is_file():
        raise BackupError(f"the backup lacks {db_file.name}")
    if _sha256(db_file) != manifest["database"]["sha256"]:
        raise BackupError(f"{db_file.name} does not match its checksum: the backup is damaged")
    url = make_url(db_url or sqlite_url(data_dir))
    data_dir.mkdir(parents=True, exist_ok=True)
    if manifest["backend"] == "sqlite":
        if url.get_backend_name() != "sqlite":
            raise BackupError("an SQLite backup restores into an SQLite data directory")
        target = Path(url.database or "")
        if target.exists() and not force:
            raise BackupError(f"{target} exists; restore into a new data directory (or --force)")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        tmp = target.with_suffix(".restoring")
        shutil.copy2(db_file, tmp)
        os.replace(tmp, target)
    else:
        if url.get_backend_name() != "postgresql":
            raise BackupError("a PostgreSQL backup restores into PostgreSQL (--database-url)")
        pg_url = url.set(drivername="postgresql").render_as_string(hide_password=False)
        args = [_tool("pg_restore"), "--no-owner", "--dbname", pg_url, str(db_file)]
        if force:
            args[1:1] = ["--clean", "--if-exists"]
        try:
            subprocess.run(args, check=True, capture_output=True, text=True)  # noqa: S603
        except FileNotFoundError as exc:
            raise BackupError("pg_restore is not installed (PostgreSQL client tools)") from exc
        except subprocess.CalledProcessError as exc:
            raise BackupError(f"pg_restore failed: {exc.stderr.strip()[:500]}") from exc
    _copy_blobs(src / "blobs", data_dir / "blobs")
    database = Database(url.render_as_string(hide_password=False))
    try:
        database.upgrade()  # an older backup is brought to this version's schema
    finally:
        database.dispose()
    counts: dict[str, int] = manifest.get("counts", {})
    return counts
