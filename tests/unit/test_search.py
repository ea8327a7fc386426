"""Knowledge-base search against a real SQLite file: the migrations, the FTS5
index and ``SearchIndex`` as the service uses them."""

from __future__ import annotations

import importlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Table, insert, text

from protocol.models import MAX_QUERY_CHARS, SearchResults
from server import models
from server.db import Database, sqlite_url
from server.kb import _schema
from server.kb import search as search_mod
from server.kb.search import SearchIndex

ARTICLE_TABLE = cast(Table, models.Article.__table__)

ARTICLES: list[dict[str, Any]] = [
    {
        "locale": "zh_CN",
        "title": "如何备份数据库",
        "body": "在**系统设置**中点击“备份”，即可导出数据库文件。\n\n错误 LP-1043 表示磁盘空间不足。",
        "tags": ["备份"],
        "category": "数据备份",
        "product": "LedgerPro",
    },
    {
        "locale": "zh_CN",
        "title": "库存盘点",
        "body": "盘点库存时请先锁定仓库，然后导出盘点表。",
        "tags": [],
        "category": "库存管理",
        "product": "InventoryHub",
    },
    {
        "locale": "zh_CN",
        "title": "数据同步说明",
        "body": "客户端会把数据同步到服务器，仓库的数量每晚更新。",
        "tags": ["同步"],
        "category": "网络与同步",
        "product": "LedgerPro",
    },
    {
        "locale": "en",
        "title": "How to reconcile an invoice",
        "body": "Open the *ledger*, choose **Invoices** and click [Reconcile](https://x.test/r).\n\n"
        "Reconciliation matches payments to invoices.",
        "tags": ["billing"],
        "category": "Invoices",
        "product": "LedgerPro",
    },
    {
        "locale": "en",
        "title": "Printing receipts",
        "body": "Receipts print on the default printer. Check the printer driver first.",
        "tags": ["printer"],
        "category": "Printing",
        "product": "POS Lite",
    },
    {
        "locale": "en",
        "title": "Exporting the ledger",
        "body": "Export the ledger as CSV. The export keeps invoice numbers.",
        "tags": [],
        "category": "Reports",
        "product": "LedgerPro",
    },
    {
        "locale": "en",
        "title": "Unreleased: quarterly closing",
        "body": "Closing steps for the quarter, with the secretword zebrafinch.",
        "tags": [],
        "category": "Reports",
        "product": "LedgerPro",
        "published": False,
    },
]


POSTGRES_URL = os.environ.get("HELPBRIDGE_TEST_POSTGRES_URL", "")
"""A throwaway PostgreSQL database (its public schema is dropped!) for the
fallback back end, e.g. ``postgresql+psycopg://user@/db?host=/tmp&port=5432``."""


def make_db(tmp: Path, backend: str = "fts5") -> Database:
    if backend != "postgres":
        db = Database(sqlite_url(tmp))
    else:
        if not POSTGRES_URL:
            pytest.skip("HELPBRIDGE_TEST_POSTGRES_URL is not set")
        db = Database(POSTGRES_URL)
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    db.upgrade()
    return db


def make_index(db: Database, backend: str) -> SearchIndex:
    # PostgreSQL has no FTS5: "auto" picks the LIKE fallback there.
    return SearchIndex(db, backend="like" if backend != "fts5" else "fts5")


def add(db: Database, index: SearchIndex, **fields: Any) -> int:
    with db.session() as s:
        article = models.Article(**{"published": True, **fields})
        s.add(article)
        s.flush()
        index.index_article(s, article)
        return article.id


BACKENDS = ["fts5", "like", "postgres"]


@pytest.fixture(scope="module", params=BACKENDS)
def corpus(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[SearchIndex, dict[str, int]]]:
    """A small shared corpus, indexed by each back end in turn (read-only):
    FTS5, the LIKE fallback on SQLite, and on PostgreSQL when there is one."""
    db = make_db(tmp_path_factory.mktemp(f"kb-{request.param}"), request.param)
    index = make_index(db, request.param)
    ids = {a["title"]: add(db, index, **a) for a in ARTICLES}
    yield index, ids
    db.dispose()


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[tuple[Database, SearchIndex]]:
    db = make_db(tmp_path)
    yield db, SearchIndex(db)
    db.dispose()


