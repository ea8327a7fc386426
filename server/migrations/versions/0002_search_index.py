"""knowledge-base search index

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 19:00:00

The index tables are all named ``search_*``; ``SearchIndex`` fills them from
``articles`` (it rebuilds the index when it finds it empty or made by another
tokenizer version). On SQLite the full-text index is the contentless FTS5
table ``search_fts``, with ``search_head`` holding titles and tags only;
other databases (PostgreSQL) search ``search_docs.tokens``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

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


def _is_sqlite() -> bool:
    # get_context() also works when Alembic only renders SQL (--sql).
    return op.get_context().dialect.name == "sqlite"


def upgrade() -> None:
    op.create_table(
        'search_docs',
        sa.Column('article_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('docid', sa.BigInteger(), nullable=False),
        sa.Column('locale', sa.String(length=10), nullable=False),
        sa.Column('product', sa.String(length=100), nullable=False),
        sa.Column('category', sa.String(length=100), nullable=False),
        sa.Column('published', sa.Boolean(), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('extra', sa.Text(), nullable=False),
        sa.Column('plain', sa.Text(), nullable=False),
        sa.Column('tokens', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('article_id'),
        sa.UniqueConstraint('docid'),
    )
    op.create_table(
        'search_terms',
        sa.Column('term', sa.String(length=64), nullable=False),
        sa.Column('df', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('term'),
    )
    op.create_table(
        'search_state',
        sa.Column('key', sa.String(length=50), nullable=False),
        sa.Column('value', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    if _is_sqlite():
        op.execute(FTS_CREATE)
        op.execute(HEAD_CREATE)


def downgrade() -> None:
    if _is_sqlite():
        op.execute("DROP TABLE IF EXISTS search_head")
        op.execute("DROP TABLE IF EXISTS search_fts")
    op.drop_table('search_state')
    op.drop_table('search_terms')
    op.drop_table('search_docs')
