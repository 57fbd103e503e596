"""Usage per API key (principal) or per model, aggregated in SQL from the prediction log.

Per group: requests, rows, errors (refused ones included), refused (429: rows of
:mod:`modelport.tracking.refused`), cached answers, latency, and the prompt and completion
tokens of chat completions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import case, func, select

from modelport.storage.engine import SessionFactory
from modelport.tracking.refused import REFUSED
from modelport.tracking.tables import PredictionRow
from modelport.tracking.window import as_utc


class UsageService:
    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions

    async def usage(self, by: Literal["key", "model"], *, since: datetime | None = None,
                    until: datetime | None = None, principal: str | None = None,
                    models: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
        t = PredictionRow
        group = t.principal if by == "key" else t.model
        stmt = select(
            group.label("group"),
            func.count().label("requests"),
            func.coalesce(func.sum(t.rows), 0).label("rows"),
            func.coalesce(func.sum(case((t.status == "error", 1), else_=0)), 0).label("errors"),
            func.coalesce(func.sum(case((t.cached.is_(True), 1), else_=0)), 0).label("cached"),
            func.coalesce(func.sum(t.latency_ms), 0.0).label("latency_ms_sum"),
            func.coalesce(func.sum(case((t.error_code == REFUSED, 1), else_=0)), 0).label("refused"),
            func.coalesce(func.sum(t.prompt_tokens), 0).label("prompt_tokens"),
            func.coalesce(func.sum(t.completion_tokens), 0).label("completion_tokens"),
        ).group_by(group).order_by(func.count().desc())
        if since is not None:
            stmt = stmt.where(t.ts >= as_utc(since))
        if until is not None:
            stmt = stmt.where(t.ts < as_utc(until))
        if principal is not None:
            stmt = stmt.where(t.principal == principal)
        if models is not None:
            stmt = stmt.where(t.model.in_(models))
        async with self.sessions() as session:
            rows = (await session.execute(stmt)).all()
        return [{
            by: r.group, "requests": int(r.requests), "rows": int(r.rows), "errors": int(r.errors),
            "cached": int(r.cached), "latency_ms_sum": round(float(r.latency_ms_sum), 3),
            "latency_ms_avg": round(float(r.latency_ms_sum) / int(r.requests), 3) if r.requests else 0.0,
            "refused": int(r.refused), "prompt_tokens": int(r.prompt_tokens),
            "completion_tokens": int(r.completion_tokens),
        } for r in rows]
