"""Refresh tokens in the operating system's keyring.

Only the refresh token is kept between runs (the access token lives in
memory). Secrets go through the ``keyring`` library and nothing else: the
Secret Service on Linux, the Credential Manager on Windows, the Keychain on
macOS. Each server gets its own service name, ``"HelpBridge " + server_url``,
and each customer (their external id) is a username under it.

When no usable keyring exists (a headless Linux box, a locked or broken
backend) the store says so once through :attr:`TokenStore.problem`, sets
:attr:`TokenStore.persistent` to ``False`` and keeps tokens in memory only:
the portal still works, the customer just signs in again next time. It never
falls back to writing secrets to a file.

On Linux the only keyrings are reached over D-Bus. Without a session bus
(a service account, a bare X server, a container) keyring's discovery cannot
succeed, yet it would import every backend on the way, and the Secret
Service one loads ``cryptography`` (about 11 MB resident for the rest of the
run). So when no bus is there and nothing chose a backend explicitly
(``PYTHON_KEYRING_BACKEND``, keyring's ``keyringrc.cfg``, a third-party
backend plugin, ``keyring.set_keyring`` in this process), the store says so
without running the discovery.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

__all__ = ["SERVICE_PREFIX", "TokenStore", "service_name"]

log = logging.getLogger(__name__)

SERVICE_PREFIX = "HelpBridge "
_LAST_SUFFIX = " (last customer)"
_LAST_USER = "last"
# A read of an entry nobody writes: tells whether the backend answers at all.
_PROBE_USER = "helpbridge-probe"

_NO_KEYRING = (
    "No system keyring is available, so you will have to sign in again the next "
    "time HelpBridge starts."
)


def service_name(server_url: str) -> str:
    """The keyring service name for one server (trailing slashes ignored)."""
    return SERVICE_PREFIX + server_url.strip().rstrip("/")


def _unusable_reason(backend: KeyringBackend) -> str | None:
    """Why a backend cannot keep secrets, or None if it looks usable."""
    import keyring.backends.chainer
    import keyring.backends.fail
    import keyring.backends.null

    if isinstance(backend, keyring.backends.fail.Keyring | keyring.backends.null.Keyring):
        return "no keyring backend is installed or running"
    if isinstance(backend, keyring.backends.chainer.ChainerBackend) and not backend.backends:
        # An empty chainer silently drops every write.
        return "no keyring backend is installed or running"
    return None


def _no_session_bus_reason() -> str | None:
    """Why keyring's discovery is bound to find nothing here, or None to run it.

    Only for Linux and other Unix desktops (their keyrings all speak D-Bus);
    any explicit choice of backend is left to keyring.
    """
    if sys.platform in ("win32", "darwin"):
        return None
    if "keyring" in sys.modules:
        # Something in this process uses keyring already and may have chosen
        # a backend (keyring.set_keyring): keyring's own choice stands.
        return None
    if os.environ.get("DBUS_SESSION_BUS_ADDRESS", "").strip():
        return None
    runtime = os.environ.get("XDG_RUNTIME_DIR", "").strip()
    if runtime and os.path.exists(os.path.join(runtime, "bus")):
        return None  # libdbus (kwallet, libsecret) finds the user bus there
    if os.environ.get("PYTHON_KEYRING_BACKEND", "").strip():
        return None
    # keyring's config file (keyring.util.platform_.config_root() off Windows
    # and macOS), looked up without importing keyring: nothing of it is needed here.
    config_home = os.environ.get("XDG_CONFIG_HOME", "").strip() or os.path.expanduser("~/.config")
    if (Path(config_home) / "python_keyring" / "keyringrc.cfg").exists():
        return None
    plugins = metadata.entry_points(group="keyring.backends")
    if any(not ep.value.startswith("keyring.backends.") for ep in plugins):
        return None  # a third-party backend may not need D-Bus
    return "there is no D-Bus session bus to reach a Secret Service through"


class TokenStore:
    """Per-server refresh tokens, keyed by the customer's external id.

    Thread-safe. ``backend`` injects a keyring backend (tests); by default the
    one ``keyring`` selects for this system is used.
    """

    def __init__(self, server_url: str, *, backend: KeyringBackend | None = None) -> None:
        self.server_url = server_url.strip().rstrip("/")
        self._service = service_name(self.server_url)
        self._last_service = self._service + _LAST_SUFFIX
        self._lock = threading.Lock()
        self._memory: dict[tuple[str, str], str] = {}
        self.persistent = True
        self.problem: str | None = None
        self._backend: KeyringBackend | None = None
        if backend is None:
            unreachable = _no_session_bus_reason()
            if unreachable is not None:
                self._fall_back(unreachable)
                return
        try:
            if backend is None:
                import keyring

                backend = keyring.get_keyring()
            chosen = backend
        except Exception as exc:  # keyring's own discovery failed: no keyring then.
            self._fall_back(f"the keyring could not be loaded ({type(exc).__name__})")
            return
        reason = _unusable_reason(chosen)
        if reason is not None:
            self._fall_back(reason)
            return
        self._backend = chosen
        try:
            chosen.get_password(self._service, _PROBE_USER)
        except Exception as exc:  # NoKeyringError, KeyringLocked, D-Bus errors...
            self._fall_back(self._describe(exc))

    def __repr__(self) -> str:
        return f"TokenStore(server_url={self.server_url!r}, persistent={self.persistent})"

    # --- public API ---------------------------------------------------------

    def save(self, external_id: str, refresh_token: str) -> None:
        """Remember a customer's refresh token (replacing any older one)."""
        self._set(self._service, self._user(external_id), refresh_token)

    def load(self, external_id: str) -> str | None:
        """The stored refresh token of a customer, or None."""
        return self._get(self._service, self._user(external_id))

    def delete(self, external_id: str) -> None:
        """Forget a customer's refresh token (no error if there is none)."""
        self._delete(self._service, self._user(external_id))

    def remember_last(self, external_id: str) -> None:
        """Record who signed in last on this server (not a secret)."""
        self._set(self._last_service, _LAST_USER, self._user(external_id))

    def last_customer(self) -> str | None:
        """The external id recorded by :meth:`remember_last`, or None."""
        return self._get(self._last_service, _LAST_USER)

    def forget_last(self) -> None:
        """Clear the last-customer record (sign-out)."""
        self._delete(self._last_service, _LAST_USER)

    # --- internals ----------------------------------------------------------

    @staticmethod
    def _user(external_id: str) -> str:
        if not external_id or not external_id.strip():
            raise ValueError("a customer id is required")
        return external_id

    @staticmethod
    def _describe(exc: BaseException) -> str:
        import keyring.errors

        if isinstance(exc, keyring.errors.KeyringLocked):
            return "the system keyring is locked"
        if isinstance(exc, keyring.errors.InitError):
            return "the system keyring could not be opened or unlocked"
        if isinstance(exc, keyring.errors.NoKeyringError):
            return "no keyring backend is installed or running"
        return f"the system keyring does not answer ({type(exc).__name__})"

    def _fall_back(self, reason: str) -> None:
        """Switch to memory-only storage; remember why, for the UI to show once."""
        if self.persistent:
            log.warning("token store falls back to memory: %s", reason)
        self.persistent = False
        self._backend = None
        self.problem = f"{_NO_KEYRING} (Reason: {reason}.)"

    def _set(self, service: str, user: str, value: str) -> None:
        with self._lock:
            self._memory[(service, user)] = value
            if self._backend is None:
                return
            try:
                self._backend.set_password(service, user, value)
            except Exception as exc:
                # The value is still in memory, so this run keeps working.
                self._fall_back(self._describe(exc))

    def _get(self, service: str, user: str) -> str | None:
        with self._lock:
            if self._backend is not None:
                try:
                    value = self._backend.get_password(service, user)
                except Exception as exc:
                    self._fall_back(self._describe(exc))
                else:
                    if value is not None:
                        return value
                    # Deleted behind our back (e.g. in the keyring manager).
                    self._memory.pop((service, user), None)
                    return None
            return self._memory.get((service, user))

    def _delete(self, service: str, user: str) -> None:
        with self._lock:
            self._memory.pop((service, user), None)
            if self._backend is None:
                return
            try:
                self._backend.delete_password(service, user)
            except Exception as exc:
                from keyring.errors import PasswordDeleteError

                if not isinstance(exc, PasswordDeleteError):
                    self._fall_back(self._describe(exc))
                # else: nothing stored, which is the goal anyway.
