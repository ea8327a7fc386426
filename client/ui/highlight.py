"""Turn plain text plus ``(start, end)`` highlight offsets into safe rich text.

The service sends highlights as character offsets into plain text, never as
markup (protocol/models.py). Here the text is escaped first and only then are
the highlighted spans wrapped, so nothing the service (or an article author)
writes can inject markup into the result list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

HIGHLIGHT_OPEN = '<span style="background-color:#ffe58a; font-weight:700;">'
HIGHLIGHT_CLOSE = "</span>"


def merge_spans(spans: Iterable[Sequence[int]], length: int) -> list[tuple[int, int]]:
    """Clamp spans to ``[0, length]``, drop empty or malformed ones, sort and
    merge overlapping or touching spans."""
    clean: list[tuple[int, int]] = []
    for span in spans:
        if len(span) != 2:
            continue
        start, end = int(span[0]), int(span[1])
        start, end = max(0, start), min(length, end)
        if start < end:
            clean.append((start, end))
    clean.sort()
    merged: list[tuple[int, int]] = []
    for start, end in clean:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def highlight_html(
    text: str,
    spans: Iterable[Sequence[int]],
    *,
    open_tag: str = HIGHLIGHT_OPEN,
    close_tag: str = HIGHLIGHT_CLOSE,
) -> str:
    """Escaped ``text`` with each highlighted span wrapped in ``open_tag``/``close_tag``."""
    import html  # here, not at start-up: it loads the HTML5 entity table (about 0.6 MB)

    out: list[str] = []
    pos = 0
    for start, end in merge_spans(spans, len(text)):
        out.append(html.escape(text[pos:start], quote=False))
        out.append(open_tag)
        out.append(html.escape(text[start:end], quote=False))
        out.append(close_tag)
        pos = end
    out.append(html.escape(text[pos:], quote=False))
    return "".join(out)
