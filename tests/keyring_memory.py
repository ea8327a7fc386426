"""Keyring backends for tests: a working in-memory one and a broken one.

``MemoryKeyring`` behaves like a real backend (``PasswordDeleteError`` for a
missing entry). Child processes can use it with
``PYTHON_KEYRING_BACKEND=tests.keyring_memory.MemoryKeyring`` (repository
root on ``PYTHONPATH``); it then lives as long as that process.
"""

from __future__ import annotations

from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked, PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self) -> None:
        # KeyringBackend.__init__ only reads KEYRING_PROPERTY_* variables.
        self.entries: dict[tuple[str, str], str] = {}
        self.fail_writes = False

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.fail_writes:
            raise KeyringLocked("collection is locked")
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError("not found")


class LockedKeyring(KeyringBackend):
    """A backend whose every call fails, like a locked collection with no prompt."""

    priority = 1

    def __init__(self) -> None:
        pass  # nothing to set up; also keeps the untyped base __init__ out

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("collection is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("collection is locked")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("collection is locked")


def make_backend(cls: type[KeyringBackend]) -> KeyringBackend:
    """Instantiate one of keyring's own (untyped) backends."""
    backend: KeyringBackend = cls()
    return backend
