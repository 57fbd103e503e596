"""Traffic tables: the policy behind an alias, and the history of every alias change.

The alias row itself (``model_aliases``) keeps pointing at the policy's primary version, so
everything that reads plain aliases (listing, preload, delete checks) keeps working; the policy
row adds the split, the shadow and the guard.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from modelport.storage.base import Base, utcnow


class AliasPolicyRow(Base):
    __tablename__ = "alias_policies"

    name: Mapped[str] = mapped_column(
        String(128), ForeignKey("models.name", ondelete="CASCADE"), primary_key=True
    )
    alias: Mapped[str] = mapped_column(String(64), primary_key=True)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AliasEventRow(Base):
    """One alias change: who, when, from which policy to which (None = no alias), and why."""

    __tablename__ = "alias_events"
    __table_args__ = (Index("ix_alias_events_name_alias_id", "name", "alias", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128))
    alias: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(128), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    from_policy: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    to_policy: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
