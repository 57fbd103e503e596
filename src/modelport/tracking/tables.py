"""Tracking tables: the prediction log, feedback on it, and reference distributions.

One row per inference *request* (not per input row): a batch of 1,000 rows is one insert, so the
log's write rate follows the request rate, a request id finds the whole call (what the client
sent, what it got back), and analyses that need rows (drift, performance) unpack them from the
captured JSON. Inputs and outputs are stored as JSON text encoded once by the background writer
(orjson), never by the database driver on the request path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from modelport.storage.base import Base, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only


class PredictionRow(Base):
    __tablename__ = "predictions"
    __table_args__ = (
        Index("ix_predictions_model_ts", "model", "ts"),
        Index("ix_predictions_principal_ts", "principal", "ts"),
        Index("ix_predictions_ts", "ts"),
        UniqueConstraint("request_id", name="uq_predictions_request_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(128))
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    model: Mapped[str] = mapped_column(String(128))
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    alias: Mapped[str | None] = mapped_column(String(64), nullable=True)
    principal: Mapped[str | None] = mapped_column(String(128), nullable=True)
    protocol: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(8))  # "ok" | "error"
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    rows: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float)
    cached: Mapped[bool] = mapped_column(Boolean, default=False)
    inputs: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON text
    inputs_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    inputs_truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    outputs: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON text
    trace_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    arm: Mapped[str | None] = mapped_column(String(16), nullable=True)  # traffic arm (#20)
    # generations (chat completions): token counts and why it stopped (migration 0007_trust)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    completion_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    finish_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)


class FeedbackRow(Base):
    """The ground truth for one logged request; no foreign key, because the prediction may still
    be in the write-behind buffer or a spill file when its feedback arrives."""

    __tablename__ = "prediction_feedback"

    request_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    actual: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReferenceRow(Base):
    """Per-feature reference distribution of one model version (training data or an upload)."""

    __tablename__ = "model_references"
    __table_args__ = (
        ForeignKeyConstraint(["model", "version"], ["model_versions.name", "model_versions.version"],
                             ondelete="CASCADE", name="fk_model_references_version"),
    )

    model: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    rows: Mapped[int] = mapped_column(Integer)
    features: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
