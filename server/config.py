"""Service settings: command-line flags over environment over defaults."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from protocol.assist import EXPIRE_AFTER_S, RECONNECT_GRACE_S
from server.db import sqlite_url

DEFAULT_VENDOR_NAME = "HelpBridge"


def default_data_dir() -> Path:
    env = os.environ.get("HELPBRIDGE_SERVER_DATA_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "helpbridge-server"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8765
    demo: bool = False
    access_ttl: timedelta = timedelta(hours=1)
    refresh_ttl: timedelta = timedelta(days=30)
    agent_refresh_ttl: timedelta = timedelta(hours=12)
    max_identity_ttl: timedelta = timedelta(hours=24)
    clock_skew: timedelta = timedelta(seconds=60)
    max_file_bytes: int = 20 * 1024 * 1024
    max_ticket_bytes: int = 50 * 1024 * 1024
    company_tickets_visible: bool = False
    """Customers also see the tickets of others from their company."""
    kb_public: bool = True
    """Published articles are readable without a session (like a public help centre)."""
    vendor_name: str = field(
        default_factory=lambda: os.environ.get("HELPBRIDGE_VENDOR_NAME", DEFAULT_VENDOR_NAME)
    )
    """The vendor's name, shown to customers as the remote-assist agent's
    company (``HELPBRIDGE_VENDOR_NAME``; the demo's vendor when left unset)."""
    assist_max_kbps: int = 20_000
    """Remote assist: bandwidth cap per session, both directions together (kbit/s)."""
    assist_idle_timeout_s: float = 1800.0
    """Remote assist: a live session with no stream bytes either way this long ends."""
    assist_reconnect_grace_s: float = RECONNECT_GRACE_S
    """Remote assist: a stream side gone this long ends the session (network)."""
    assist_expire_after_s: float = EXPIRE_AFTER_S
    """Remote assist: an unanswered request expires after this."""

    @property
    def company(self) -> str:
        """The vendor's name as customers see it."""
        if self.demo and self.vendor_name == DEFAULT_VENDOR_NAME:
            from server.demo import DEMO_VENDOR_NAME

            return DEMO_VENDOR_NAME
        return self.vendor_name

    @property
    def db_url(self) -> str:
        return self.database_url or sqlite_url(self.data_dir)

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False