def titles(res: SearchResults) -> list[str]:
    return [h.title for h in res.results]


def assert_highlights(res: SearchResults, *words: str) -> None:
    """Every hit highlights something, and each highlight is one of
    ``words`` (case-insensitively) or a word starting with one of them."""
    for hit in res.results:
        spans = [hit.title[a:b] for a, b in hit.title_highlights]
        spans += [hit.snippet[a:b] for a, b in hit.snippet_highlights]
        assert spans, hit
        for s in spans:
            assert any(s.lower().startswith(w.lower()) for w in words), (s, words)


# --- Chinese ---------------------------------------------------------------


def test_one_character_chinese_query_finds_every_article_holding_it(corpus: Any) -> None:
    index, _ = corpus
    res = index.search("库")
    assert set(titles(res)) == {"如何备份数据库", "库存盘点", "数据同步说明"}
    assert res.total == 3
    for hit in res.results:
        assert all(hit.snippet[a:b] == "库" for a, b in hit.snippet_highlights)
        assert all(hit.title[a:b] == "库" for a, b in hit.title_highlights)
    assert index.search("锁").total == 1
    assert index.search("鲸").total == 0


def test_two_character_chinese_query(corpus: Any) -> None:
    index, _ = corpus
    res = index.search("仓库")
    assert set(titles(res)) == {"库存盘点", "数据同步说明"}
    assert_highlights(res, "仓库")
    assert titles(index.search("备份")) == ["如何备份数据库"]


def test_chinese_phrase_needs_consecutive_characters(corpus: Any) -> None:
    index, _ = corpus
    # "数据同步说明" holds 数据 and 据 and 库 but never 数据库 in a row.
    res = index.search("数据库")
    assert titles(res) == ["如何备份数据库"]
    hit = res.results[0]
    assert hit.title[slice(*hit.title_highlights[0])] == "数据库"
    assert "数据库" in [hit.snippet[a:b] for a, b in hit.snippet_highlights]


def test_mixed_chinese_and_code_query(corpus: Any) -> None:
    index, _ = corpus
    res = index.search("LP-1043 数据库")
    assert titles(res) == ["如何备份数据库"]
    found = {res.results[0].snippet[a:b] for a, b in res.results[0].snippet_highlights}
    assert {"LP-1043", "数据库"} <= found
    assert index.search("LP-1044 数据库").total == 0


# --- English ---------------------------------------------------------------


def test_english_prefix_matches_while_typing(corpus: Any) -> None:
    index, _ = corpus
    res = index.search("invo")
    assert set(titles(res)) == {"How to reconcile an invoice", "Exporting the ledger"}
    assert_highlights(res, "invo")
    res = index.search("reconcil")
    assert titles(res) == ["How to reconcile an invoice"]
    words = {res.results[0].snippet[a:b] for a, b in res.results[0].snippet_highlights}
    assert {"Reconcile", "Reconciliation"} <= words


def test_english_is_case_insensitive_and_folds_plurals(corpus: Any) -> None:
    index, _ = corpus
    assert set(titles(index.search("INVOICE"))) == set(titles(index.search("invoice")))
    assert set(titles(index.search("receipt"))) == {"Printing receipts"}
    assert set(titles(index.search("printers"))) == {"Printing receipts"}


def test_markdown_syntax_is_not_in_snippets(corpus: Any) -> None:
    index, _ = corpus
    hit = index.search("reconcile").results[0]
    assert "**" not in hit.snippet and "](" not in hit.snippet and "https" not in hit.snippet
    assert "Invoices" in hit.snippet


