"""TokenStore: keyring-backed when possible, memory-only (and saying why) otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import keyring.backends.chainer
import keyring.backends.fail
import keyring.backends.null
import pytest

from client.core.tokens import TokenStore, service_name
from tests.keyring_memory import LockedKeyring, MemoryKeyring, make_backend

URL = "https://help.example.com"
REPO = Path(__file__).resolve().parents[2]


def test_round_trip_goes_through_the_backend() -> None:
    backend = MemoryKeyring()
    store = TokenStore(URL + "/", backend=backend)
    assert store.persistent and store.problem is None
    store.save("cust-1", "refresh-abc")
    assert backend.entries[("HelpBridge " + URL, "cust-1")] == "refresh-abc"
    # A second store (next run of the portal) sees the same token.
    again = TokenStore(URL, backend=backend)
    assert again.load("cust-1") == "refresh-abc"
    assert again.load("cust-2") is None
    again.save("cust-1", "refresh-new")
    assert store.load("cust-1") == "refresh-new"
    again.delete("cust-1")
    assert store.load("cust-1") is None
    again.delete("cust-1")  # deleting twice is not an error


def test_servers_are_kept_apart() -> None:
    backend = MemoryKeyring()
    a = TokenStore("https://a.example.com", backend=backend)
    b = TokenStore("https://b.example.com", backend=backend)
    a.save("cust-1", "token-a")
    assert b.load("cust-1") is None
    assert service_name("https://a.example.com/") == "HelpBridge https://a.example.com"


def test_last_customer() -> None:
    backend = MemoryKeyring()
    store = TokenStore(URL, backend=backend)
    assert store.last_customer() is None
    store.remember_last("cust-9")
    assert TokenStore(URL, backend=backend).last_customer() == "cust-9"
    store.forget_last()
    assert store.last_customer() is None
    # The record lives in its own service, never mixed up with a customer id.
    store.remember_last("cust-9")
    assert store.load("last") is None


@pytest.mark.parametrize(
    "backend",
    [make_backend(keyring.backends.fail.Keyring), make_backend(keyring.backends.null.Keyring)],
    ids=["fail", "null"],
)
def test_unusable_backend_falls_back_to_memory(backend: keyring.backend.KeyringBackend) -> None:
    store = TokenStore(URL, backend=backend)
    assert not store.persistent
    assert store.problem and "sign in again" in store.problem
    store.save("cust-1", "refresh-abc")
    assert store.load("cust-1") == "refresh-abc"
    store.remember_last("cust-1")
    assert store.last_customer() == "cust-1"
    store.delete("cust-1")
    assert store.load("cust-1") is None
    # Memory only: a new store (next run) has nothing.
    assert TokenStore(URL, backend=backend).load("cust-1") is None


def test_empty_chainer_is_unusable(monkeypatch: pytest.MonkeyPatch) -> None:
    # An empty chainer silently drops writes; it must not pass for a keyring.
    monkeypatch.setattr(keyring.backends.chainer.ChainerBackend, "backends", [])
    store = TokenStore(URL, backend=make_backend(keyring.backends.chainer.ChainerBackend))
    assert not store.persistent and store.problem


def test_default_backend_without_desktop_session_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What keyring picks on a headless box with no Secret Service.
    monkeypatch.setattr(keyring, "get_keyring", lambda: make_backend(keyring.backends.fail.Keyring))
    store = TokenStore(URL)
    assert not store.persistent and store.problem


def test_locked_backend_detected_by_probe() -> None:
    store = TokenStore(URL, backend=LockedKeyring())
    assert not store.persistent
    assert store.problem and "locked" in store.problem
    store.save("cust-1", "x")
    assert store.load("cust-1") == "x"


def test_write_failure_later_switches_to_memory_without_losing_the_token() -> None:
    backend = MemoryKeyring()
    store = TokenStore(URL, backend=backend)
    backend.fail_writes = True
    store.save("cust-1", "refresh-abc")
    assert not store.persistent and store.problem
    assert store.load("cust-1") == "refresh-abc"


def test_secrets_never_in_repr() -> None:
    store = TokenStore(URL, backend=MemoryKeyring())
    store.save("cust-1", "super-secret-refresh")
    assert "super-secret-refresh" not in repr(store)


def test_empty_customer_id_refused() -> None:
    store = TokenStore(URL, backend=MemoryKeyring())
    with pytest.raises(ValueError, match="customer id"):
        store.save("  ", "x")


# --- keyring discovery without a D-Bus session bus ---------------------------

_CHILD = """
import json, sys
from client.core.tokens import TokenStore
store = TokenStore("https://help.example.com")
store.save("cust-1", "refresh-abc")
again = TokenStore("https://help.example.com")
print(json.dumps({
    "persistent": store.persistent,
    "problem": store.problem,
    "kept": again.load("cust-1"),
    "loaded": sorted(m for m in ("cryptography", "secretstorage", "jeepney", "keyring") if m in sys.modules),
}))
"""


def _child_store(tmp_path: Path, **extra: str) -> dict[str, Any]:
    """A TokenStore made by keyring's own choice in a fresh process, on a
    Linux box without a session bus (as a service account or bare X server)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DBUS_SESSION_BUS_ADDRESS", "PYTHON_KEYRING_BACKEND")
    }
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env.update(
        XDG_RUNTIME_DIR=str(runtime),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        PYTHONPATH=str(REPO),
        **extra,
    )
    result = subprocess.run(
        [sys.executable, "-c", _CHILD],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="D-Bus keyrings are Linux's")
