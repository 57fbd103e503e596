"""model limits: API keys and users limited to lists of model-name patterns (#21)

Revision ID: 0008_model_limits
Revises: 0005_text
Create Date: 2026-12-06

A NULL list means every model (what every existing key and user keeps).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_model_limits"
down_revision = "0007_trust"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("models", sa.JSON(), nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("models", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("models")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("models")