def test_typo_is_corrected(corpus: Any) -> None:
    index, _ = corpus
    res = index.search("invioce")
    assert res.corrected_query == "invoice"
    assert set(titles(res)) == {"How to reconcile an invoice", "Exporting the ledger"}
    assert_highlights(res, "invoice")
    res = index.search("Ledger reconcilation")
    assert res.corrected_query == "Ledger reconciliation"
    assert titles(res) == ["How to reconcile an invoice"]


def test_no_typo_correction_for_short_or_unknown_words(corpus: Any) -> None:
    index, _ = corpus
    assert index.search("invx").corrected_query is None  # 4 letters
    res = index.search("qwertyuiop")
    assert res.total == 0 and res.corrected_query is None


def test_no_fuzzy_matching_when_the_query_has_hits(fresh: Any) -> None:
    db, index = fresh
    add(db, index, locale="en", title="Receive goods", body="How to receive goods.")
    add(db, index, locale="en", title="Misspelt", body="We recieve payments daily.")
    res = index.search("recieve")
    assert res.corrected_query is None
    assert titles(res) == ["Misspelt"]
    res = index.search("receeve")
    assert res.corrected_query in {"receive", "recieve"}
    assert res.total == 1


def test_stop_words_do_not_have_to_match(corpus: Any) -> None:
    index, _ = corpus
    assert titles(index.search("how to export the ledger")) == ["Exporting the ledger"]


# --- ranking, filters, paging ------------------------------------------------


def test_title_match_outranks_body_match(fresh: Any) -> None:
    db, index = fresh
    add(db, index, locale="en", title="General notes", body="Check the firewall and the router.")
    add(db, index, locale="en", title="Firewall rules", body="Open the port.")
    add(db, index, locale="en", title="Other", body="Nothing to see.", tags=["firewall"])
    res = index.search("firewall")
    assert titles(res) == ["Firewall rules", "Other", "General notes"]
    assert res.results[0].score > res.results[1].score > res.results[2].score


def test_filters(corpus: Any) -> None:
    index, _ = corpus
    assert index.search("invoice", locale="zh_CN").total == 0
    assert index.search("invoice", locale="en").total == 2
    assert titles(index.search("库", product="InventoryHub")) == ["库存盘点"]
    assert titles(index.search("invoice", category="Reports")) == ["Exporting the ledger"]
    assert index.search("invoice", category="Reports", product="POS Lite").total == 0
    assert index.search("库", locale="fr").total == 0


def test_drafts_are_hidden_unless_asked_for(corpus: Any) -> None:
    index, _ = corpus
    assert index.search("zebrafinch").total == 0
    assert index.search("closing", locale="en").total == 0
    assert titles(index.search("zebrafinch", include_unpublished=True)) == [
        "Unreleased: quarterly closing"
    ]
    assert index.search("closing", locale="en", include_unpublished=True).total == 1
    # A draft never leaks through the word "draft" either.
    assert index.search("draft").total == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_pagination_total_and_pages(tmp_path: Path, backend: str) -> None:
    db = make_db(tmp_path, backend)
    index = make_index(db, backend)
    for i in range(23):
        add(db, index, locale="en", title=f"Payroll note {i}", body=f"payroll step {i}")
    add(db, index, locale="en", title="Unrelated", body="nothing")
    pages = [index.search("payroll", page=p, per_page=10) for p in (1, 2, 3, 4)]
    assert [r.total for r in pages] == [23] * 4
    assert [len(r.results) for r in pages] == [10, 10, 3, 0]
    seen = [h.id for r in pages for h in r.results]
    assert len(seen) == len(set(seen)) == 23
    db.dispose()


