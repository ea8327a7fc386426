"""Per-user directories: override, XDG rules, created private on demand."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from client.core import paths


def test_env_override_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "custom" / "place"
    monkeypatch.setenv("HELPBRIDGE_DATA_DIR", str(target))
    assert paths.data_dir() == target
    assert target.is_dir()
    assert paths.log_dir() == target / "logs" and (target / "logs").is_dir()
    assert paths.cache_file() == target / "cache.sqlite3"


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG rules are for Linux/BSD")
def test_xdg_data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HELPBRIDGE_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    path = paths.data_dir()
    assert path == tmp_path / "xdg" / "helpbridge"
    assert stat.S_IMODE(path.stat().st_mode) == 0o700


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG rules are for Linux/BSD")
def test_relative_or_missing_xdg_falls_back_to_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HELPBRIDGE_DATA_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    expected = tmp_path / ".local" / "share" / "helpbridge"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/dir")
    assert paths.data_dir() == expected
    monkeypatch.delenv("XDG_DATA_HOME")
    assert paths.data_dir() == expected


def test_windows_and_macos_locations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HELPBRIDGE_DATA_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
    monkeypatch.setattr(sys, "platform", "win32")
    assert paths.data_dir() == tmp_path / "Local" / "HelpBridge"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert paths.data_dir() == tmp_path / "Library" / "Application Support" / "HelpBridge"
