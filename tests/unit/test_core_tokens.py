"""TokenStore: keyring-backed when possible, memory-only (and saying why) otherwise."""

from __future__ import annotations

import keyring.backends.chainer
import keyring.backends.fail
import keyring.backends.null
import pytest

from client.core.tokens import TokenStore, service_name
from tests.keyring_memory import LockedKeyring, MemoryKeyring, make_backend

URL = "https://help.example.com"


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
