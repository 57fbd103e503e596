"""Rate limits with the ``limits`` library: in memory by default, Redis when configured.

Fixed windows: O(1) per hit in memory and one round trip in Redis (a moving window in memory
keeps one entry per hit). Redis gets ~100 ms socket timeouts and no retries, because redis-py's
defaults can stall a request for a minute against a hung server. If Redis fails, this process
falls back to local memory limits (logged once per outage) and tries Redis again a few seconds
later: a Redis outage must never turn into failed predictions.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter

from modelport.errors import InvalidInput, RateLimited

log = logging.getLogger(__name__)
REDIS_TIMEOUT_S = 0.1
REDIS_RETRY_AFTER_S = 5.0
MAX_KEYS = 10_000  # remembered memory-window keys (callers x rates)


@functools.lru_cache(maxsize=256)
def parse_rate(value: str) -> RateLimitItem:
    """``"100/minute"``, ``"10 per second"``... A malformed rate is a client error."""
    try:
        return parse(value)
    except ValueError:
        raise InvalidInput(f"invalid rate limit {value[:64]!r}; use e.g. '100/minute'") from None


class LocalMemoryStorage(MemoryStorage):
    """``limits``' in-memory storage with expired windows swept at most once a second.

    Why: upstream's ``incr`` starts a task to sweep expired keys whenever none is running, and
    on a busy event loop the last one has always finished: one task, plus a per-key lock that
    guards no ``await``, per request (20 us of a prediction's CPU). Here a hit is a few dict
    operations and the sweep runs once a second (or sooner, for windows shorter than that).
    Fixed windows only, which is all :class:`RateLimiter` uses.
    """

    def __init__(self) -> None:
        super().__init__()
        self._next_sweep = 0.0

    async def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        expirations, storage = self.expirations, self.storage
        if expirations.get(key, 0) <= now:
            storage.pop(key, None)
            expirations.pop(key, None)
        value = storage[key] + amount
        storage[key] = value
        if value == amount:
            expirations[key] = now + expiry
        if now >= self._next_sweep:
            self._sweep(now)
            self._next_sweep = now + min(1.0, expiry)
        return value

    def _sweep(self, now: float) -> None:
        for key in [k for k, at in self.expirations.items() if at <= now]:
            self.storage.pop(key, None)
            self.expirations.pop(key, None)
            self.locks.pop(key, None)


def _redis_storage(url: str) -> Storage:
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    options: dict[str, Any] = {
        "socket_timeout": REDIS_TIMEOUT_S, "socket_connect_timeout": REDIS_TIMEOUT_S,
        "retry": Retry(NoBackoff(), 0), "health_check_interval": 0,
    }
    return RedisStorage(f"async+{url}", implementation="redispy", key_prefix="modelport:rl", **options)


class RateLimiter:
    def __init__(self, redis_url: str | None = None) -> None:
        self.memory = FixedWindowRateLimiter(LocalMemoryStorage())
        self.redis = FixedWindowRateLimiter(_redis_storage(redis_url)) if redis_url else None
        self._redis_down_until = 0.0
        self._keys: dict[tuple[str, tuple[str, ...]], str] = {}

    @property
    def using_redis(self) -> bool:
        return self.redis is not None and time.monotonic() >= self._redis_down_until

    async def hit(self, rate: str, *identifiers: str) -> None:
        """Count one request; raise :class:`RateLimited` (429 with headers) past the limit."""
        item = parse_rate(rate)
        limiter = self.memory
        if self.redis is not None and self.using_redis:
            try:
                if await self.redis.hit(item, *identifiers):
                    return
                limiter = self.redis
            except Exception as exc:
                self._redis_failed(exc)
                limiter = self.memory
            else:
                await self._refuse(limiter, item, identifiers)
        if not await self._memory_hit(rate, item, identifiers):
            await self._refuse(limiter, item, identifiers)

    async def _memory_hit(self, rate: str, item: RateLimitItem, identifiers: tuple[str, ...]) -> bool:
        """``FixedWindowRateLimiter.hit`` on the memory storage, the window's key remembered:
        ``key_for`` joins five strings on every call, a dict lookup finds it again."""
        keys = self._keys
        key = keys.get((rate, identifiers))
        if key is None:
            if len(keys) >= MAX_KEYS:
                keys.clear()
            key = keys[(rate, identifiers)] = item.key_for(*identifiers)
        return await self.memory.storage.incr(key, item.get_expiry()) <= item.amount

    def _redis_failed(self, exc: Exception) -> None:
        if time.monotonic() >= self._redis_down_until:
            log.warning("rate limit storage (Redis) failed: %s; using local memory limits for %.0f s",
                        type(exc).__name__, REDIS_RETRY_AFTER_S)
        self._redis_down_until = time.monotonic() + REDIS_RETRY_AFTER_S

    async def _refuse(self, limiter: FixedWindowRateLimiter, item: RateLimitItem,
                      identifiers: tuple[str, ...]) -> None:
        try:
            stats = await limiter.get_window_stats(item, *identifiers)
            reset_in = max(0.0, stats.reset_time - time.time())
            remaining = stats.remaining
        except Exception:
            reset_in, remaining = float(item.get_expiry()), 0
        error = RateLimited(f"rate limit of {item} exceeded", retry_after=reset_in)
        error.headers.update({
            "RateLimit-Limit": str(item.amount),
            "RateLimit-Remaining": str(remaining),
            "RateLimit-Reset": str(max(1, math.ceil(reset_in))),
        })
        raise error

    async def close(self) -> None:
        if self.redis is not None:
            storage = self.redis.storage
            bridge = getattr(storage, "bridge", None)
            client = getattr(bridge, "storage", None)
            if client is not None:
                await client.aclose()