def test_large_match_sets_are_ranked_in_tiers(fresh: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    db, index = fresh
    title_ids = [add(db, index, locale="zh_CN", title="打印设置", body="请检查。")]
    body_ids = [
        add(db, index, locale="zh_CN", title=f"说明{i}", body="先打印测试页。") for i in range(8)
    ]
    title_ids.append(add(db, index, locale="zh_CN", title="打印机", body="无。"))
    # Pretend that ranking every match by bm25 would be too expensive.
    monkeypatch.setattr(search_mod, "IDF_BUDGET", 0)
    res = [index.search("打印", per_page=4, page=p) for p in (1, 2, 3)]
    assert [r.total for r in res] == [10, 10, 10]
    ids = [h.id for r in res for h in r.results]
    # Title matches first, then the others, newest first within each tier.
    assert ids == sorted(title_ids, reverse=True) + sorted(body_ids, reverse=True)
    assert res[0].results[0].score > res[0].results[-1].score
    assert_highlights(res[0], "打印")
    # Totals are capped: only the newest COUNT_CAP matches are served.
    monkeypatch.setattr(search_mod, "COUNT_CAP", 6)
    res = [index.search("打印", per_page=4, page=p) for p in (1, 2, 3)]
    assert [r.total for r in res] == [6, 6, 6]
    ids = [h.id for r in res for h in r.results]
    newest = sorted(title_ids + body_ids, reverse=True)[:6]
    assert sorted(ids, reverse=True) == newest
    assert ids[0] == max(title_ids)


# --- changes -------------------------------------------------------------------


def test_update_reindexes_and_remove_forgets(fresh: Any) -> None:
    db, index = fresh
    aid = add(db, index, locale="en", title="Barcode scanner", body="Pair the scanner.")
    assert index.search("scanner").total == 1
    with db.session() as s:
        article = s.get(models.Article, aid)
        assert article is not None
        article.title = "Label printer"
        article.body = "Load the labels."
        article.locale = "zh_CN"
        s.flush()
        index.index_article(s, article)
    assert index.search("scanner").total == 0
    assert index.search("barcode").total == 0
    assert titles(index.search("labels", locale="zh_CN")) == ["Label printer"]
    assert index.search("labels", locale="en").total == 0
    with db.session() as s:
        article = s.get(models.Article, aid)
        assert article is not None
        article.published = False
        s.flush()
        index.index_article(s, article)
    assert index.search("labels").total == 0
    assert index.search("labels", include_unpublished=True).total == 1
    with db.session() as s:
        index.remove_article(s, aid)
        s.delete(s.get(models.Article, aid))
    assert index.search("labels", include_unpublished=True).total == 0
    # The vocabulary forgot it too: nothing is "corrected" to a gone word.
    assert index.search("labeld").corrected_query is None


def test_rolled_back_indexing_leaves_no_trace(fresh: Any) -> None:
    db, index = fresh
    with pytest.raises(RuntimeError), db.session() as s:
        article = models.Article(locale="en", title="Ghost", body="phantom text")
        s.add(article)
        s.flush()
        index.index_article(s, article)
        raise RuntimeError("the request failed after indexing")
    assert index.search("phantom").total == 0


def test_rebuild_indexes_rows_added_behind_its_back(fresh: Any) -> None:
    db, index = fresh
    add(db, index, locale="en", title="Indexed", body="alpha")
    with db.engine.begin() as conn:
        conn.execute(
            insert(ARTICLE_TABLE),
            [
                {
                    "locale": "en",
                    "title": "Bulk",
                    "body": "alpha beta",
                    "category": "",
                    "tags": [],
                    "product": "",
                    "published": True,
                    "created_at": models.utcnow(),
                    "updated_at": models.utcnow(),
                }
            ],
        )
    assert index.search("beta").total == 0
    index.rebuild()
    assert index.search("beta").total == 1
    assert index.search("alpha").total == 2
    # A new SearchIndex finds the index current and does not rebuild...
    with db.engine.begin() as conn:
        conn.execute(
            insert(ARTICLE_TABLE),
            [
                {
                    "locale": "en",
                    "title": "Late",
                    "body": "gamma",
                    "category": "",
                    "tags": [],
                    "product": "",
                    "published": True,
                    "created_at": models.utcnow(),
                    "updated_at": models.utcnow(),
                }
            ],
        )
    assert SearchIndex(db).search("gamma").total == 0
    # ...unless the index was built by another version of the tokenizer.
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE search_state SET value = 'old' WHERE key = 'index'"))
    assert SearchIndex(db).search("gamma").total == 1


# --- hostile input -------------------------------------------------------------

NASTY = [
    '"',
    '""',
    "*",
    "invoice*",
    "(",
    ")",
    "()",
    "^",
    ":",
    "-",
    "- invoice",
    "NEAR",
    "NEAR(a b)",
    "AND",
    "OR",
    "NOT",
    "a AND",
    "OR b",
    "title:invoice",
    "{title}: x",
    '"unterminated',
    "'; DROP TABLE articles; --",
    "%",
    "_",
    "\\",
    "\x00",
    "\u200b",
    "🙂",
    "   ",
    "\n\t",
    "ｌｅｄｇｅｒ",
    "İstanbul ß ﬁ",
    "数据*",
    '"数据库"',
    "库 OR 锁",
    "*:*",
]


@pytest.mark.parametrize("query", NASTY)
def test_fts_syntax_is_plain_text(corpus: Any, query: str) -> None:
    index, _ = corpus
    res = index.search(query)
    assert res.total == len(res.results) or res.total > len(res.results)


def test_fts_words_are_searched_as_words(fresh: Any) -> None:
    db, index = fresh
    add(db, index, locale="en", title="Near and far", body="Stay near the router.")
    assert index.search("NEAR").total == 1
    assert index.search("ledger*").total == 0
    assert index.search('"near"').total == 1


def test_empty_and_huge_queries(corpus: Any) -> None:
    index, _ = corpus
    for q in ("", "   ", "!!!", "。，"):
        res = index.search(q)
        assert res.total == 0 and res.results == []
    huge = "invoice " * 1250
    assert len(huge) == 10_000
    res = index.search(huge)
    assert res.query == huge[:MAX_QUERY_CHARS]
    assert res.total == 2
    assert index.search("库" * 10_000).total == 0


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.text(max_size=300), locale=st.sampled_from([None, "en", "zh_CN", "xx"]))
def test_arbitrary_text_never_raises(corpus: Any, query: str, locale: str | None) -> None:
    index, _ = corpus
    res = index.search(query, locale=locale, include_unpublished=True)
    assert res.total >= len(res.results)
    for hit in res.results:
        for a, b in hit.snippet_highlights:
            assert 0 <= a < b <= len(hit.snippet)
        for a, b in hit.title_highlights:
            assert 0 <= a < b <= len(hit.title)


