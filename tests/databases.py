"""The databases tests run on: SQLite always, and PostgreSQL when a test
cluster is given (``scripts/test.sh`` starts one and sets
``HELPBRIDGE_TEST_POSTGRES_URL``)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from server.db import sqlite_url

PG_ADMIN_URL = os.environ.get("HELPBRIDGE_TEST_POSTGRES_URL", "")
"""A role on the test cluster that may create databases."""

BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            not PG_ADMIN_URL, reason="HELPBRIDGE_TEST_POSTGRES_URL is not set"
        ),
    ),
]
"""``@pytest.fixture(params=BACKENDS)``, then :func:`database_url` with ``request.param``."""


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A new, empty database on the test cluster (its URL), dropped afterwards."""
    name = f"hb_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def database_url(backend: str, data_dir: Path) -> Iterator[str]:
    """A fresh database of ``backend`` ("sqlite" in ``data_dir``, or "postgresql")."""
    if backend == "sqlite":
        yield sqlite_url(data_dir)
    else:
        with throwaway_postgres() as url:
            yield url
