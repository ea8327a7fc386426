"""Canned replies: a small list of ready answers an agent edits and inserts.

Kept locally as JSON (``canned_replies.json`` in the data directory), written
atomically (temporary file, then rename) so a crash never leaves half a file.
A missing file gives a few starter replies; a damaged one is set aside as
``canned_replies.json.bad`` and the starters are used, so the console never
refuses to start over it. Blocking file access: call from a worker thread.

A reply is inserted by clicking it in the menu or by typing its shortcut
after a slash in the reply box (``/thanks``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)

FILENAME = "canned_replies.json"
MAX_REPLIES = 500
MAX_TEXT = 10_000
SHORTCUT = re.compile(r"^[\w-]{1,32}$")
"""Letters (any script), digits, ``_`` and ``-``: what may follow the slash."""


@dataclass(frozen=True, slots=True)
class CannedReply:
    shortcut: str
    title: str
    text: str


STARTERS = (
    CannedReply("hello", "Greeting", "Hello, thank you for contacting us. "),
    CannedReply(
        "thanks",
        "Thanks and close",
        "Thank you for your patience. I am closing this request now; reply here any time "
        "if the problem comes back.",
    ),
    CannedReply(
        "logs",
        "Ask for logs",
        "Could you send us the diagnostic bundle? In HelpBridge choose Help > Diagnostics, "
        "then attach the file here.",
    ),
)


def clean_shortcut(value: str) -> str:
    """A shortcut as stored: without the leading slash, spaces trimmed, lower case."""
    return value.strip().lstrip("/").strip().casefold()


def validate(replies: list[CannedReply]) -> list[CannedReply]:
    """The usable replies of ``replies``: valid, unique shortcuts (first one
    wins), text cut to :data:`MAX_TEXT`, at most :data:`MAX_REPLIES`."""
    seen: set[str] = set()
    out: list[CannedReply] = []
    for reply in replies:
        shortcut = clean_shortcut(reply.shortcut)
        if not SHORTCUT.match(shortcut) or shortcut in seen or not reply.text.strip():
            continue
        seen.add(shortcut)
        title = reply.title.strip()[:200] or shortcut
        out.append(CannedReply(shortcut, title, reply.text[:MAX_TEXT]))
        if len(out) >= MAX_REPLIES:
            break
    return out


class CannedStore:
    """The canned replies file of one data directory."""

    def __init__(self, directory: Path, starters: tuple[CannedReply, ...] = STARTERS) -> None:
        self.path = Path(directory) / FILENAME
        # The UI passes starters in the agent's language.
        self.starters = starters

    def load(self) -> list[CannedReply]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return list(self.starters)
        except OSError as exc:
            log.warning("cannot read %s: %s", self.path, exc)
            return list(self.starters)
        try:
            data = json.loads(raw)
            items = data["replies"] if isinstance(data, dict) else data
            replies = [
                CannedReply(str(i["shortcut"]), str(i.get("title", "")), str(i["text"]))
                for i in items
                if isinstance(i, dict)
            ]
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("canned replies file is damaged (%s); starting over", exc)
            with contextlib.suppress(OSError):
                os.replace(self.path, self.path.with_name(FILENAME + ".bad"))
            return list(self.starters)
        return validate(replies)

    def save(self, replies: list[CannedReply]) -> list[CannedReply]:
        """Write ``replies`` (validated first); returns what was written."""
        clean = validate(replies)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(
            {"version": 1, "replies": [asdict(r) for r in clean]}, ensure_ascii=False, indent=2
        )
        fd, tmp = tempfile.mkstemp(prefix=".canned-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(payload)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return clean


def find(replies: list[CannedReply], shortcut: str) -> CannedReply | None:
    key = clean_shortcut(shortcut)
    return next((r for r in replies if r.shortcut == key), None)


def matching(replies: list[CannedReply], prefix: str) -> list[CannedReply]:
    """Replies whose shortcut starts with ``prefix`` (slash optional)."""
    key = clean_shortcut(prefix)
    return [r for r in replies if r.shortcut.startswith(key)]
