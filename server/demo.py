"""Demo data: the knowledge base, a signing key and a demo agent.

Seeding is idempotent: running ``--demo`` again on the same data directory
keeps what is there and reuses the key and the agent's password.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from protocol.models import Role
from resources import KB
from server import agents, models
from server.db import Database
from server.kb.importer import ImportReport, import_directory
from server.kb.search import SearchIndex

DEMO_KID = "demo"
DEMO_AGENT_EMAIL = "agent@demo.helpbridge.invalid"
DEMO_AGENT_NAME = "Zhang Min (demo agent)"
DEMO_VENDOR_NAME = "Northwind Soft"
"""The demo's vendor: the company customers see beside the agent's name."""


@dataclass(frozen=True)
class DemoInfo:
    kid: str
    agent_email: str
    agent_password: str
    kb: ImportReport


def _credentials_file(data_dir: Path) -> Path:
    return data_dir / "demo-credentials.json"


def seed(db: Database, index: SearchIndex, data_dir: Path) -> DemoInfo:
    creds_path = _credentials_file(data_dir)
    creds: dict[str, str] = {}
    if creds_path.exists():
        try:
            creds = json.loads(creds_path.read_text())
        except (OSError, ValueError):
            creds = {}
    password = creds.get("agent_password") or secrets.token_urlsafe(12)
    with db.session() as s:
        if s.scalar(select(models.IdentityKey).where(models.IdentityKey.kid == DEMO_KID)) is None:
            s.add(models.IdentityKey(kid=DEMO_KID, secret=secrets.token_urlsafe(32), active=True))
        agent = s.scalar(select(models.Agent).where(models.Agent.email == DEMO_AGENT_EMAIL))
        if agent is None:
            agents.create_agent(
                s,
                email=DEMO_AGENT_EMAIL,
                name=DEMO_AGENT_NAME,
                password=password,
                role=Role.supervisor,
            )
        elif not agents.password_matches(agent, password):
            agent.password_hash = agents.hash_password(password)
    fd = os.open(creds_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"agent_email": DEMO_AGENT_EMAIL, "agent_password": password}, f)
    report = import_directory(db, index, KB)
    return DemoInfo(DEMO_KID, DEMO_AGENT_EMAIL, password, report)
