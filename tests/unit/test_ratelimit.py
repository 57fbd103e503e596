"""The rate limiter on ``limits``' in-memory storage: fixed windows per caller and rate."""

from __future__ import annotations

import time

import pytest

from modelport.errors import RateLimited
from modelport.ratelimit import RateLimiter, parse_rate


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
