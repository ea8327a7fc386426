"""Knowledge-base search: ranked, filtered, highlighted, typo-tolerant.

Index (SQLite)
--------------
``search_fts`` is a contentless FTS5 table with the columns ``title``,
``body`` (the Markdown body rendered to plain text), ``extra`` (tags and
category) and ``meta`` (hashed product/category/locale tokens and a draft
token, which no query text can produce). Text is tokenized in Python
(``server.kb._tokens``): words as words, CJK runs as bigrams plus single
characters, so one- and two-character Chinese queries are single-token
look-ups and longer ones are phrases of bigrams. ``search_head`` repeats
titles and tags (short document lists, for the first ranking tier).
``search_docs`` keeps per article what it was indexed with (a contentless
table can only forget a document given its tokens) and its plain text (for
snippets). ``search_terms`` counts the documents holding each token: prefix
and inflection expansion, typo correction, "matches nothing" checks and the
cost estimates below read it instead of FTS5.

The FTS5 rowid is ``docid`` (``server.kb._doc``): the draft bit and the
locale sit above the article id, so "published" and "published in this
locale" are rowid ranges and cost nothing.

Ranking
-------
bm25 (title 10, tags/category 3, body 1) is used when it is cheap. FTS5's
bm25 first walks the whole document list of every phrase in the query (for
its IDF), about 50 ns an entry, then reads each match's column sizes, about
1 µs a match and phrase. A common Chinese character or English word can
match half of a 100,000-article corpus, which would be tens of
milliseconds; when ``search_terms``' counts say so, ranking is tiered
instead: matches with a query term in the title or tags first, then the
others, newest first within each tier.

Totals
------
Counting reads every match too, so ``total`` is exact up to ``COUNT_CAP``
(2,000) and reported as ``COUNT_CAP`` above it (a UI can show "2,000+");
every page up to that total is served consistently, from the newest
``COUNT_CAP`` matches.

Other databases (PostgreSQL) get a functional fallback with the same query
semantics: ``LIKE`` over ``search_docs.tokens`` (the same token stream),
scored in Python.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import islice
from multiprocessing import get_context
from operator import neg
from typing import Any, Literal

from sqlalchemy import Connection, Dialect, and_, delete, func, insert, or_, select, text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from protocol.models import LOCALES, MAX_QUERY_CHARS, SearchHit, SearchResults
from server import models
from server.db import Database
from server.kb import _query as Q
from server.kb._doc import ID_MASK, Doc, docid_range, make_doc, prepare, prepare_rows
from server.kb._schema import ID_BITS, search_docs, search_state, search_terms
from server.kb._snippet import highlight, snippet
from server.kb._tokens import (
    TOKENIZER_VERSION,
    index_tokens,
    meta_token,
    normalize,
)
from server.kb._tokens import terms as split_terms

log = logging.getLogger(__name__)

INDEX_VERSION = f"{TOKENIZER_VERSION};{','.join(LOCALES)}"
"""Stored in ``search_state`` (with the back end's name); any other value
makes ``SearchIndex`` rebuild."""

COUNT_CAP = 2_000
"""Totals above this are reported as this (counting costs about 0.1 µs to
0.6 µs per match, more for phrases)."""

# When bm25 is affordable. Measured on the 2-core reference machine: its IDF
# pass costs about 50 ns per entry of the phrases' document lists, then about
# 1 µs per match and phrase.
IDF_BUDGET = 15_000
ROW_BUDGET = 800

TIER_WINDOW = 1_000
TIER_SPAN = 3_000
"""The first tier is looked for among the newest TIER_WINDOW matches that lie
within TIER_SPAN article ids (per locale): that bounds its cost when the
matches are spread thin over a large corpus."""

MAX_EXPANSIONS = 24
"""A prefix matching more indexed words than this is left to FTS5's prefix
index (3 and 4 letters) or its own prefix scan."""
TYPO_MIN = 5
"""Shorter words are never corrected: too many real words are one edit away."""

_FAMILY_SCAN = 200  # indexed words sharing a stem looked at for inflections
_TYPO_MAX = 30  # longer words: 1,600+ candidate look-ups for an unlikely typo
_BATCH = 1_000  # articles per rebuild batch
_PARALLEL_MIN = 5_000  # rebuilds this large render Markdown in worker processes
_ROWID_LIMIT = -1  # SQLite: LIMIT -1 is no limit
_WEIGHTS = "10.0, 1.0, 3.0, 0.0"  # bm25 weights: title, body, extra, meta
_ARTICLE_COLUMNS = (
    models.Article.id,
    models.Article.locale,
    models.Article.title,
    models.Article.body,
    models.Article.tags,
    models.Article.category,
    models.Article.product,
    models.Article.published,
)

_HITS_SQL = (
    "SELECT a.id, a.locale, a.title, a.category, a.product, a.tags, a.updated_at, d.plain "
    "FROM articles a JOIN search_docs d ON d.article_id = a.id WHERE a.id IN"
)
_DF_ADD_SQL = text(
    "INSERT INTO search_terms (term, df) VALUES (:term, :df) "
    "ON CONFLICT (term) DO UPDATE SET df = search_terms.df + excluded.df"
)
_DF_SUB_SQL = text("UPDATE search_terms SET df = df - 1 WHERE term = :term")


@dataclass(frozen=True)
class _Filters:
    locale: str | None
    product: str | None
    category: str | None
    include_unpublished: bool


@dataclass(frozen=True)
class _Ranked:
    article_id: int
    score: float


class SearchIndex:
    """The knowledge-base search index of one database."""

    def __init__(self, db: Database, *, backend: Literal["auto", "fts5", "like"] = "auto") -> None:
        """``backend`` is for tests: "auto" is FTS5 on SQLite, LIKE elsewhere.
        Rebuilds the index when it was built by another version (or never)."""
        self.db = db
        self.fts = db.is_sqlite if backend == "auto" else backend == "fts5"
        if self.fts and not db.is_sqlite:
            raise ValueError("the FTS5 backend needs SQLite")
        self._version = f"{INDEX_VERSION};{'fts5' if self.fts else 'like'}"
        self._lock = threading.Lock()
        self._ensure_current()

    # --- writing ---------------------------------------------------------------

    def index_article(self, session: Session, article: models.Article) -> None:
        """(Re)index ``article`` in the session's transaction (it must have
        its id, i.e. be flushed)."""
        conn = session.connection()
        old = self._remove(conn, article.id)
        doc = prepare(
            article.id,
            article.locale,
            article.title,
            article.body,
            article.tags,
            article.category,
            article.product,
            article.published,
        )
        self._write(conn, [doc])
        new_tokens = doc.distinct_tokens()
        old_tokens = old.distinct_tokens() if old is not None else set()
        self._df_change(conn, added=new_tokens - old_tokens, removed=old_tokens - new_tokens)

    def remove_article(self, session: Session, article_id: int) -> None:
        """Take an article out of the index (in the session's transaction)."""
        conn = session.connection()
        old = self._remove(conn, article_id)
        if old is not None:
            self._df_change(conn, added=set(), removed=old.distinct_tokens())

    def rebuild(self) -> None:
        """Reindex every article from the ``articles`` table in one
        transaction: searches meanwhile see the old index, writers wait (on
        SQLite about a minute per 100,000 articles on two cores, so rebuild a
        large knowledge base from the command line, not from a request)."""
        with self._lock, self.db.engine.begin() as conn:
            if self.fts:
                for table in ("search_fts", "search_head"):
                    conn.exec_driver_sql(f"INSERT INTO {table}({table}) VALUES('delete-all')")
            conn.execute(delete(search_docs))
            conn.execute(delete(search_terms))
            n = conn.scalar(select(func.count()).select_from(models.Article)) or 0
            df: Counter[str] = Counter()
            for docs, batch_df in self._prepared_batches(conn, n):
                self._write(conn, docs)
                df.update(batch_df)
            terms = sorted(df.items())
            for i in range(0, len(terms), 10_000):
                conn.execute(
                    insert(search_terms),
                    [{"term": t, "df": c} for t, c in terms[i : i + 10_000]],
                )
            if self.fts:
                # One b-tree per term instead of one per batch: faster queries.
                for table in ("search_fts", "search_head"):
                    conn.exec_driver_sql(f"INSERT INTO {table}({table}) VALUES('optimize')")
            conn.execute(delete(search_state).where(search_state.c.key == "index"))
            conn.execute(insert(search_state).values(key="index", value=self._version))
        log.info("search index rebuilt: %d articles", n)

    def _prepared_batches(
        self, conn: Connection, n: int
    ) -> Iterator[tuple[list[Doc], Counter[str]]]:
        """Articles as ``Doc``s, a batch at a time. Rendering Markdown is the
        slow part, so a large rebuild spreads it over worker processes while
        this one writes."""
        batches = self._article_batches(conn)
        workers = min(os.cpu_count() or 1, 4)
        if n < _PARALLEL_MIN or workers < 2:
            for rows in batches:
                yield prepare_rows(rows)
            return
        # spawn: forking a threaded server process is not safe.
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            pending: list[Future[tuple[list[Doc], Counter[str]]]] = []
            for rows in batches:
                half = (len(rows) + 1) // 2
                pending.append(pool.submit(prepare_rows, rows[:half]))
                pending.append(pool.submit(prepare_rows, rows[half:]))
                while len(pending) > 2 * workers:
                    yield pending.pop(0).result()
            for fut in pending:
                yield fut.result()

    @staticmethod
    def _article_batches(conn: Connection) -> Iterator[list[tuple[Any, ...]]]:
        last = 0
        while True:
            rows: list[tuple[Any, ...]] = [
                tuple(r)
                for r in conn.execute(
                    select(*_ARTICLE_COLUMNS)
                    .where(models.Article.id > last)
                    .order_by(models.Article.id)
                    .limit(_BATCH)
                )
            ]
            if not rows:
                return
            last = int(rows[-1][0])
            yield rows

    def _write(self, conn: Connection, docs: Sequence[Doc]) -> None:
        if not docs:
            return
        if self.fts:
            conn.exec_driver_sql(
                "INSERT INTO search_fts(rowid, title, body, extra, meta) VALUES (?, ?, ?, ?, ?)",
                [(d.docid, *d.columns) for d in docs],
            )
            conn.exec_driver_sql(
                "INSERT INTO search_head(rowid, title, extra) VALUES (?, ?, ?)",
                [(d.docid, d.columns[0], d.columns[2]) for d in docs],
            )
        conn.execute(insert(search_docs), [d.row(with_tokens=not self.fts) for d in docs])

    @staticmethod
    def _df_change(conn: Connection, *, added: set[str], removed: set[str]) -> None:
        if added:
            conn.execute(_DF_ADD_SQL, [{"term": t, "df": 1} for t in sorted(added)])
        if removed:
            conn.execute(_DF_SUB_SQL, [{"term": t} for t in sorted(removed)])

    def _remove(self, conn: Connection, article_id: int) -> Doc | None:
        """Delete an article's index entries; returns what they were."""
        row = (
            conn.execute(select(search_docs).where(search_docs.c.article_id == article_id))
            .mappings()
            .first()
        )
        if row is None:
            return None
        old = make_doc(
            row["article_id"],
            row["locale"],
            row["product"],
            row["category"],
            bool(row["published"]),
            row["title"],
            row["extra"],
            row["plain"],
        )
        if self.fts:
            # The tokenizer is deterministic and INDEX_VERSION guards against
            # a changed one, so these are exactly the tokens indexed.
            conn.exec_driver_sql(
                "INSERT INTO search_fts(search_fts, rowid, title, body, extra, meta) "
                "VALUES ('delete', ?, ?, ?, ?, ?)",
                (row["docid"], *old.columns),
            )
            conn.exec_driver_sql(
                "INSERT INTO search_head(search_head, rowid, title, extra) "
                "VALUES ('delete', ?, ?, ?)",
                (row["docid"], old.columns[0], old.columns[2]),
            )
        conn.execute(delete(search_docs).where(search_docs.c.article_id == article_id))
        return old

    def _ensure_current(self) -> None:
        try:
            with self.db.engine.connect() as conn:
                version = conn.scalar(
                    select(search_state.c.value).where(search_state.c.key == "index")
                )
        except (OperationalError, ProgrammingError) as exc:
            raise RuntimeError("the search tables are missing: upgrade the database first") from exc
        if version != self._version:
            log.info("search index missing or built by another version: rebuilding")
            self.rebuild()

    # --- searching -------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        locale: str | None = None,
        product: str | None = None,
        category: str | None = None,
        page: int = 1,
        per_page: int = 10,
        include_unpublished: bool = False,
    ) -> SearchResults:
        """Ranked, highlighted results for what a user typed. Never raises on
        the query text: what is neither a word nor CJK is ignored."""
        query = query[:MAX_QUERY_CHARS]
        page = max(1, page)
        per_page = min(max(1, per_page), 50)
        empty = SearchResults(query=query, total=0, page=page, per_page=per_page, results=[])
        units = Q.plan(query)
        if not units:
            return empty
        f = _Filters(locale or None, product or None, category or None, include_unpublished)
        with self.db.engine.connect() as conn:
            self._lookup(conn, units)
            total, window = self._count(conn, units, f)
            corrected: str | None = None
            if total == 0:
                fixed = self._correct(conn, query, units, f)
                if fixed is not None:
                    units, corrected, total, window = fixed
            if total == 0 and any(u.kind == "cjk" and len(u.text) > 2 for u in units):
                units = [replace(u, relaxed=True) if u.kind == "cjk" else u for u in units]
                total, window = self._count(conn, units, f)
            if total == 0:
                return empty
            offset = (page - 1) * per_page
            ranked = self._rank(conn, units, f, total, window, offset, per_page)
            results = self._hits(conn, units, ranked)
        return SearchResults(
            query=query,
            total=total,
            page=page,
            per_page=per_page,
            results=results,
            corrected_query=corrected,
        )

    def _lookup(self, conn: Connection, units: list[Q.Unit]) -> None:
        """Fill in the units' document frequencies and prefix expansions."""
        df = _df(conn, sorted({t for u in units for t in u.exact_tokens()}))
        for u in units:
            u.df = {t: df.get(t, 0) for t in u.exact_tokens()}
            if u.kind == "family":
                base = Q.family_base(u.surface)
                found = [
                    (t, c)
                    for t, c in _prefixed(conn, base, _FAMILY_SCAN)
                    if Q.in_family(u.surface, base, t)
                ][:MAX_EXPANSIONS]
                if found:
                    u.expansions = [t for t, _ in found]
                    u.df.update(found)
                    continue
                # Not a word the index knows: maybe a prefix after all.
                u.kind = "prefix"
            if u.kind == "prefix":
                found = _prefixed(conn, u.text, MAX_EXPANSIONS + 1)
                u.expansions = [t for t, _ in found]
                u.df.update(found)
                u.native_prefix = len(found) > MAX_EXPANSIONS

    def _correct(
        self, conn: Connection, query: str, units: list[Q.Unit], f: _Filters
    ) -> tuple[list[Q.Unit], str, int, list[int]] | None:
        """One-edit corrections (most frequent indexed word) for words that
        match nothing at all; None when there is nothing to correct or the
        corrected query still finds nothing."""
        dead = [u for u in units if u.dead]
        if not dead or any(
            u.kind not in ("prefix", "family") or not _correctable(u.surface) for u in dead
        ):
            return None
        fixes: dict[str, str] = {}
        for u in dead:
            known = [(c, t) for t, c in _df(conn, sorted(Q.edits1(u.surface))).items() if c > 0]
            if not known:
                return None
            fixes[u.surface] = max(known)[1]
        fixed = [Q.word_unit(fixes[u.surface], typing=False) if u.dead else u for u in units]
        self._lookup(conn, fixed)
        total, window = self._count(conn, fixed, f)
        if total == 0:
            return None
        return fixed, _corrected_text(query, fixes), total, window

    def _count(self, conn: Connection, units: list[Q.Unit], f: _Filters) -> tuple[int, list[int]]:
        """(matches up to COUNT_CAP, and with FTS5 the rowids of the newest
        COUNT_CAP matches, newest first)."""
        if any(u.dead for u in units):
            return 0, []
        if not self.fts:
            n = conn.scalar(
                select(func.count()).select_from(search_docs).where(_like_where(units, f))
            )
            return min(int(n or 0), COUNT_CAP), []
        match, lo, hi = _fts_match(units, f)
        window = _fts_page(conn, match, lo, hi, COUNT_CAP, 0)
        return len(window), window

    def _rank(
        self,
        conn: Connection,
        units: list[Q.Unit],
        f: _Filters,
        total: int,
        window: list[int],
        offset: int,
        limit: int,
    ) -> list[_Ranked]:
        if offset >= total:
            return []
        if not self.fts:
            return _like_rank(conn, units, f, total, offset, limit)
        match, lo, hi = _fts_match(units, f)
        phrases, idf_docs = (sum(x) for x in zip(*(u.cost() for u in units), strict=True))
        meta = _meta_filters(f)
        if meta:  # bm25 walks the filters' document lists too
            phrases += len(meta)
            idf_docs += sum(_df(conn, meta).values())
        if idf_docs <= IDF_BUDGET and total * phrases <= ROW_BUDGET:
            rows = _fetch(
                conn,
                # Only constants and placeholders are formatted into SQL here.
                f"SELECT rowid, bm25(search_fts, {_WEIGHTS}) AS r FROM search_fts "  # noqa: S608
                "WHERE search_fts MATCH ? AND rowid BETWEEN ? AND ? "
                "ORDER BY r, rowid DESC LIMIT ? OFFSET ?",
                (match, lo, hi, limit, offset),
            )
            return [_Ranked(int(r[0]) & ID_MASK, -float(r[1])) for r in rows]
        # Tiered: matches with a query term in the title or tags first, then
        # the rest, newest first within each tier. The first tier is looked
        # up in search_head, over the newest matches only (TIER_WINDOW of
        # them, spanning at most TIER_SPAN article ids per locale), which
        # bounds the cost when the matches are spread thin.
        any_unit = " OR ".join(f"({u.fts()})" for u in units)
        first_set: set[int] = set()
        for lo_id, hi_id in _spans(window[:TIER_WINDOW]):
            head = _fts_page(conn, any_unit, lo_id, hi_id, _ROWID_LIMIT, 0, "search_head")
            first_set.update(head)
        first_set.intersection_update(window)
        first = sorted(first_set, reverse=True)
        page = [_Ranked(r & ID_MASK, 2.0) for r in first[offset : offset + limit]]
        if len(page) < limit:
            rest = (r for r in window if r not in first_set)
            skip = max(0, offset - len(first))
            page += [
                _Ranked(r & ID_MASK, 1.0) for r in islice(rest, skip, skip + limit - len(page))
            ]
        return page

    def _hits(
        self, conn: Connection, units: list[Q.Unit], ranked: list[_Ranked]
    ) -> list[SearchHit]:
        if not ranked:
            return []
        ids = [x.article_id for x in ranked]
        marks = ", ".join("?" * len(ids))
        rows = _fetch(conn, f"{_HITS_SQL} ({marks})", ids)
        tags_of, time_of = _article_processors(conn)
        by_id = {r[0]: r for r in rows}
        finder = Q.Highlighter(units)
        hits: list[SearchHit] = []
        for x in ranked:
            r = by_id.get(x.article_id)
            if r is None:  # deleted without remove_article; rebuild() tidies up
                continue
            art_id, locale, title, category, product, tags, updated_at, plain = r
            tags = tags_of(tags) if tags_of else tags
            snip, spans = snippet(finder, plain)
            hits.append(
                SearchHit(
                    id=art_id,
                    locale=locale,
                    title=title,
                    title_highlights=highlight(finder, title),
                    snippet=snip,
                    snippet_highlights=spans,
                    category=category,
                    product=product,
                    tags=[str(t) for t in tags] if isinstance(tags, list) else [],
                    updated_at=time_of(updated_at) if time_of else updated_at,
                    score=x.score if math.isfinite(x.score) else 0.0,
                )
            )
        return hits


