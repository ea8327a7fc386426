"""Real services for tests: uvicorn on 127.0.0.1:0 with a real SQLite file.

``LiveServer`` runs the service in a thread of the test process (fast, and
the test can reach its database); ``ServerProcess`` runs ``python -m server``
as a separate process, for tests that kill or restart it.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
import uvicorn

from protocol.models import Role
from server import agents, models
from server.app import create_app
from server.cli import uvicorn_config
from server.config import Settings
from server.db import Database
from server.identity import sign_identity
from server.kb.importer import import_directory
from server.kb.search import SearchIndex
from tests.ui_helpers import stop_process

REPO = Path(__file__).resolve().parent.parent


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    db: Database
    settings: Settings
    kid: str
    secret: str
    search: SearchIndex
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def sign(
        self,
        sub: str = "cust-001",
        *,
        ttl: timedelta = timedelta(hours=1),
        kid: str | None = None,
        secret: str | None = None,
        **claims: Any,
    ) -> str:
        """An identity token as the ISV's backend would sign it."""
        return sign_identity(secret or self.secret, kid or self.kid, sub=sub, ttl=ttl, **claims)

    def add_key(self, kid: str) -> str:
        secret = secrets.token_urlsafe(32)
        with self.db.session() as s:
            s.add(models.IdentityKey(kid=kid, secret=secret, active=True))
        return secret

    def create_agent(
        self, email: str, password: str = "correct horse battery", role: Role = Role.agent
    ) -> None:
        with self.db.session() as s:
            agents.create_agent(
                s, email=email, name=email.split("@")[0], password=password, role=role
            )

    def agent_token(self, email: str, password: str = "correct horse battery") -> str:
        r = requests.post(
            f"{self.url}/api/v1/agent/login",
            json={"email": email, "password": password},
            timeout=10,
        )
        r.raise_for_status()
        token: str = r.json()["access_token"]
        return token

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def start_live_server(data_dir: Path, *, seed_kb: bool = True, **settings: Any) -> LiveServer:
    data_dir.mkdir(parents=True, exist_ok=True)
    cfg = Settings(data_dir=data_dir, **settings)
    app = create_app(cfg)
    db: Database = app.state.db
    kid, secret = "test-key", secrets.token_urlsafe(32)
    with db.session() as s:
        s.add(models.IdentityKey(kid=kid, secret=secret, active=True))
    if seed_kb:
        report = import_directory(db, app.state.search, REPO / "resources" / "kb")
        assert not report.errors, report.errors
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test service did not start")
        time.sleep(0.01)
    return LiveServer(
        f"http://127.0.0.1:{port}", data_dir, db, cfg, kid, secret, app.state.search, server, thread
    )


@dataclass
class ServerProcess:
    """``python -m server --demo`` as a child process."""

    data_dir: Path
    proc: subprocess.Popen[bytes] | None = None
    port: int | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, port: int = 0, timeout: float = 30) -> ServerProcess:
        port_file = self.data_dir / "port"
        port_file.unlink(missing_ok=True)
        self.log_path = self.data_dir / "server.log"
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server",
                "--demo",
                "--port",
                str(port),
                "--data-dir",
                str(self.data_dir),
                "--port-file",
                str(port_file),
            ],
            stdout=log,
            stderr=log,
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited: {self.log_path.read_text()[-2000:]}")
            if port_file.exists():
                self.port = int(port_file.read_text())
                try:
                    if requests.get(f"{self.url}/healthz", timeout=1).ok:
                        return self
                except requests.RequestException:
                    pass
            time.sleep(0.05)
        raise RuntimeError("service did not become healthy")

    def sign(self, sub: str = "cust-001", ttl: str = "1h", **claims: str) -> str:
        extra = [f"--{k.replace('_', '-')}={v}" for k, v in claims.items()]
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "server",
                "sign-identity",
                "--data-dir",
                str(self.data_dir),
                "--kid",
                "demo",
                "--sub",
                sub,
                "--ttl",
                ttl,
                *extra,
            ],
            check=True,
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        return out.stdout.strip()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            stop_process(self.proc, 10)
