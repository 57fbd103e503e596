"""tracking: prediction log, feedback, reference distributions

Revision ID: 0003_tracking
Revises: 0002_security
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_tracking"
down_revision = "0002_security"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "predictions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("alias", sa.String(64), nullable=True),
        sa.Column("principal", sa.String(128), nullable=True),
        sa.Column("protocol", sa.String(16), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("cached", sa.Boolean(), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=True),
        sa.Column("inputs_hash", sa.String(64), nullable=True),
        sa.Column("inputs_truncated", sa.Boolean(), nullable=False),
        sa.Column("outputs", sa.Text(), nullable=True),
        sa.Column("trace_id", sa.String(32), nullable=True),
        sa.UniqueConstraint("request_id", name="uq_predictions_request_id"),
    )
    op.create_index("ix_predictions_model_ts", "predictions", ["model", "ts"])
    op.create_index("ix_predictions_principal_ts", "predictions", ["principal", "ts"])
    op.create_index("ix_predictions_ts", "predictions", ["ts"])
    op.create_table(
        "prediction_feedback",
        sa.Column("request_id", sa.String(128), primary_key=True),
        sa.Column("actual", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "model_references",
        sa.Column("model", sa.String(128), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["model", "version"], ["model_versions.name", "model_versions.version"],
                                ondelete="CASCADE", name="fk_model_references_version"),
    )


def downgrade() -> None:
    op.drop_table("model_references")
    op.drop_table("prediction_feedback")
    op.drop_index("ix_predictions_ts", table_name="predictions")
    op.drop_index("ix_predictions_principal_ts", table_name="predictions")
    op.drop_index("ix_predictions_model_ts", table_name="predictions")
    op.drop_table("predictions")
