"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from server.db import Database, sqlite_url
from server.models import Base


def _ignore_search_tables(obj: object, name: str | None, type_: str, *_: object) -> bool:
    # The search index's own tables live only in migrations.
    return not (type_ == "table" and name is not None and name.startswith("search_"))


def test_upgrade_from_empty_matches_models(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path))
    db.upgrade()
    db.upgrade()  # idempotent
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": _ignore_search_tables})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []
    assert inspect(db.engine).has_table("articles")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
