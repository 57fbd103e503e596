"""Memory cache LRU/TTL, the circuit breaker, and the pickle-free Redis encoding."""

from __future__ import annotations

import time

import numpy as np
import pytest

from modelport.cache import CircuitBreaker, MemoryCache, cache_key, pack, unpack
from modelport.observability.metrics import Metrics


async def test_memory_cache_lru_and_ttl() -> None:
    metrics = Metrics()
    cache = MemoryCache(metrics, max_entries=2, ttl=0.2)
    out = {"predictions": np.array([1.0, 2.0])}
    await cache.set("a", out)
    await cache.set("b", out)
    assert await cache.get("a") is not None  # a is now most recent
    await cache.set("c", out)  # evicts b
    assert await cache.get("b") is None
    hit = await cache.get("c")
    assert hit is not None and not hit["predictions"].flags.writeable
    time.sleep(0.25)
    assert await cache.get("a") is None
    assert metrics.cache_lookups.labels("memory", "hit")._value.get() == 2
    assert metrics.cache_lookups.labels("memory", "miss")._value.get() == 2


def test_cache_key_holds_model_version_and_inputs() -> None:
    x = {"input": np.array([[1.0, 2.0]])}
    assert cache_key("m", 1, x) != cache_key("m", 2, x)
    assert cache_key("m", 1, x) == cache_key("m", 1, {"input": np.array([[1.0, 2.0]])})
    assert cache_key("m", 1, x) != cache_key("m", 1, {"input": np.array([[1.0, 2.5]])})


def test_breaker_opens_then_half_opens() -> None:
    breaker = CircuitBreaker(threshold=2, reset_after=0.05)
    assert breaker.allow()
    assert not breaker.failure()
    assert breaker.failure()  # opened
    assert not breaker.allow()
    time.sleep(0.06)
    assert breaker.allow()  # one trial
    assert not breaker.allow()
    breaker.success()
    assert breaker.allow() and not breaker.is_open


@pytest.mark.parametrize("arr", [np.array([1, 2, 3]), np.array([[0.5, 0.5]]), np.array(["a", "bcd"]),
                                 np.array(3.0)])
def test_pack_round_trip(arr: np.ndarray) -> None:
    back = unpack(pack({"x": arr, "y": np.zeros((2, 2), dtype=np.float32)}))
    np.testing.assert_array_equal(back["x"], arr)
    assert back["x"].dtype == arr.dtype and back["y"].shape == (2, 2)
