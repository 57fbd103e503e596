"""text: semantic search collections and documents (pgvector on PostgreSQL when available)

Revision ID: 0005_text
Revises: 0004_jobs
Create Date: 2026-11-22

On PostgreSQL the ``vector`` extension is created when the server has it; ``embedding`` is then
a ``vector`` column (dimension-free: each collection gets a partial HNSW index on its own
dimension). Without pgvector, and on SQLite, ``embedding`` is a blob searched with numpy.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005_text"
down_revision = "0004_jobs"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)


def _create_vector_extension() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    available = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).scalar()
    if not available:
        log.warning("pgvector is not installed on this PostgreSQL server; search falls back to numpy")
        return False
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS vector"))
    except sa.exc.DBAPIError:
        log.warning("could not create the vector extension; search falls back to numpy", exc_info=True)
        return False
    return True


def upgrade() -> None:
    has_vector = _create_vector_extension()
    op.create_table(
        "search_collections",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("dimension", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "search_documents",
        sa.Column("collection_id", sa.Integer(),
                  sa.ForeignKey("search_collections.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("doc_id", sa.String(256), primary_key=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("metadata", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
    )
    if has_vector:
        op.execute("ALTER TABLE search_documents ADD COLUMN embedding vector NOT NULL")
    else:
        op.add_column("search_documents", sa.Column("embedding", sa.LargeBinary(), nullable=False))


def downgrade() -> None:
    op.drop_table("search_documents")
    op.drop_table("search_collections")
