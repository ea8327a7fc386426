"""Plain text of a Markdown article, for snippets and the search index."""

from __future__ import annotations

from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def plain_text(markdown: str) -> str:
    """The article's words with the Markdown syntax removed: one space between
    blocks, code kept as its text, images as their alt text, links as their
    label."""
    parts: list[str] = []

    def walk(tokens: list[Token]) -> None:
        for tok in tokens:
            if tok.children:
                walk(tok.children)
            elif tok.type in ("text", "code_inline", "code_block", "fence"):
                parts.append(tok.content)
            elif tok.type in ("softbreak", "hardbreak"):
                parts.append(" ")
            if tok.type.endswith("_close") and tok.block:
                parts.append(" ")

    walk(_parser().parse(markdown))
    return " ".join("".join(parts).split())