# --- snippets --------------------------------------------------------------------


def test_snippet_is_cut_around_the_best_match(fresh: Any) -> None:
    db, index = fresh
    filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 12
    add(
        db,
        index,
        locale="en",
        title="Long",
        body=f"{filler}\n\nThe **watermark** sits here. {filler}",
    )
    hit = index.search("watermark").results[0]
    assert hit.snippet.startswith("…") and hit.snippet.endswith("…")
    assert len(hit.snippet) <= 162
    assert [hit.snippet[a:b] for a, b in hit.snippet_highlights] == ["watermark"]


# --- schema ------------------------------------------------------------------------


def _migration() -> Any:
    return importlib.import_module("server.migrations.versions.0002_search_index")


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_migration_creates_fts5_only_on_sqlite(dialect: str) -> None:
    out = io.StringIO()
    ctx = MigrationContext.configure(
        dialect_name=dialect, opts={"as_sql": True, "output_buffer": out}
    )
    with Operations.context(ctx):
        _migration().upgrade()
        _migration().downgrade()
    sql = out.getvalue()
    assert "CREATE TABLE search_docs" in sql and "CREATE TABLE search_terms" in sql
    assert ("fts5" in sql) == (dialect == "sqlite")


def test_schema_module_matches_the_migration() -> None:
    assert _migration().FTS_CREATE == _schema.FTS_CREATE
    assert _migration().HEAD_CREATE == _schema.HEAD_CREATE
