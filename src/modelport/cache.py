"""The prediction cache: the same inputs to the same model version get the stored outputs.

The key is (model, *resolved* version, SHA-256 of the canonical input bytes). Because it holds
the version an alias resolved to, moving an alias can never serve the old version's answer. The
entry holds the model's full outputs, so requests that ask for different output subsets share it.

Two backends, picked from settings: an in-process LRU with a TTL (default), and Redis when
``MODELPORT_REDIS_URL`` is set (shared by replicas). Redis sits behind a circuit breaker with
0.1 s socket timeouts and no retries: after a few consecutive failures the cache answers "miss"
without touching Redis until a cool-down passes, so an outage costs at most a few fast failures
and never an error or a slow request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from typing import Any

import numpy as np
import orjson

from modelport.core.digest import digest
from modelport.core.types import TensorDict
from modelport.observability.metrics import Metrics

log = logging.getLogger(__name__)
MAX_ENTRY_BYTES = 1 << 20


def cache_key(model: str, version: int, inputs: TensorDict) -> str:
    return f"{model}:{version}:{digest(inputs)}"


def _cacheable(outputs: TensorDict) -> bool:
    return (sum(a.nbytes for a in outputs.values()) <= MAX_ENTRY_BYTES
            and all(a.dtype.kind not in "OV" for a in outputs.values()))


class PredictionCache(ABC):
    """The cache contract: the memory and Redis adapters below, picked from settings."""

    backend = "none"

    @abstractmethod
    async def get(self, key: str) -> TensorDict | None: ...

    @abstractmethod
    async def set(self, key: str, outputs: TensorDict) -> None: ...

    async def close(self) -> None:
        return None


class MemoryCache(PredictionCache):
    """LRU bounded by entry count; entries expire ``ttl`` seconds after they were stored."""

    backend = "memory"

    def __init__(self, metrics: Metrics, *, max_entries: int, ttl: float) -> None:
        self.metrics = metrics
        self.max_entries = max_entries
        self.ttl = ttl
        self._entries: OrderedDict[str, tuple[float, TensorDict]] = OrderedDict()

    async def get(self, key: str) -> TensorDict | None:
        hit = self._entries.get(key)
        if hit is None or hit[0] < time.monotonic():
            if hit is not None:
                del self._entries[key]
            self.metrics.cache_lookups.labels(self.backend, "miss").inc()
            return None
        self._entries.move_to_end(key)
        self.metrics.cache_lookups.labels(self.backend, "hit").inc()
        return hit[1]

    async def set(self, key: str, outputs: TensorDict) -> None:
        if not _cacheable(outputs):
            return
        frozen: TensorDict = {}
        for name, arr in outputs.items():
            copy = np.array(arr, copy=True)
            copy.flags.writeable = False  # a hit is shared by every later request
            frozen[name] = copy
        self._entries[key] = (time.monotonic() + self.ttl, frozen)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


class CircuitBreaker:
    """Closed → open after ``threshold`` consecutive failures → one trial after ``reset_after``."""

    def __init__(self, threshold: int = 3, reset_after: float = 5.0) -> None:
        self.threshold = threshold
        self.reset_after = reset_after
        self.failures = 0
        self.opened_at: float | None = None

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None

    def allow(self) -> bool:
        if self.opened_at is None:
            return True
        if time.monotonic() - self.opened_at >= self.reset_after:
            self.opened_at = time.monotonic()  # half-open: let this one call try
            return True
        return False

    def success(self) -> None:
        self.failures = 0
        self.opened_at = None

    def failure(self) -> bool:
        """Record a failure; True when this one opened the circuit."""
        self.failures += 1
        if self.failures >= self.threshold:
            was_open = self.opened_at is not None
            self.opened_at = time.monotonic()
            return not was_open
        return False


def pack(outputs: TensorDict) -> bytes:
    """Header (names, dtypes, shapes) + raw bytes: no pickle, so a shared Redis cannot run code."""
    header = [[name, arr.dtype.str, list(arr.shape)] for name, arr in outputs.items()]
    head = orjson.dumps(header)
    body = b"".join(np.ascontiguousarray(arr).tobytes() for arr in outputs.values())
    return len(head).to_bytes(4, "little") + head + body


def unpack(data: bytes) -> TensorDict:
    n = int.from_bytes(data[:4], "little")
    header = orjson.loads(data[4:4 + n])
    offset = 4 + n
    out: TensorDict = {}
    for name, dtype_str, shape in header:
        dtype = np.dtype(dtype_str)
        if dtype.kind in "OV":
            raise ValueError("unsupported dtype in cache entry")
        count = int(np.prod(shape)) if shape else 1
        size = count * dtype.itemsize
        out[name] = np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(shape)
        offset += size
    return out


class RedisCache(PredictionCache):
    backend = "redis"

    def __init__(self, url: str, metrics: Metrics, *, ttl: float, timeout: float = 0.1,
                 breaker: CircuitBreaker | None = None, prefix: str = "modelport:cache:",
                 max_connections: int = 64, idle_timeout_s: float = 30.0) -> None:
        from redis.asyncio import Redis

        from modelport.redis_pool import make_pool

        # bounded, and idle connections closed (:mod:`modelport.redis_pool`)
        self.pool = make_pool(url, timeout=timeout, max_connections=max_connections,
                              idle_timeout_s=idle_timeout_s)
        self.client = Redis(connection_pool=self.pool)
        self.metrics = metrics
        self.ttl_ms = max(1, int(ttl * 1000))
        self.timeout = timeout
        self.breaker = breaker or CircuitBreaker()
        self.prefix = prefix
        self._writes: set[asyncio.Task[None]] = set()
        metrics.cache_circuit_open.labels(self.backend).set(0)

    def _failed(self, exc: BaseException) -> None:
        self.metrics.cache_errors.labels(self.backend).inc()
        if self.breaker.failure():
            self.metrics.cache_circuit_open.labels(self.backend).set(1)
            log.warning("prediction cache: Redis failing (%s); serving without cache for %.0fs",
                        type(exc).__name__, self.breaker.reset_after)

    def _ok(self) -> None:
        if self.breaker.is_open:
            log.warning("prediction cache: Redis is back")
            self.metrics.cache_circuit_open.labels(self.backend).set(0)
        self.breaker.success()

    async def get(self, key: str) -> TensorDict | None:
        if not self.breaker.allow():
            self.metrics.cache_lookups.labels(self.backend, "miss").inc()
            return None
        try:
            async with asyncio.timeout(self.timeout * 2):
                data = await self.client.get(self.prefix + key)
        except Exception as exc:  # any Redis failure degrades to a miss
            self._failed(exc)
            self.metrics.cache_lookups.labels(self.backend, "miss").inc()
            return None
        self._ok()
        if data is None:
            self.metrics.cache_lookups.labels(self.backend, "miss").inc()
            return None
        try:
            outputs = unpack(data)
        except (ValueError, TypeError, orjson.JSONDecodeError):
            self.metrics.cache_lookups.labels(self.backend, "miss").inc()
            return None
        self.metrics.cache_lookups.labels(self.backend, "hit").inc()
        return outputs

    async def set(self, key: str, outputs: TensorDict) -> None:
        """Store in the background: the response never waits for Redis."""
        if not _cacheable(outputs) or not self.breaker.allow() or len(self._writes) > 1000:
            return
        task = asyncio.get_running_loop().create_task(self._set(key, pack(outputs)))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _set(self, key: str, data: bytes) -> None:
        try:
            async with asyncio.timeout(self.timeout * 2):
                await self.client.set(self.prefix + key, data, px=self.ttl_ms)
        except Exception as exc:
            self._failed(exc)
            return
        self._ok()

    async def close(self) -> None:
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)
        await self.client.aclose()  # type: ignore[attr-defined]  # stubs predate redis 5
        await self.pool.aclose()  # a pool passed in is not the client's to close


def make_cache(settings: Any, metrics: Metrics) -> PredictionCache | None:
    """None when caching is off (``MODELPORT_CACHE_ENABLED=false`` or no room for entries)."""
    if not settings.cache.enabled or settings.cache.ttl_s <= 0:
        return None
    if settings.redis.url:
        return RedisCache(settings.redis.url, metrics, ttl=settings.cache.ttl_s,
                          max_connections=settings.redis.max_connections,
                          idle_timeout_s=settings.redis.idle_timeout_s)
    if settings.cache.max_entries <= 0:
        return None
    return MemoryCache(metrics, max_entries=settings.cache.max_entries, ttl=settings.cache.ttl_s)
