"""The search index's own tables (created by migration 0002, not by the models).

They are kept out of ``server.models.Base.metadata`` on purpose: they are an
index that ``SearchIndex.rebuild`` can recreate at any time from the
``articles`` table, and their names all start with ``search_`` so the
models-versus-migrations check can leave them aside. On SQLite the migration
also creates the FTS5 tables ``search_fts`` and ``search_head`` (raw SQL:
SQLAlchemy has no construct for virtual tables).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, MetaData, String, Table, Text

metadata = MetaData()

search_docs = Table(
    "search_docs",
    metadata,
    # One row per indexed article: what it was indexed with, so that it can be
    # taken out of the contentless FTS5 table again, plus its plain text for
    # snippets.
    Column("article_id", Integer, primary_key=True, autoincrement=False),
    Column("docid", BigInteger, nullable=False, unique=True),
    Column("locale", String(10), nullable=False),
    Column("product", String(100), nullable=False),
    Column("category", String(100), nullable=False),
    Column("published", Boolean, nullable=False),
    Column("title", String(300), nullable=False),
    Column("extra", Text, nullable=False),
    Column("plain", Text, nullable=False),
    # Only filled where there is no FTS5 (PostgreSQL): the token stream that
    # LIKE patterns search.
    Column("tokens", Text, nullable=True),
)

search_terms = Table(
    "search_terms",
    metadata,
    # Every indexed token with the number of documents holding it (0 once
    # none does): prefix expansion, typo correction and the query planner's
    # cost estimates read it (FTS5's vocabulary table counts documents on
    # every look-up, which is far too slow for common words).
    Column("term", String(64), primary_key=True),
    Column("df", Integer, nullable=False),
)

search_state = Table(
    "search_state",
    metadata,
    Column("key", String(50), primary_key=True),
    Column("value", String(200), nullable=False),
)

# Migration 0002 holds its own copy of this statement (migrations never change
# once released); a unit test checks that the two agree.
FTS_CREATE = (
    "CREATE VIRTUAL TABLE search_fts USING fts5("
    "title, body, extra, meta, content='', "
    "tokenize=\"unicode61 remove_diacritics 0 tokenchars '_'\", prefix='3 4')"
)
HEAD_CREATE = (
    "CREATE VIRTUAL TABLE search_head USING fts5("
    "title, extra, content='', "
    "tokenize=\"unicode61 remove_diacritics 0 tokenchars '_'\")"
)
"""Contentless FTS5 tables keyed by ``docid`` (see ``server.kb._doc``). Text
arrives pre-tokenized; "_" is a token character only so that the meta
tokens stay whole. ``prefix`` indexes make 3- and 4-letter prefix queries
single look-ups. ``search_head`` repeats the title and tags: finding which
of many matches have a query term there is cheap in its short document
lists and slow in the full ones."""

ID_BITS = 40
"""``docid`` = ``draft << 62 | locale slot << ID_BITS | article_id``."""
