"""Reading the prediction log: filters, keyset pagination, one request by id, export pages.

Pages are ordered newest first on ``(ts, id)`` and the cursor is the last row's pair, so a page
costs one index range scan however deep the client pages (no OFFSET), and rows written while a
client pages never shift or repeat a page.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Select, and_, or_, select

from modelport.errors import InvalidInput, NotFound
from modelport.storage.engine import SessionFactory
from modelport.tracking.tables import FeedbackRow, PredictionRow
from modelport.tracking.window import as_utc

MAX_PAGE = 1000


@dataclass(frozen=True)
class PredictionFilter:
    model: str | None = None
    version: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    status: str | None = None  # "ok", "error", or an error code
    principal: str | None = None
    models: tuple[str, ...] | None = None  # #21: only these models (a model-limited caller)


def encode_cursor(ts: datetime, row_id: int) -> str:
    stamp = as_utc(ts)
    assert stamp is not None
    return base64.urlsafe_b64encode(orjson.dumps([stamp.isoformat(), row_id])).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, row_id = orjson.loads(raw)
        ts = as_utc(datetime.fromisoformat(stamp))
        assert ts is not None
        return ts, int(row_id)
    except Exception:
        raise InvalidInput("cursor is not valid; use the next_cursor of a previous page") from None


def _json(text: str | None) -> Any:
    return orjson.loads(text) if text else None


def to_item(row: PredictionRow, actual: Any = None, has_feedback: bool = False) -> dict[str, Any]:
    return {
        "request_id": row.request_id,
        "time": as_utc(row.ts),
        "model": row.model,
        "version": row.version,
        "alias": row.alias,
        "principal": row.principal,
        "protocol": row.protocol,
        "status": row.status,
        "error_code": row.error_code,
        "rows": row.rows,
        "latency_ms": row.latency_ms,
        "cached": row.cached,
        "inputs": _json(row.inputs),
        "inputs_hash": row.inputs_hash,
        "inputs_truncated": row.inputs_truncated,
        "outputs": _json(row.outputs),
        "trace_id": row.trace_id,
        "arm": row.arm,  # traffic arm that served: primary, canary or shadow (#20)
        "prompt_tokens": row.prompt_tokens,  # chat completions (#17)
        "completion_tokens": row.completion_tokens,
        "finish_reason": row.finish_reason,
        "feedback": {"actual": actual} if has_feedback else None,
    }


def apply_filter(stmt: Select[Any], f: PredictionFilter) -> Select[Any]:
    t = PredictionRow
    if f.model is not None:
        stmt = stmt.where(t.model == f.model)
    if f.version is not None:
        stmt = stmt.where(t.version == f.version)
    if f.since is not None:
        stmt = stmt.where(t.ts >= as_utc(f.since))
    if f.until is not None:
        stmt = stmt.where(t.ts < as_utc(f.until))
    if f.status in ("ok", "error"):
        stmt = stmt.where(t.status == f.status)
    elif f.status:
        stmt = stmt.where(t.error_code == f.status)
    if f.principal is not None:
        stmt = stmt.where(t.principal == f.principal)
    if f.models is not None:
        stmt = stmt.where(t.model.in_(f.models))
    return stmt


class PredictionQuery:
    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions

    async def page(self, f: PredictionFilter, *, limit: int = 100,
                   cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
        t = PredictionRow
        stmt = apply_filter(
            select(t, FeedbackRow.actual, FeedbackRow.request_id)
            .outerjoin(FeedbackRow, FeedbackRow.request_id == t.request_id), f,
        )
        if cursor:
            c_ts, c_id = decode_cursor(cursor)
            stmt = stmt.where(or_(t.ts < c_ts, and_(t.ts == c_ts, t.id < c_id)))
        stmt = stmt.order_by(t.ts.desc(), t.id.desc()).limit(limit + 1)
        async with self.sessions() as session:
            result = (await session.execute(stmt)).all()
        more = len(result) > limit
        result = result[:limit]
        items = [to_item(row, actual, fb_id is not None) for row, actual, fb_id in result]
        next_cursor = encode_cursor(result[-1][0].ts, result[-1][0].id) if more else None
        return items, next_cursor

    async def pages(self, f: PredictionFilter, *, size: int = MAX_PAGE,
                    max_rows: int = 1_000_000) -> AsyncIterator[list[dict[str, Any]]]:
        cursor: str | None = None
        sent = 0
        while sent < max_rows:
            items, cursor = await self.page(f, limit=min(size, max_rows - sent), cursor=cursor)
            if items:
                yield items
                sent += len(items)
            if cursor is None:
                return

    async def get(self, request_id: str, *, principal: str | None = None,
                  models: tuple[str, ...] | None = None) -> dict[str, Any]:
        """One logged request; ``principal`` restricts to that caller's rows (else 404)."""
        stmt = (select(PredictionRow, FeedbackRow.actual, FeedbackRow.request_id)
                .outerjoin(FeedbackRow, FeedbackRow.request_id == PredictionRow.request_id)
                .where(PredictionRow.request_id == request_id))
        async with self.sessions() as session:
            found = (await session.execute(stmt)).first()
        if found is None or (principal is not None and found[0].principal != principal) or (
                models is not None and found[0].model not in models):
            raise NotFound(f"no logged prediction with request id {request_id[:128]!r}")
        row, actual, fb_id = found
        return to_item(row, actual, fb_id is not None)
