"""The outbox dispatcher: sends due deliveries, retries failures with exponential backoff.

Each replica runs one. A delivery is claimed with a conditional update on its attempt count
(one replica wins), which also pushes its next attempt past the send timeout: if the process
dies mid-send, the row comes due again and is retried (at least once; receivers de-duplicate
by event id). Redirects are never followed blindly: a 307/308 is followed only to a target that
passes the same SSRF check, at most three hops; any other 3xx is a failed try.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from datetime import timedelta
from urllib.parse import urljoin, urlunsplit

import httpx
from sqlalchemy import select, update

from modelport.background import BackgroundTask
from modelport.storage.base import utcnow
from modelport.storage.engine import SessionFactory
from modelport.webhooks.signing import HEADER, sign
from modelport.webhooks.ssrf import UnsafeTarget, resolve
from modelport.webhooks.tables import WebhookDeliveryRow, WebhookRow

log = logging.getLogger(__name__)
MAX_REDIRECTS = 3
BATCH = 50


class Dispatcher:
    def __init__(self, sessions: SessionFactory, *, allow_private: bool = False, poll_s: float = 1.0,
                 timeout_s: float = 10.0, retry_base_s: float = 2.0, retry_max_s: float = 900.0,
                 max_attempts: int = 15) -> None:
        self.sessions = sessions
        self.allow_private = allow_private
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self.max_attempts = max_attempts
        self.lease_s = timeout_s * (MAX_REDIRECTS + 1) + 5  # a claimed send cannot outlast this
        self._wake = asyncio.Event()
        self._task = BackgroundTask("webhook-dispatch")
        self._client: httpx.AsyncClient | None = None

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        if not self._task.started:
            self._client = httpx.AsyncClient(follow_redirects=False, timeout=self.timeout_s, trust_env=False)
            self._task.start(self._run)

    async def close(self) -> None:
        await self._task.close()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _run(self) -> None:
        while True:
            try:
                await self.deliver_due()
            except Exception:
                log.warning("webhook dispatch failed; retrying", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            self._wake.clear()

    def backoff(self, attempts: int) -> float:
        return float(min(self.retry_max_s, self.retry_base_s * 2 ** max(0, attempts - 1)))

    async def deliver_due(self) -> int:
        """Send every due delivery once; how many succeeded."""
        async with self.sessions() as session:
            due = (await session.execute(
                select(WebhookDeliveryRow.id, WebhookDeliveryRow.attempts, WebhookDeliveryRow.body,
                       WebhookDeliveryRow.event_id, WebhookDeliveryRow.event_type, WebhookRow.url,
                       WebhookRow.secret)
                .join(WebhookRow, WebhookRow.id == WebhookDeliveryRow.webhook_id)
                .where(WebhookDeliveryRow.status == "pending", WebhookDeliveryRow.next_attempt_at <= utcnow())
                .order_by(WebhookDeliveryRow.id).limit(BATCH)
            )).all()
        sent = 0
        for delivery_id, attempts, body, event_id, kind, url, secret in due:
            if not await self._claim(delivery_id, attempts):
                continue
            status, error = await self._send(url, secret, body.encode(), event_id, kind)
            await self._finish(delivery_id, attempts + 1, status, error)
            sent += error is None
        return sent

    async def _claim(self, delivery_id: int, attempts: int) -> bool:
        async with self.sessions() as session:
            result = await session.execute(
                update(WebhookDeliveryRow)
                .where(WebhookDeliveryRow.id == delivery_id, WebhookDeliveryRow.status == "pending",
                       WebhookDeliveryRow.attempts == attempts)
                .values(attempts=attempts + 1, next_attempt_at=utcnow() + timedelta(seconds=self.lease_s))
            )
            await session.commit()
        return bool(getattr(result, "rowcount", 0) == 1)

    async def _finish(self, delivery_id: int, attempts: int, status: int | None, error: str | None) -> None:
        values: dict[str, object] = {"last_status_code": status, "last_error": error}
        if error is None:
            values.update(status="delivered", delivered_at=utcnow())
        elif attempts >= self.max_attempts:
            values.update(status="failed")
        else:
            values.update(next_attempt_at=utcnow() + timedelta(seconds=self.backoff(attempts)))
        async with self.sessions() as session:
            await session.execute(update(WebhookDeliveryRow).where(WebhookDeliveryRow.id == delivery_id)
                                  .values(**values))
            await session.commit()

    async def _send(self, url: str, secret: str, body: bytes, event_id: str,
                    kind: str) -> tuple[int | None, str | None]:
        """(HTTP status, error or None for a 2xx) of one try, redirects included."""
        assert self._client is not None
        headers = {"Content-Type": "application/json", HEADER: sign(secret, body),
                   "X-Modelport-Event": kind, "X-Modelport-Delivery": event_id,
                   "User-Agent": "modelport-webhooks"}
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                target = await resolve(url, self.allow_private)
                address = target.address
                host = f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else str(address)
                default = target.port == (443 if target.scheme == "https" else 80)
                split = httpx.URL(url)
                pinned = urlunsplit((target.scheme, f"{host}:{target.port}", split.raw_path.decode("ascii"),
                                     "", ""))
                extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
                response = await self._client.post(
                    pinned, content=body, extensions=extensions,
                    headers={**headers, "Host": target.host if default else f"{target.host}:{target.port}"},
                )
                if response.status_code in (307, 308) and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                if 200 <= response.status_code < 300:
                    return response.status_code, None
                return response.status_code, f"HTTP {response.status_code}"
            return None, "too many redirects"
        except UnsafeTarget as exc:
            return None, exc.detail
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {str(exc)[:200]}"
