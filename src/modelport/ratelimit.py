"""Rate limits with the ``limits`` library: in memory by default, Redis when configured.

Fixed windows: O(1) per hit in memory and one round trip in Redis (a moving window in memory
keeps one entry per hit). Redis gets ~100 ms socket timeouts and no retries, because redis-py's
defaults can stall a request for a minute against a hung server, on a bounded pool that closes
idle connections (:mod:`modelport.redis_pool`). If Redis fails, this process
falls back to local memory limits (logged once per outage) and tries Redis again a few seconds
later: a Redis outage must never turn into failed predictions.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from typing import TYPE_CHECKING, Any

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter

from modelport.errors import InvalidInput, RateLimited

if TYPE_CHECKING:
    from modelport.redis_pool import ReapingPool

log = logging.getLogger(__name__)
REDIS_TIMEOUT_S = 0.1
REDIS_RETRY_AFTER_S = 5.0


@functools.lru_cache(maxsize=256)
def parse_rate(value: str) -> RateLimitItem:
    """``"100/minute"``, ``"10 per second"``... A malformed rate is a client error."""
    try:
        return parse(value)
    except ValueError:
        raise InvalidInput(f"invalid rate limit {value[:64]!r}; use e.g. '100/minute'") from None


def _redis_storage(url: str, *, max_connections: int, idle_timeout_s: float,
                   timeout_s: float) -> tuple[Storage, ReapingPool]:
    """``limits``' Redis storage on a connection pool we own: bounded, shrinking after a burst
    (:mod:`modelport.redis_pool`), closed by :meth:`RateLimiter.close`."""
    from modelport.redis_pool import make_pool

    pool = make_pool(url, timeout=timeout_s, max_connections=max_connections,
                     idle_timeout_s=idle_timeout_s)
    # passed on to ``redis.asyncio.Redis(connection_pool=...)``, as limits documents its options
    options: dict[str, Any] = {"connection_pool": pool}
    storage = RedisStorage(f"async+{url}", implementation="redispy", key_prefix="modelport:rl", **options)
    return storage, pool


class RateLimiter:
    def __init__(self, redis_url: str | None = None, *, max_connections: int = 64,
                 idle_timeout_s: float = 30.0, timeout_s: float = REDIS_TIMEOUT_S) -> None:
        self.memory = FixedWindowRateLimiter(MemoryStorage())
        self.redis: FixedWindowRateLimiter | None = None
        self.pool: ReapingPool | None = None
        if redis_url:
            storage, self.pool = _redis_storage(redis_url, max_connections=max_connections,
                                                idle_timeout_s=idle_timeout_s, timeout_s=timeout_s)
            self.redis = FixedWindowRateLimiter(storage)
        self._redis_down_until = 0.0

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
        if not await self.memory.hit(item, *identifiers):
            await self._refuse(limiter, item, identifiers)

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
        if self.pool is not None:
            await self.pool.aclose()
