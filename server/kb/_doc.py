"""An article as the search index stores it.

Kept apart from ``server.kb.search`` and free of database code so that
``SearchIndex.rebuild`` can prepare documents in worker processes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from protocol.models import LOCALES
from server.kb._schema import ID_BITS
from server.kb._tokens import DRAFT_TOKEN, index_tokens, meta_token
from server.kb.text import plain_text

LOCALE_SLOTS: dict[str, int] = {loc: i + 1 for i, loc in enumerate(LOCALES)}
"""Known locales get their own range of FTS rowids (see ``docid``). Other
locales share slot 0 and are told apart by their meta token."""

ID_MASK = (1 << ID_BITS) - 1
DRAFT_BIT = 1 << 62
_PUBLISHED_MAX = DRAFT_BIT - 1
_ROWID_MAX = (1 << 63) - 1


def docid(article_id: int, locale: str, published: bool) -> int:
    """The FTS5 rowid of an article: draft bit, locale slot, article id.
    Published articles of one locale are then one rowid range, as are all
    published articles, so the usual filters cost nothing."""
    if not 0 < article_id <= ID_MASK:
        raise ValueError(f"article id {article_id} out of the indexable range")
    slot = LOCALE_SLOTS.get(locale, 0)
    return (0 if published else DRAFT_BIT) | (slot << ID_BITS) | article_id


def docid_range(locale: str | None, include_unpublished: bool) -> tuple[int, int, bool]:
    """(lowest rowid, highest rowid, whether the range also holds other
    locales' documents, so that a locale token must filter)."""
    if include_unpublished:
        return 0, _ROWID_MAX, locale is not None
    if locale is None:
        return 0, _PUBLISHED_MAX, False
    slot = LOCALE_SLOTS.get(locale, 0)
    return slot << ID_BITS, ((slot + 1) << ID_BITS) - 1, slot == 0


@dataclass(frozen=True, slots=True)
class Doc:
    """What the index holds for one article."""

    article_id: int
    locale: str
    product: str
    category: str
    published: bool
    title: str
    extra: str  # tags and category, one per line
    plain: str  # the body as plain text
    columns: tuple[str, str, str, str]  # FTS5 title, body, extra, meta token streams

    @property
    def docid(self) -> int:
        return docid(self.article_id, self.locale, self.published)

    def distinct_tokens(self) -> set[str]:
        """Every token of the document, meta tokens included (the query
        planner weighs filters by their document counts too)."""
        title, body, extra, meta = self.columns
        return set(title.split()) | set(body.split()) | set(extra.split()) | set(meta.split())

    def row(self, *, with_tokens: bool) -> dict[str, Any]:
        """The ``search_docs`` row."""
        tokens = None
        if with_tokens:
            title, body, extra, _meta = self.columns
            # " | " keeps a phrase from running across fields.
            tokens = f" {title} | {extra} | {body} "
        return {
            "article_id": self.article_id,
            "docid": self.docid,
            "locale": self.locale,
            "product": self.product,
            "category": self.category,
            "published": self.published,
            "title": self.title,
            "extra": self.extra,
            "plain": self.plain,
            "tokens": tokens,
        }


def make_doc(
    article_id: int,
    locale: str,
    product: str,
    category: str,
    published: bool,
    title: str,
    extra: str,
    plain: str,
) -> Doc:
    """A ``Doc`` from the stored (already plain) fields."""
    meta = [meta_token("l", locale), meta_token("p", product), meta_token("c", category)]
    if not published:
        meta.append(DRAFT_TOKEN)
    columns = (index_tokens(title), index_tokens(plain), index_tokens(extra), " ".join(meta))
    return Doc(article_id, locale, product, category, published, title, extra, plain, columns)


def prepare(
    article_id: int,
    locale: str,
    title: str,
    body: str,
    tags: object,
    category: str | None,
    product: str | None,
    published: bool,
) -> Doc:
    """The index's view of an article (renders the Markdown body)."""
    # tags is a JSON column: trust nothing about its shape.
    tag_list = [str(t) for t in tags] if isinstance(tags, list | tuple) else []
    extra = "\n".join([*tag_list, category or ""])
    return make_doc(
        article_id,
        locale,
        product or "",
        category or "",
        bool(published),
        title,
        extra,
        plain_text(body),
    )


def prepare_rows(rows: Sequence[Sequence[Any]]) -> tuple[list[Doc], Counter[str]]:
    """``prepare`` over ``(id, locale, title, body, tags, category, product,
    published)`` rows, with their document frequencies: the unit of work of
    a parallel rebuild."""
    docs = [prepare(*r) for r in rows]
    df: Counter[str] = Counter()
    for d in docs:
        df.update(d.distinct_tokens())
    return docs, df
