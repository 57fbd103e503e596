"""The in-memory rate limit storage: fixed windows, expiry, and the once-a-second sweep."""

from __future__ import annotations

import time

import pytest

from modelport import ratelimit
from modelport.errors import RateLimited
from modelport.ratelimit import LocalMemoryStorage, RateLimiter, parse_rate


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(time, "time", fake)
    return fake


async def test_a_window_counts_hits_and_restarts_after_expiry(clock: Clock) -> None:
    storage = LocalMemoryStorage()
    assert [await storage.incr("k", 10) for _ in range(3)] == [1, 2, 3]
    assert await storage.get("k") == 3
    assert await storage.get_expiry("k") == pytest.approx(clock.now + 10)
    clock.now += 9.9
    assert await storage.incr("k", 10) == 4  # same window
    clock.now += 0.2
    assert await storage.incr("k", 10) == 1  # a new window starts with this hit
    assert await storage.get_expiry("k") == pytest.approx(clock.now + 10)


async def test_expired_windows_of_idle_keys_are_swept(clock: Clock) -> None:
    storage = LocalMemoryStorage()
    for key in ("a", "b", "c"):
        await storage.incr(key, 5)
    clock.now += 6  # every window has expired; the next hit (another key) sweeps them
    await storage.incr("d", 5)
    assert set(storage.storage) == {"d"} and set(storage.expirations) == {"d"}


async def test_sweeps_run_at_most_once_a_second(clock: Clock) -> None:
    storage = LocalMemoryStorage()
    await storage.incr("a", 0.5)
    clock.now += 0.6  # "a" expired, but a sweep ran 0.6 s ago with a 0.5 s window: due again
    await storage.incr("b", 60)
    assert "a" not in storage.storage
    await storage.incr("c", 0.5)
    clock.now += 0.6
    await storage.incr("d", 60)  # the last sweep (at "b") was 0.6 s ago with a 60 s window: not due
    assert "c" in storage.storage
    clock.now += 0.5
    await storage.incr("d", 60)
    assert "c" not in storage.storage


async def test_limiter_refuses_past_the_limit_and_allows_the_next_window(clock: Clock) -> None:
    limiter = RateLimiter()
    for _ in range(3):
        await limiter.hit("3/second", "principal", "key:1")
    with pytest.raises(RateLimited) as refused:
        await limiter.hit("3/second", "principal", "key:1")
    assert refused.value.headers["RateLimit-Limit"] == "3"
    assert refused.value.headers["RateLimit-Remaining"] == "0"
    await limiter.hit("3/second", "principal", "key:2")  # another caller has its own window
    clock.now += 1.01
    await limiter.hit("3/second", "principal", "key:1")


async def test_hits_count_in_the_window_limits_names_and_each_rate_has_its_own(clock: Clock) -> None:
    limiter = RateLimiter()
    for _ in range(2):
        await limiter.hit("5/minute", "principal", "key:1")
    await limiter.hit("7/minute", "principal", "key:1")
    five = await limiter.memory.get_window_stats(parse_rate("5/minute"), "principal", "key:1")
    seven = await limiter.memory.get_window_stats(parse_rate("7/minute"), "principal", "key:1")
    assert (five.remaining, seven.remaining) == (3, 6)


async def test_remembered_window_keys_are_bounded(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "MAX_KEYS", 2)
    limiter = RateLimiter()
    for caller in ("key:1", "key:2", "key:3"):
        await limiter.hit("3/second", "principal", caller)
    assert len(limiter._keys) <= 2
    for _ in range(2):
        await limiter.hit("3/second", "principal", "key:1")  # still counted in its window
    with pytest.raises(RateLimited):
        await limiter.hit("3/second", "principal", "key:1")
