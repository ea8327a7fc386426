"""The portal's log file, and scrubbing secrets out of text that leaves memory.

:func:`redact` is the one place that knows what a secret looks like in a log
line or a settings dump; the log file's formatter and the diagnostic bundle
both use it, so a token that slipped into a message (an exception text, a
URL with ``?access_token=``) is blanked before it reaches the disk or a zip.

What is blanked:

* the exact strings passed as ``secrets`` (the current session tokens);
* anything shaped like a JWT (``eyJ...``.``...``.``...``);
* ``Bearer <token>`` and ``Basic <credentials>``;
* the value of any key whose name contains ``token``, ``password``,
  ``secret``, ``api_key``, ``private_key``, ``license_key``, ``credential``,
  ``authorization``, ``cookie`` or ``session_id`` (:data:`SECRET_NAME`), in
  ``key=value``, ``key: value``, JSON (``"key": "value"``) and Python-repr forms.

It errs on the side of blanking too much: a diagnostic bundle is read by a
person, who can always ask for more.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

__all__ = [
    "LOG_FILE",
    "REDACTED",
    "SECRET_NAME",
    "RedactingFormatter",
    "redact",
    "setup_file_logging",
]

LOG_FILE = "portal.log"
REDACTED = "[redacted]"

_MIN_SECRET = 8
"""Shorter explicit secrets are ignored: blanking every "abc" would wreck the text."""

_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_SCHEME = re.compile(r"\b(Bearer|Basic)(\s+)[^\s\"',;]+", re.IGNORECASE)
SECRET_NAME = re.compile(
    r"token|passw(?:or)?d|pwd|secret|api[_-]?key|private[_-]?key|licen[cs]e[_-]?key"
    r"|credential|authorization|cookie|session[_-]?id",
    re.IGNORECASE,
)
"""Names (of settings, JSON keys, query parameters) whose values are secret."""
_SECRET_KEY = rf"[\w.-]*(?:{SECRET_NAME.pattern})[\w.-]*"
_KEY_VALUE = re.compile(
    rf"""
    (?P<key>"{_SECRET_KEY}"|'{_SECRET_KEY}'|\b{_SECRET_KEY})
    (?P<sep>\s*[:=]\s*)
    (?!(?:Bearer|Basic)\s)  # already handled, keep the scheme readable
    (?!\[redacted\])  # redacting twice changes nothing
    (?P<value>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|[^\s"',;&}}\])]+)
    """,
    re.IGNORECASE | re.VERBOSE,
)


def _blank_value(match: re.Match[str]) -> str:
    value = match["value"]
    blank = value[0] + REDACTED + value[0] if value.startswith(('"', "'")) else REDACTED
    return f"{match['key']}{match['sep']}{blank}"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret-looking part replaced by ``[redacted]``."""
    wanted = {s for s in secrets if s and len(s) >= _MIN_SECRET}
    # Longest first, so a token containing another is blanked whole.
    for secret in sorted(wanted, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
        quoted = quote(secret, safe="")
        if quoted != secret:
            text = text.replace(quoted, REDACTED)
    text = _JWT.sub(REDACTED, text)
    text = _SCHEME.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)
    return _KEY_VALUE.sub(_blank_value, text)


class RedactingFormatter(logging.Formatter):
    """A formatter whose every line, tracebacks included, goes through :func:`redact`."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup_file_logging(
    directory: Path | None = None,
    *,
    filename: str = LOG_FILE,
    level: int = logging.INFO,
    max_bytes: int = 1_000_000,
    backups: int = 3,
) -> Path | None:
    """Log to a rotating file in ``directory`` (default: ``paths.log_dir()``).

    Returns the file's path, or None when it cannot be written (said once on
    stderr: the portal works without a log file). Calling it again for the
    same file adds no second handler.
    """
    root = logging.getLogger()
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)
    try:
        if directory is None:
            from client.core.paths import log_dir

            directory = log_dir()
        path = (Path(directory) / filename).resolve()
        for handler in root.handlers:
            if (
                isinstance(handler, logging.handlers.RotatingFileHandler)
                and Path(handler.baseFilename) == path
            ):
                return path
        path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
    except OSError as exc:
        print(f"helpbridge: cannot write the log file: {exc}", file=sys.stderr)
        return None
    file_handler.setLevel(level)
    file_handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(file_handler)
    return path
