"""Redis pools are bounded and shrink back after a burst (#17), counted from the server's side
(``INFO clients`` on a private redis-server): a burst of 40 concurrent commands opens 40
connections, and once idle for the idle timeout they are closed, while a connection still in
use at a low rate is kept; a pool capped at 8 never opens a ninth."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

from redis.asyncio import Redis

from modelport.ratelimit import RateLimiter
from modelport.redis_pool import ReapingPool, make_pool
from tests.fixtures.redis_server import RedisServer

IDLE_S = 0.4


async def wait_until(check: Callable[[], bool], timeout_s: float) -> float:
    """Seconds until ``check()`` held (polled every 50 ms); fails past ``timeout_s``."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout_s, "condition not met in time"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def burst(client: Redis, n: int) -> None:
    """``n`` commands at once, each holding its connection for 0.2 s (BLPOP on an empty list)."""
    key = uuid.uuid4().hex
    await asyncio.gather(*(client.blpop([key], timeout=0.2) for _ in range(n)))


def pool(server: RedisServer, *, max_connections: int = 64) -> ReapingPool:
    return make_pool(server.url, timeout=2.0, max_connections=max_connections, idle_timeout_s=IDLE_S)


async def test_a_burst_opens_connections_and_idle_ones_are_closed(own_redis: RedisServer) -> None:
    p = pool(own_redis)
    client = Redis(connection_pool=p)
    try:
        await burst(client, 40)
        assert own_redis.clients() == 40 and p.open_connections() == 40
        took = await wait_until(lambda: own_redis.clients() == 0, timeout_s=IDLE_S * 1.5 + 2.0)
        assert took <= IDLE_S * 1.5 + 0.5, took
        assert p.open_connections() == 0
        assert await client.ping()  # a closed connection reconnects on its next use
        assert own_redis.clients() == 1
    finally:
        await client.aclose()  # type: ignore[attr-defined]
        await p.aclose()
    assert own_redis.clients() == 0


async def test_a_connection_in_steady_use_is_kept_while_the_burst_is_closed(own_redis: RedisServer) -> None:
    p = pool(own_redis)
    client = Redis(connection_pool=p)
    try:
        await burst(client, 40)
        assert own_redis.clients() == 40
        counts = []
        for _ in range(int(4 * IDLE_S / 0.1)):  # one command every 0.1 s, for 4 idle timeouts
            await client.ping()
            counts.append(own_redis.clients())
            await asyncio.sleep(0.1)
        assert counts[-1] == 1, counts  # the one in use stays open, the 39 others are closed
        assert max(counts[len(counts) // 2:]) == 1, counts
    finally:
        await client.aclose()  # type: ignore[attr-defined]
        await p.aclose()


async def test_the_pool_is_bounded(own_redis: RedisServer) -> None:
    """40 commands through a pool of 8: they wait their turn (up to ``timeout``), no ninth socket."""
    p = pool(own_redis, max_connections=8)
    client = Redis(connection_pool=p)
    peak = 0
    done = asyncio.Event()

    async def watch() -> None:
        nonlocal peak
        while not done.is_set():  # ends with the burst, bounded by its 2 s timeout per command
            peak = max(peak, await asyncio.to_thread(own_redis.clients))
            await asyncio.sleep(0.02)

    watcher = asyncio.create_task(watch())
    try:
        started = time.monotonic()
        await asyncio.wait_for(burst(client, 40), 10)
        elapsed = time.monotonic() - started
    finally:
        done.set()
        await watcher
        await client.aclose()  # type: ignore[attr-defined]
        await p.aclose()
    assert peak == 8, peak
    assert elapsed >= 5 * 0.2 - 0.05, elapsed  # 40 commands of 0.2 s through 8 connections


async def test_the_rate_limiter_pool_shrinks_after_a_burst(own_redis: RedisServer) -> None:
    """The same through the rate limiter, as the server uses it: 30 concurrent hits, then idle
    (with a 2 s Redis timeout: 30 connects at once on a loaded host can miss the 0.1 s default,
    and the limiter then counts in memory for 5 s)."""
    limiter = RateLimiter(own_redis.url, idle_timeout_s=IDLE_S, timeout_s=2.0)
    try:
        await asyncio.gather(*(limiter.hit("1000/minute", "test", str(i)) for i in range(30)))
        assert limiter.using_redis
        opened = own_redis.clients()
        assert opened > 1, opened
        await wait_until(lambda: own_redis.clients() == 0, timeout_s=IDLE_S * 1.5 + 2.0)
        await limiter.hit("1000/minute", "test", "after")  # and it still counts in Redis
        assert limiter.using_redis
    finally:
        await limiter.close()
