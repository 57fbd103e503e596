"""Rate limits through Redis: shared by replicas; an outage or a hung Redis falls back to local
memory limits within ~100 ms, logged, never an error."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

import pytest

from modelport.errors import RateLimited
from modelport.ratelimit import RateLimiter
from tests.fixtures.redis_server import RedisServer, free_port


async def hits(limiter: RateLimiter, rate: str, ident: str, n: int) -> list[bool]:
    out = []
    for _ in range(n):
        try:
            await limiter.hit(rate, "test", ident)
            out.append(True)
        except RateLimited:
            out.append(False)
    return out


@pytest.mark.services
async def test_replicas_share_limits(redis_url: str) -> None:
    a, b = RateLimiter(redis_url), RateLimiter(redis_url)
    ident = uuid.uuid4().hex
    try:
        assert await hits(a, "4/minute", ident, 2) == [True, True]
        assert await hits(b, "4/minute", ident, 3) == [True, True, False]
    finally:
        await a.close()
        await b.close()


async def test_outage_falls_back_to_memory(own_redis: RedisServer,
                                           caplog: pytest.LogCaptureFixture) -> None:
    url = own_redis.url
    limiter = RateLimiter(url)
    try:
        assert await hits(limiter, "3/minute", "k", 1) == [True]
        assert limiter.using_redis
        own_redis.kill()
        started = time.perf_counter()
        with caplog.at_level(logging.WARNING):
            result = await hits(limiter, "3/minute", "k", 5)
        assert time.perf_counter() - started < 1.0
        assert result == [True, True, True, False, False]  # local limits still apply
        assert not limiter.using_redis
        warnings = [r for r in caplog.records if "local memory limits" in r.getMessage()]
        assert len(warnings) == 1  # logged once per outage, not per request
    finally:
        await limiter.close()


async def test_hung_redis_costs_about_100ms() -> None:
    """A server that accepts connections and never answers (redis-py's defaults stall here)."""
    writers: list[asyncio.StreamWriter] = []

    async def never_answer(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        writers.append(w)

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    limiter = RateLimiter(f"redis://127.0.0.1:{port}/0")
    try:
        started = time.perf_counter()
        assert await hits(limiter, "3/minute", "k", 1) == [True]
        assert time.perf_counter() - started < 0.6
        started = time.perf_counter()
        assert await hits(limiter, "3/minute", "k", 2) == [True, True]  # no retry while marked down
        assert time.perf_counter() - started < 0.05
    finally:
        await limiter.close()
        for w in writers:
            w.close()
        server.close()
        await server.wait_closed()


async def test_predictions_survive_a_dead_redis(make_settings: Any, fake_flavors: None,
                                                tmp_path: Any) -> None:
    import httpx

    from tests.fixtures.secured import PREDICT_BODY, PREDICT_PATH, admin_key, sum_app

    settings = make_settings(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    async with sum_app(settings, tmp_path) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t",
                                     headers={"X-API-Key": admin_key(app)}) as c:
            for _ in range(3):
                assert (await c.post(PREDICT_PATH, json=PREDICT_BODY)).status_code == 200
