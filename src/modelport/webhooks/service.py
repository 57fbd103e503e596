"""Webhook subscriptions and the events they receive.

:meth:`WebhookService.emit` writes one outbox row per subscribed webhook, in the database, before
it returns: the event then survives a restart, and :mod:`modelport.webhooks.dispatch` delivers
it. The body is fixed at emit time (``{"id", "type", "time", "data"}``), so retries send the
same bytes with the same signature and a receiver can drop repeats by ``id``.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from modelport.errors import InvalidInput, NotFound
from modelport.storage.base import utcnow
from modelport.storage.engine import SessionFactory
from modelport.webhooks.ssrf import resolve
from modelport.webhooks.tables import WebhookDeliveryRow, WebhookRow

log = logging.getLogger(__name__)
EVENTS = ("model.version.registered", "alias.changed", "alias.rolled_back", "job.succeeded", "job.failed",
          "drift.detected", "shadow.disagreement")
MIN_SECRET = 16


@dataclass
class WebhookInfo:
    id: str
    url: str
    events: list[str]
    created_by: str | None
    created_at: datetime


@dataclass
class DeliveryInfo:
    id: int
    event_id: str
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None


def _info(row: WebhookRow) -> WebhookInfo:
    return WebhookInfo(row.id, row.url, list(row.events), row.created_by, row.created_at)


def event_body(kind: str, data: dict[str, Any], event_id: str | None = None) -> tuple[str, bytes]:
    event_id = event_id or uuid.uuid4().hex
    body = orjson.dumps({"id": event_id, "type": kind, "time": utcnow().isoformat(), "data": data})
    return event_id, body


class WebhookService:
    def __init__(self, sessions: SessionFactory, *, allow_private: bool = False) -> None:
        self.sessions = sessions
        self.allow_private = allow_private
        self.on_emit: Callable[[], None] | None = None  # wakes the dispatcher

    async def create(self, url: str, events: list[str], secret: str | None, *,
                     actor: str | None) -> tuple[WebhookInfo, str]:
        """Subscribe ``url``; returns the webhook and its secret (generated when not given)."""
        unknown = sorted(set(events) - set(EVENTS))
        if unknown or not events:
            raise InvalidInput(f"unknown event type(s) {', '.join(repr(e[:64]) for e in unknown)}; "
                               f"choose from {', '.join(EVENTS)}" if unknown else "events must not be empty")
        if secret is not None and len(secret) < MIN_SECRET:
            raise InvalidInput(f"secret must be at least {MIN_SECRET} characters")
        await resolve(url, self.allow_private)
        secret = secret or secrets.token_urlsafe(32)
        row = WebhookRow(id=uuid.uuid4().hex, url=url, events=sorted(set(events)), secret=secret,
                         created_by=actor, created_at=utcnow())
        async with self.sessions() as session:
            session.add(row)
            await session.commit()
            info = _info(row)
        return info, secret

    async def all(self) -> list[WebhookInfo]:
        async with self.sessions() as session:
            rows = (await session.execute(select(WebhookRow).order_by(WebhookRow.created_at))).scalars().all()
        return [_info(r) for r in rows]

    async def get(self, webhook_id: str) -> WebhookInfo:
        async with self.sessions() as session:
            row = await session.get(WebhookRow, webhook_id[:32])
        if row is None:
            raise NotFound(f"webhook {webhook_id[:64]!r} not found")
        return _info(row)

    async def delete(self, webhook_id: str) -> None:
        await self.get(webhook_id)
        async with self.sessions() as session:
            await session.execute(
                delete(WebhookDeliveryRow).where(WebhookDeliveryRow.webhook_id == webhook_id))
            await session.execute(delete(WebhookRow).where(WebhookRow.id == webhook_id))
            await session.commit()

    async def deliveries(self, webhook_id: str, limit: int = 100) -> list[DeliveryInfo]:
        await self.get(webhook_id)
        async with self.sessions() as session:
            rows = (await session.execute(
                select(WebhookDeliveryRow).where(WebhookDeliveryRow.webhook_id == webhook_id)
                .order_by(WebhookDeliveryRow.id.desc()).limit(limit)
            )).scalars().all()
        return [DeliveryInfo(r.id, r.event_id, r.event_type, r.status, r.attempts, r.last_status_code,
                             r.last_error, r.created_at, r.next_attempt_at, r.delivered_at) for r in rows]

    async def emit(self, kind: str, data: dict[str, Any], event_id: str | None = None) -> str | None:
        """Queue event ``kind`` for every webhook subscribed to it; its id (None: nobody listens).

        ``event_id``: a stable id for an event several processes may notice (a job's end): each
        webhook gets it once however often it is emitted.
        """
        if kind not in EVENTS:
            raise ValueError(f"unknown webhook event {kind!r}")
        try:
            return await self._emit(kind, data, event_id)
        except (SQLAlchemyError, OSError, TimeoutError):  # the change itself already happened
            log.error("could not queue webhook event %s", kind, exc_info=True)
            return None

    async def _emit(self, kind: str, data: dict[str, Any], stable_id: str | None) -> str | None:
        async with self.sessions() as session:
            hooks = (await session.execute(select(WebhookRow.id, WebhookRow.events))).all()
            targets = [hook_id for hook_id, events in hooks if kind in events]
            if stable_id is not None and targets:
                done = set((await session.execute(select(WebhookDeliveryRow.webhook_id).where(
                    WebhookDeliveryRow.event_id == stable_id))).scalars().all())
                targets = [t for t in targets if t not in done]
            if not targets:
                return None
            event_id, body = event_body(kind, data, stable_id)
            stamp = utcnow()
            for hook_id in targets:
                session.add(WebhookDeliveryRow(
                    webhook_id=hook_id, event_id=event_id, event_type=kind, body=body.decode(),
                    status="pending", attempts=0, next_attempt_at=stamp, created_at=stamp,
                ))
            try:
                await session.commit()
            except IntegrityError:  # another process queued the same stable event first
                return stable_id
        if self.on_emit is not None:
            self.on_emit()
        return event_id
