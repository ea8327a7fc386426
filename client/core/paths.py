"""Where the portal keeps its per-user files.

``HELPBRIDGE_DATA_DIR`` overrides everything (tests, portable installs, the
demo). Otherwise the platform's usual per-user data location is used:

* Linux and other POSIX: ``$XDG_DATA_HOME/helpbridge`` (``~/.local/share/helpbridge``);
* Windows: ``%LOCALAPPDATA%\\HelpBridge``;
* macOS: ``~/Library/Application Support/HelpBridge``.

Directories are created on demand, private to the user on POSIX because the
offline cache holds the customer's articles and search history.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV_DATA_DIR = "HELPBRIDGE_DATA_DIR"


def _platform_data_dir() -> Path:
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "HelpBridge"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "HelpBridge"
    xdg = os.environ.get("XDG_DATA_HOME", "")
    # The XDG spec says a relative value is invalid and must be ignored.
    base_path = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base_path / "helpbridge"


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def data_dir() -> Path:
    """The per-user data directory (created if missing)."""
    override = os.environ.get(ENV_DATA_DIR, "").strip()
    path = Path(override).expanduser() if override else _platform_data_dir()
    return _ensure(path)


def log_dir() -> Path:
    """Where the portal writes its log files (created if missing)."""
    return _ensure(data_dir() / "logs")


def cache_file() -> Path:
    """The offline cache database (its directory is created if missing)."""
    return data_dir() / "cache.sqlite3"
