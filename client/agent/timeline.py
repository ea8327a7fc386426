"""A ticket's or a conversation's history as rich text for a QTextBrowser.

Everything the service sends (customer text, names, file names) is escaped
here before it is placed in markup, so HTML a customer typed shows as the
characters they typed. The only links made are ``attachment:ID`` (download)
and ``article:ID`` (knowledge articles a bot offered), which the view
handles itself.

Customer messages sit on the left, the agents' on the right, internal notes
on a yellow background with a label, and status changes and assignments as
centred grey lines.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

CUSTOMER_BG = "#f3f4f6"
AGENT_BG = "#dbeafe"
BOT_BG = "#ecfdf5"
NOTE_BG = "#fef3c7"
NOTE_BORDER = "#f59e0b"
MUTED = "#6b7280"


@dataclass(frozen=True, slots=True)
class FileRef:
    id: int
    filename: str
    size: int


@dataclass(frozen=True, slots=True)
class ArticleRef:
    id: int
    title: str


@dataclass(frozen=True, slots=True)
class Entry:
    """One item of a timeline, already in the console's terms.

    ``side``: ``customer``, ``agent``, ``bot``, ``note`` (internal) or
    ``system`` (a centred line: status change, assignment, rating).
    """

    side: str
    author: str
    text: str
    when: datetime
    files: Sequence[FileRef] = field(default_factory=tuple)
    articles: Sequence[ArticleRef] = field(default_factory=tuple)
    label: str = ""
    """Shown before the text: "Internal note", "Status: Open → Resolved"..."""
    state: str = ""
    """For an agent's chat message: sending / sent / failed (shown small)."""


def escape_text(text: str) -> str:
    """Plain text as rich text: escaped, line breaks kept, runs of spaces kept."""
    escaped = html.escape(text, quote=False)
    escaped = escaped.replace("  ", "&nbsp; ")
    return escaped.replace("\r\n", "\n").replace("\n", "<br>")


def _files_html(files: Iterable[FileRef], size_text: Callable[[int], str]) -> str:
    links = [
        f'<a href="attachment:{int(f.id)}">📎 {html.escape(f.filename)}</a>'
        f' <span style="color:{MUTED};">({html.escape(size_text(f.size))})</span>'
        for f in files
    ]
    return "<br>".join(links)


def _articles_html(articles: Iterable[ArticleRef]) -> str:
    return "<br>".join(
        f'<a href="article:{int(a.id)}">📄 {html.escape(a.title)}</a>' for a in articles
    )


def entry_html(
    entry: Entry, when_text: Callable[[datetime], str], size_text: Callable[[int], str]
) -> str:
    """One entry as a block of rich text."""
    meta = f"{html.escape(entry.author)} · {html.escape(when_text(entry.when))}"
    if entry.state:
        meta += f" · {html.escape(entry.state)}"
    if entry.side == "system":
        line = html.escape(entry.label or "")
        if entry.text:
            line += (": " if line else "") + escape_text(entry.text)
        return (
            f'<p align="center" style="color:{MUTED}; font-size:small; margin:6px 0;">'
            f"{line} — {meta}</p>"
        )
    body = escape_text(entry.text)
    parts = []
    if entry.label:
        parts.append(f"<b>{html.escape(entry.label)}</b>")
    if body:
        parts.append(body)
    if entry.files:
        parts.append(_files_html(entry.files, size_text))
    if entry.articles:
        parts.append(_articles_html(entry.articles))
    content = "<br>".join(parts)
    if entry.side == "customer":
        align, bg, border = "left", CUSTOMER_BG, CUSTOMER_BG
    elif entry.side == "bot":
        align, bg, border = "left", BOT_BG, BOT_BG
    elif entry.side == "note":
        align, bg, border = "right", NOTE_BG, NOTE_BORDER
    else:
        align, bg, border = "right", AGENT_BG, AGENT_BG
    return (
        f'<table align="{align}" width="78%" cellspacing="0" cellpadding="9" '
        f'bgcolor="{bg}" style="margin:4px 0; border: 1px solid {border};">'
        f'<tr><td><span style="color:{MUTED}; font-size:small;">{meta}</span><br>'
        f"{content}</td></tr></table><br>"
    )


def timeline_html(
    entries: Iterable[Entry],
    when_text: Callable[[datetime], str],
    size_text: Callable[[int], str],
) -> str:
    return "".join(entry_html(e, when_text, size_text) for e in entries)
