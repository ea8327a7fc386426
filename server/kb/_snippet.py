"""Snippets and highlight spans in plain text."""

from __future__ import annotations

from protocol.models import Span
from server.kb._query import Highlighter

SNIPPET_CHARS = 160
_LEAD = 30  # context kept before the first match of the chosen window
_MAX_MATCHES = 300  # enough to pick a window; a long article may have thousands
_ELLIPSIS = "…"


def highlight(finder: Highlighter, text: str) -> list[Span]:
    """Where the query's units are in ``text``, as (start, end) offsets."""
    return [(s, e) for s, e, _ in finder.find(text, _MAX_MATCHES)]


def snippet(finder: Highlighter, text: str) -> tuple[str, list[Span]]:
    """About ``SNIPPET_CHARS`` of ``text`` around the window holding the most
    different query units, with the matches in it as offsets into the
    snippet ("…" marks cut ends)."""
    n = len(text)
    found = finder.find(text, _MAX_MATCHES)
    if not found:
        return _cut(text, 0, min(n, SNIPPET_CHARS)), []
    best_i, best_score = 0, (-1, -1)
    counts: dict[str, int] = {}
    j = 0
    # Two pointers: matches[i..j) all end within SNIPPET_CHARS of matches[i].
    for i, (start, _end, _g) in enumerate(found):
        while j < len(found) and found[j][1] - start <= SNIPPET_CHARS - _LEAD:
            counts[found[j][2]] = counts.get(found[j][2], 0) + 1
            j += 1
        score = (len(counts), j - i)
        if score > best_score:
            best_i, best_score = i, score
        g = found[i][2]
        if j > i:
            counts[g] -= 1
            if not counts[g]:
                del counts[g]
        else:
            j = i + 1
    anchor = found[best_i][0]
    start = max(0, anchor - _LEAD)
    start = max(0, min(start, n - SNIPPET_CHARS))
    if start > 0:
        # Do not begin in the middle of a word when a space is near.
        space = text.find(" ", start, anchor)
        if space != -1 and space - start < 15:
            start = space + 1
    end = min(n, start + SNIPPET_CHARS)
    if end < n:
        space = text.rfind(" ", max(start, end - 15), end)
        last_match_end = max((e for s, e, _ in found if s < end), default=0)
        if space != -1 and space >= last_match_end:
            end = space
    snip = _cut(text, start, end)
    shift = (1 if start > 0 else 0) - start
    spans = [(s + shift, e + shift) for s, e, _ in found if s >= start and e <= end]
    return snip, spans


def _cut(text: str, start: int, end: int) -> str:
    return (
        (_ELLIPSIS if start > 0 else "") + text[start:end] + (_ELLIPSIS if end < len(text) else "")
    )
