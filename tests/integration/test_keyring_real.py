"""TokenStore through a real Secret Service (gnome-keyring in a dbus session).

Run inside ``dbus-run-session`` with an unlocked gnome-keyring, e.g.::

    dbus-run-session -- sh -c 'export XDG_DATA_HOME=$(mktemp -d);
      eval $(echo -n pw | gnome-keyring-daemon --unlock --components=secrets);
      pytest -m keyring tests/integration/test_keyring_real.py'

Skipped, with the reason, when no Secret Service answers.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend

from client.core.tokens import TokenStore, service_name
from tests.keyring_memory import make_backend

pytestmark = pytest.mark.keyring

REPO = Path(__file__).resolve().parents[2]


def _secret_service() -> KeyringBackend:
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        pytest.skip("no D-Bus session bus (run the tests inside dbus-run-session)")
    try:
        from keyring.backends import SecretService
    except ImportError as exc:
        pytest.skip(f"keyring's SecretService backend is unavailable: {exc}")
    backend = make_backend(SecretService.Keyring)
    try:
        backend.priority  # noqa: B018  (raises when secretstorage/D-Bus are unusable)
        backend.get_password("HelpBridge probe", "probe")
    except Exception as exc:
        pytest.skip(f"no usable Secret Service ({type(exc).__name__}: {exc})")
    return backend


@pytest.fixture
def backend() -> KeyringBackend:
    return _secret_service()


@pytest.fixture
def server_url() -> Iterator[str]:
    # A unique service name per run: never touches a real user's entries.
    yield f"https://keyring-test-{secrets.token_hex(4)}.example.com"


def test_store_load_delete_through_secret_service(backend: KeyringBackend, server_url: str) -> None:
    store = TokenStore(server_url, backend=backend)
    assert store.persistent, store.problem
    assert store.problem is None
    token = "refresh-" + secrets.token_urlsafe(24)
    store.save("cust-real-1", token)
    try:
        # Really in the Secret Service, under the documented name.
        assert backend.get_password(service_name(server_url), "cust-real-1") == token
        # A fresh store (the next run of the portal) finds it.
        assert TokenStore(server_url, backend=backend).load("cust-real-1") == token
        store.remember_last("cust-real-1")
        assert TokenStore(server_url, backend=backend).last_customer() == "cust-real-1"
    finally:
        store.delete("cust-real-1")
        store.forget_last()
    assert backend.get_password(service_name(server_url), "cust-real-1") is None
    assert TokenStore(server_url, backend=backend).load("cust-real-1") is None
    assert store.last_customer() is None


def test_default_backend_is_found_in_another_process(
    backend: KeyringBackend, server_url: str
) -> None:
    """Without injection, keyring's own choice is the Secret Service and a
    token saved by one process is read by the next (as across portal runs)."""
    code = (
        "import sys\n"
        "from client.core.tokens import TokenStore\n"
        "store = TokenStore(sys.argv[1])\n"
        "assert store.persistent, store.problem\n"
        "if sys.argv[2] == 'save':\n"
        "    store.save('cust-real-2', 'tok-' + sys.argv[1][-20:])\n"
        "elif sys.argv[2] == 'load':\n"
        "    print(store.load('cust-real-2'))\n"
        "else:\n"
        "    store.delete('cust-real-2')\n"
    )

    def child(action: str) -> str:
        env = {k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"}
        result = subprocess.run(
            [sys.executable, "-c", code, server_url, action],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    child("save")
    try:
        assert child("load") == "tok-" + server_url[-20:]
    finally:
        child("delete")
    assert child("load") == "None"
