"""What the customer is writing, kept on disk so nothing typed is lost.

One JSON file per customer in ``<data dir>/drafts/``: the new-ticket form
(subject, description, choices, attached files) and unsent reply texts by
ticket. Images that exist only in memory (pasted, captured) are written
next to it as soon as they are attached, so the draft refers to files only.

Writes are atomic (temporary file, fsync, rename): a crash leaves the
previous draft or the new one, never half of one. No Qt here; the UI calls
:meth:`DraftStore.save` on its serial worker and once more, directly, when
the portal quits.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_FORMAT = 1
_SAFE = re.compile(r"[^\w.-]+")


@dataclass
class DraftFile:
    name: str
    size: int
    path: str
    kind: str = "file"


@dataclass
class TicketDraft:
    subject: str = ""
    body: str = ""
    category: str = ""
    urgency: str = "medium"
    impact: str = "medium"
    context: dict[str, str] = field(default_factory=dict)
    diagnostics: bool = False
    files: list[DraftFile] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.subject.strip() or self.body.strip() or self.files)


def _draft_from(data: Any) -> TicketDraft:
    if not isinstance(data, dict):
        return TicketDraft()
    files = []
    for f in data.get("files") or []:
        if (
            isinstance(f, dict)
            and isinstance(f.get("path"), str)
            and isinstance(f.get("name"), str)
        ):
            files.append(
                DraftFile(
                    str(f["name"]), int(f.get("size") or 0), f["path"], str(f.get("kind") or "file")
                )
            )
    context = data.get("context")
    return TicketDraft(
        subject=str(data.get("subject") or ""),
        body=str(data.get("body") or ""),
        category=str(data.get("category") or ""),
        urgency=str(data.get("urgency") or "medium"),
        impact=str(data.get("impact") or "medium"),
        context={str(k): str(v) for k, v in context.items()} if isinstance(context, dict) else {},
        diagnostics=bool(data.get("diagnostics")),
        files=files,
    )


class DraftStore:
    """The drafts of one customer (``account``: their external id)."""

    def __init__(self, folder: Path, account: str) -> None:
        digest = hashlib.sha256(account.encode("utf-8")).hexdigest()[:16]
        self.folder = Path(folder)
        self.path = self.folder / f"{digest}.json"
        self.files_dir = self.folder / f"{digest}-files"
        self._lock = threading.Lock()
        # Saves are numbered by the caller: one that arrives after a newer one
        # (a worker late, then the direct save at exit) must not undo it.
        self._ticket_seq = 0
        self._reply_seq: dict[int, int] = {}

    def __repr__(self) -> str:
        return f"DraftStore({str(self.path)!r})"

    # -- reading -------------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            log.warning("cannot read the draft %s: %s", self.path.name, exc)
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            # Keep the damaged file for support; start a new draft.
            aside = self.path.with_suffix(".json.damaged")
            with contextlib.suppress(OSError):
                os.replace(self.path, aside)
            log.warning("the draft %s was damaged; moved to %s", self.path.name, aside.name)
            return {}
        return data if isinstance(data, dict) else {}

    def load_ticket(self) -> TicketDraft | None:
        """The new-ticket draft, or None when there is none worth restoring.
        Attached files that have disappeared meanwhile are left out."""
        with self._lock:
            data = self._read().get("ticket")
        if data is None:
            return None
        draft = _draft_from(data)
        draft.files = [f for f in draft.files if Path(f.path).is_file()]
        return None if draft.is_empty() else draft

    def load_reply(self, ticket_id: int) -> str:
        with self._lock:
            replies = self._read().get("replies")
        if not isinstance(replies, dict):
            return ""
        return str(replies.get(str(ticket_id)) or "")

    # -- writing -------------------------------------------------------------

    def save_ticket(self, draft: TicketDraft | None, seq: int | None = None) -> bool:
        """Keep ``draft`` (None or empty: forget it and its kept images).
        With ``seq``, a save older than one already written is ignored (False)."""
        with self._lock:
            if seq is not None:
                if seq <= self._ticket_seq:
                    return False
                self._ticket_seq = seq
            data = self._read()
            if draft is None or draft.is_empty():
                data.pop("ticket", None)
            else:
                data["ticket"] = asdict(draft)
            self._write(data)
            kept = [Path(f.path) for f in draft.files] if draft is not None else []
            self._prune({p.parent.name for p in kept if self.is_kept(p)})
            return True

    def save_reply(self, ticket_id: int, text: str, seq: int | None = None) -> bool:
        """Keep an unsent reply's text (empty: forget it); ``seq`` as for tickets."""
        with self._lock:
            if seq is not None:
                if seq <= self._reply_seq.get(ticket_id, 0):
                    return False
                self._reply_seq[ticket_id] = seq
            data = self._read()
            replies = data.get("replies")
            if not isinstance(replies, dict):
                replies = {}
            if text.strip():
                replies[str(ticket_id)] = text
            else:
                replies.pop(str(ticket_id), None)
            data["replies"] = replies
            self._write(data)
            return True

    def keep_bytes(self, name: str, data: bytes) -> Path:
        """Write an in-memory file (a pasted image) next to the draft; its
        path. The file keeps its name (in a folder of its own), since the
        name is what the ticket will show."""
        with self._lock:
            digest = hashlib.sha256(data + name.encode("utf-8")).hexdigest()[:16]
            folder = self.files_dir / digest
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            safe = _SAFE.sub("_", name).strip("._") or "file"
            path = folder / safe
            if not path.is_file():
                self._atomic(path, data)
            return path

    def is_kept(self, path: Path) -> bool:
        """Whether ``path`` is one of this draft's own copies."""
        return Path(path).parent.parent == self.files_dir

    def _prune(self, keep: set[str]) -> None:
        """Delete kept copies the draft no longer refers to (``keep``: folder names)."""
        if not self.files_dir.is_dir():
            return
        for entry in self.files_dir.iterdir():
            if entry.name not in keep and not entry.name.startswith(".tmp"):
                shutil.rmtree(entry, ignore_errors=True)
        if not keep:
            shutil.rmtree(self.files_dir, ignore_errors=True)

    def _write(self, data: dict[str, Any]) -> None:
        data["format"] = _FORMAT
        payload = json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._atomic(self.path, payload)

    @staticmethod
    def _atomic(path: Path, payload: bytes) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(payload)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