def test_no_session_bus_means_memory_without_loading_the_secret_service(tmp_path: Path) -> None:
    got = _child_store(tmp_path)
    assert got["persistent"] is False
    assert "D-Bus session bus" in got["problem"] and "sign in again" in got["problem"]
    assert got["kept"] is None  # memory only: a new store has nothing
    # keyring's discovery was not run (not even keyring imported): its Secret
    # Service backend would have imported secretstorage and cryptography
    # (megabytes for nothing).
    assert got["loaded"] == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="D-Bus keyrings are Linux's")
def test_no_session_bus_still_honours_an_explicit_backend(tmp_path: Path) -> None:
    got = _child_store(tmp_path, PYTHON_KEYRING_BACKEND="tests.keyring_memory.MemoryKeyring")
    assert got["persistent"] is True and got["problem"] is None
    assert got["kept"] == "refresh-abc"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="D-Bus keyrings are Linux's")
def test_no_session_bus_still_honours_keyrings_config_file(tmp_path: Path) -> None:
    config = tmp_path / "config" / "python_keyring" / "keyringrc.cfg"
    config.parent.mkdir(parents=True)
    config.write_text("[backend]\ndefault-keyring = tests.keyring_memory.MemoryKeyring\n")
    got = _child_store(tmp_path)
    assert got["persistent"] is True and got["problem"] is None
    assert got["kept"] == "refresh-abc"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="D-Bus keyrings are Linux's")
def test_user_bus_socket_without_the_variable_runs_keyrings_discovery(tmp_path: Path) -> None:
    # libdbus-based backends find the bus at $XDG_RUNTIME_DIR/bus: discovery runs
    # (and, nothing answering on this fake socket, finds no usable keyring).
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    (runtime / "bus").touch()
    got = _child_store(tmp_path)
    assert got["persistent"] is False
    assert "D-Bus session bus" not in got["problem"]


def test_no_session_bus_still_honours_set_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    # A host (or a test) that chose a backend with keyring's own API keeps it.
    previous = keyring.get_keyring()  # (before the bus goes: keyring's discovery needs it)
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        store = TokenStore(URL)
        assert store.persistent and store.problem is None
        store.save("cust-1", "refresh-abc")
        assert backend.entries[("HelpBridge " + URL, "cust-1")] == "refresh-abc"
    finally:
        keyring.set_keyring(previous)
