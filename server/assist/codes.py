"""One-time codes for code-initiated remote assist.

A code is :data:`~protocol.assist.CODE_DIGITS` decimal digits from
:mod:`secrets`. Only ``HMAC-SHA256(key, code)`` is stored, keyed with a
256-bit secret kept in the data directory (``assist-code.key``, mode 0600),
not in the database: a copy of the database alone cannot turn the stored
hashes back into codes (a plain SHA-256 of eight digits falls to a brute
force of 10^8 hashes in about a second).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from protocol.assist import CODE_DIGITS

KEY_FILE = "assist-code.key"


def load_key(data_dir: Path) -> bytes:
    """The data directory's code key, made on first use."""
    path = data_dir / KEY_FILE
    try:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    try:
        # Two processes starting at once: the first file wins, both use it.
        os.link(tmp, path)
    except FileExistsError:
        key = path.read_bytes()
    finally:
        tmp.unlink(missing_ok=True)
    return key


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(key: bytes, code: str) -> str:
    return hmac.new(key, code.encode("ascii"), hashlib.sha256).hexdigest()
