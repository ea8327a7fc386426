"""Shared fixtures: real services on loopback, an offscreen Qt for widget tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Widget tests run offscreen; e2e tests start their own Xvfb and pass DISPLAY
# to the processes they launch.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.servers import LiveServer, ServerProcess, start_live_server


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One service for the session, with the demo knowledge base imported.
    Tests that change shared state should use ``fresh_server``."""
    server = start_live_server(tmp_path_factory.mktemp("service"))
    yield server
    server.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A service of the test's own, with an empty knowledge base."""
    server = start_live_server(tmp_path / "service", seed_kb=False)
    yield server
    server.stop()


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "service-proc")
    proc.data_dir.mkdir(parents=True)
    yield proc.start()
    proc.stop()
