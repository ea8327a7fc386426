"""Files the customer attaches to a ticket or a reply, checked before
anything is uploaded.

A :class:`PendingFile` is either a file on disk (its path) or bytes held in
memory (a pasted image, a screenshot, the diagnostic bundle). :func:`inspect`
looks at files on disk and is meant for a worker thread (a network drive may
take its time to answer); :func:`admit` then applies the per-ticket limits
against what is already attached, so a refused file is refused at once, with
a sentence saying why, and never reaches the outbox or the service.
"""

from __future__ import annotations

import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QCoreApplication

from client.ui.tickets.text import format_size

# The service's defaults (protocol.tickets), repeated here so that this
# module does not import pydantic on the GUI thread; a unit test keeps them equal.
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_TOTAL_BYTES = 50 * 1024 * 1024
MAX_FILES = 50


@dataclass(frozen=True)
class PendingFile:
    name: str
    size: int
    path: Path | None = None
    data: bytes | None = None
    kind: str = "file"
    """``file``, ``image`` (pasted or captured) or ``diagnostics``."""

    def source(self) -> Path | tuple[str, bytes]:
        """What the outbox takes: the path, or ``(name, bytes)``."""
        if self.data is not None:
            return (self.name, self.data)
        assert self.path is not None
        return self.path


@dataclass(frozen=True)
class Refused:
    name: str
    reason: str
    """``too_large``, ``total``, ``empty``, ``missing``, ``unreadable``,
    ``not_file`` or ``too_many``."""
    size: int = 0

    def message(self) -> str:
        return refusal_message(self)


def refusal_message(refused: Refused) -> str:
    name = refused.name
    if refused.reason == "too_large":
        return QCoreApplication.translate(
            "Tickets", "{name} is {size}; a file may be at most {limit}."
        ).format(name=name, size=format_size(refused.size), limit=format_size(MAX_FILE_BYTES))
    if refused.reason == "total":
        return QCoreApplication.translate(
            "Tickets", "{name} was not added: all files together may be at most {limit}."
        ).format(name=name, limit=format_size(MAX_TOTAL_BYTES))
    if refused.reason == "empty":
        return QCoreApplication.translate("Tickets", "{name} is empty.").format(name=name)
    if refused.reason == "missing":
        return QCoreApplication.translate("Tickets", "{name} no longer exists.").format(name=name)
    if refused.reason == "not_file":
        return QCoreApplication.translate("Tickets", "{name} is not a file.").format(name=name)
    if refused.reason == "too_many":
        return QCoreApplication.translate(
            "Tickets", "{name} was not added: at most {n} files can be attached."
        ).format(name=name, n=MAX_FILES)
    return QCoreApplication.translate(
        "Tickets", "{name} cannot be read. Check that you may open it."
    ).format(name=name)


def inspect(paths: Iterable[Path]) -> list[PendingFile | Refused]:
    """Stat and test-read each file (worker thread). Sizes are checked here;
    the totals are :func:`admit`'s job."""
    found: list[PendingFile | Refused] = []
    for raw in paths:
        path = Path(raw)
        name = path.name or str(path)
        try:
            info = path.stat()
        except FileNotFoundError:
            found.append(Refused(name, "missing"))
            continue
        except OSError:
            found.append(Refused(name, "unreadable"))
            continue
        if not stat.S_ISREG(info.st_mode):
            found.append(Refused(name, "not_file"))
            continue
        if info.st_size == 0:
            found.append(Refused(name, "empty"))
            continue
        if info.st_size > MAX_FILE_BYTES:
            found.append(Refused(name, "too_large", info.st_size))
            continue
        try:
            # Readable now? (Permissions, a locked file on Windows, a dead share.)
            with path.open("rb") as fh:
                fh.read(1)
        except OSError:
            found.append(Refused(name, "unreadable"))
            continue
        found.append(PendingFile(name, info.st_size, path=path.absolute()))
    return found


def check_bytes(name: str, data: bytes, kind: str) -> PendingFile | Refused:
    if not data:
        return Refused(name, "empty")
    if len(data) > MAX_FILE_BYTES:
        return Refused(name, "too_large", len(data))
    return PendingFile(name, len(data), data=data, kind=kind)


def admit(
    current: Sequence[PendingFile], candidates: Iterable[PendingFile | Refused]
) -> tuple[list[PendingFile], list[Refused]]:
    """Which candidates fit next to ``current`` (count and total size); the
    rest are refused. A file already attached (same path) is skipped."""
    total = sum(f.size for f in current)
    count = len(current)
    known = {f.path for f in current if f.path is not None}
    added: list[PendingFile] = []
    refused: list[Refused] = []
    for item in candidates:
        if isinstance(item, Refused):
            refused.append(item)
            continue
        if item.path is not None and item.path in known:
            continue
        if count + 1 > MAX_FILES:
            refused.append(Refused(item.name, "too_many", item.size))
            continue
        if total + item.size > MAX_TOTAL_BYTES:
            refused.append(Refused(item.name, "total", item.size))
            continue
        total += item.size
        count += 1
        if item.path is not None:
            known.add(item.path)
        added.append(item)
    return added, refused


def unique_name(wanted: str, taken: Iterable[str]) -> str:
    """``screenshot.png``, then ``screenshot-2.png``... among ``taken``."""
    names = set(taken)
    if wanted not in names:
        return wanted
    stem, dot, suffix = wanted.rpartition(".")
    if not dot:
        stem, suffix = wanted, ""
    n = 2
    while True:
        candidate = f"{stem}-{n}.{suffix}" if suffix else f"{stem}-{n}"
        if candidate not in names:
            return candidate
        n += 1