# --- helpers -------------------------------------------------------------------


def _fetch(conn: Connection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows of a read-only statement with ``?`` placeholders. On SQLite this
    goes straight to the driver: SQLAlchemy's per-statement overhead is a
    sizeable part of a millisecond budget."""
    if conn.dialect.name == "sqlite":
        raw = conn.connection.driver_connection
        assert raw is not None
        rows: list[tuple[Any, ...]] = raw.execute(sql, tuple(params)).fetchall()
        return rows
    if conn.dialect.paramstyle in ("format", "pyformat"):
        sql = sql.replace("?", "%s")
    return [tuple(r) for r in conn.exec_driver_sql(sql, tuple(params))]


def _df(conn: Connection, terms: list[str]) -> dict[str, int]:
    """Document frequencies of ``terms`` (absent ones left out)."""
    out: dict[str, int] = {}
    for i in range(0, len(terms), 500):
        chunk = terms[i : i + 500]
        marks = ", ".join("?" * len(chunk))
        sql = f"SELECT term, df FROM search_terms WHERE term IN ({marks})"  # noqa: S608
        out.update((str(t), int(c)) for t, c in _fetch(conn, sql, chunk))
    return out


def _prefixed(conn: Connection, prefix: str, limit: int) -> list[tuple[str, int]]:
    """Indexed words (still in some document) starting with ``prefix``."""
    if conn.dialect.name == "sqlite":
        # A range, not LIKE: SQLite's LIKE ignores case and the index.
        sql = "SELECT term, df FROM search_terms WHERE term >= ? AND term < ? AND df > 0"
        params: tuple[Any, ...] = (prefix, prefix + "\U0010ffff", limit)
    else:
        sql = "SELECT term, df FROM search_terms WHERE term LIKE ? AND df > 0"
        params = (prefix + "%", limit)
    rows = _fetch(conn, sql + " ORDER BY term LIMIT ?", params)
    return [(str(t), int(c)) for t, c in rows]


_Processor = Callable[[Any], Any] | None


@lru_cache(maxsize=4)
def _processors(dialect: Dialect) -> tuple[_Processor, _Processor]:
    table = models.Article.__table__
    return (
        table.c.tags.type.dialect_impl(dialect).result_processor(dialect, None),
        table.c.updated_at.type.dialect_impl(dialect).result_processor(dialect, None),
    )


def _article_processors(conn: Connection) -> tuple[_Processor, _Processor]:
    """SQLAlchemy's own converters for ``tags`` (JSON) and ``updated_at``
    (UTC datetime), for rows read without the ORM."""
    return _processors(conn.dialect)


def _correctable(word: str) -> bool:
    return TYPO_MIN <= len(word) <= _TYPO_MAX and word.isascii() and word.isalpha()


def _corrected_text(query: str, fixes: dict[str, str]) -> str:
    """``query`` with the corrected words replaced and the rest as typed
    (or normalized, where normalizing changed the query's length)."""
    normalized = normalize(query)
    base = query if len(normalized) == len(query) else normalized
    out: list[str] = []
    pos = 0
    for t in split_terms(normalized):
        if not t.cjk and t.text in fixes:
            out += [base[pos : t.start], fixes[t.text]]
            pos = t.end
    out.append(base[pos:])
    return "".join(out)


def _meta_filters(f: _Filters) -> list[str]:
    """The meta tokens a match must have (locale and drafts are mostly
    rowid ranges instead, see ``docid_range``)."""
    _lo, _hi, locale_token = docid_range(f.locale, f.include_unpublished)
    meta: list[str] = []
    if f.product:
        meta.append(meta_token("p", f.product))
    if f.category:
        meta.append(meta_token("c", f.category))
    if f.locale and locale_token:
        meta.append(meta_token("l", f.locale))
    return meta


def _fts_match(units: list[Q.Unit], f: _Filters) -> tuple[str, int, int]:
    """The FTS5 MATCH expression and rowid range for ``units`` under ``f``.
    No column filter is needed: meta tokens cannot come out of a query."""
    expr = f"({Q.fts_expression(units)})"
    lo, hi, _ = docid_range(f.locale, f.include_unpublished)
    meta = _meta_filters(f)
    if meta:
        quoted = " AND ".join(f'"{t}"' for t in meta)
        expr = f"{expr} AND {{meta}}: ({quoted})"
    return expr, lo, hi


def _spans(rowids: list[int]) -> list[tuple[int, int]]:
    """(lowest, highest) rowid ranges covering newest-first ``rowids``: one
    per rowid partition (locale, draft), each cut to TIER_SPAN article ids
    below the partition's newest."""
    out: list[tuple[int, int]] = []
    i, n = 0, len(rowids)
    while i < n:
        top = rowids[i]
        floor = (top >> ID_BITS) << ID_BITS  # the partition's lowest rowid
        low = max(floor, top - TIER_SPAN)
        # rowids is descending; bisect on its negation.
        cut = bisect_right(rowids, -low, lo=i, key=neg)
        out.append((rowids[cut - 1], top))
        i = bisect_right(rowids, -floor, lo=cut, key=neg)
    return out


def _fts_page(
    conn: Connection,
    match: str,
    lo: int,
    hi: int,
    limit: int,
    offset: int,
    table: str = "search_fts",
) -> list[int]:
    """Matching rowids in [lo, hi], newest first."""
    rows = _fetch(
        conn,
        f"SELECT rowid FROM {table} WHERE {table} MATCH ? AND rowid BETWEEN ? AND ? "  # noqa: S608
        "ORDER BY rowid DESC LIMIT ? OFFSET ?",
        (match, lo, hi, limit, offset),
    )
    return [r for (r,) in rows]


def _like_where(units: list[Q.Unit], f: _Filters) -> Any:
    d = search_docs.c
    conds: list[Any] = [
        or_(*[d.tokens.like(p) for p in alternatives])
        for u in units
        for alternatives in u.like_patterns()
    ]
    if not f.include_unpublished:
        conds.append(d.published.is_(True))
    if f.locale:
        conds.append(d.locale == f.locale)
    if f.product:
        conds.append(d.product == f.product)
    if f.category:
        conds.append(d.category == f.category)
    return and_(*conds)


_LIKE_RANK_CAP = 2_000


def _like_rank(
    conn: Connection, units: list[Q.Unit], f: _Filters, total: int, offset: int, limit: int
) -> list[_Ranked]:
    """Fallback ranking: per unit 10 for a title match, 3 for tags/category,
    1 for the body; over at most ``_LIKE_RANK_CAP`` matches, else newest
    first."""
    d = search_docs.c
    stmt = select(d.article_id, d.title, d.extra).where(_like_where(units, f))
    if total > _LIKE_RANK_CAP:
        rows = conn.execute(stmt.order_by(d.article_id.desc()).offset(offset).limit(limit)).all()
        return [_Ranked(r.article_id, _like_score(units, r.title, r.extra)) for r in rows]
    scored = sorted(
        (_Ranked(r.article_id, _like_score(units, r.title, r.extra)) for r in conn.execute(stmt)),
        key=lambda x: (-x.score, -x.article_id),
    )
    return scored[offset : offset + limit]


def _like_score(units: list[Q.Unit], title: str, extra: str) -> float:
    fields = ((f" {index_tokens(title)} ", 10.0), (f" {index_tokens(extra)} ", 3.0))
    score = 0.0
    for u in units:
        needles = [p.strip("%") for alts in u.like_patterns() for p in alts]
        score += max([1.0] + [w for stream, w in fields if any(n in stream for n in needles)])
    return score
