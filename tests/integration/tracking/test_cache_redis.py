"""The Redis prediction cache: hits across requests, and a Redis killed mid-run costs nothing but
the cache (every request still 200, quickly, with the circuit breaker open)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from tests.fixtures.redis_server import RedisServer
from tests.fixtures.tracking import register_sum, serve


async def test_redis_hit_then_outage_degrades_to_no_cache(
    own_redis: RedisServer, make_settings: Any, fake_flavors: None, tmp_path: Path
) -> None:
    url = own_redis.url
    settings = make_settings(redis_url=url)
    async with serve(settings) as (services, client):
        assert services.cache is not None and services.cache.backend == "redis"
        await register_sum(services, tmp_path)
        runtime = (await services.manager.get(await services.registry.get_version("sum", 1))).runtime
        body = {"features": [1, 2, 3]}
        first = await client.post("/api/v1/models/sum/predict", json=body)
        await asyncio.sleep(0.2)  # the cache write happens off the request path
        calls = len(runtime.calls)
        second = await client.post("/api/v1/models/sum/predict", json=body)
        assert first.status_code == second.status_code == 200
        assert second.json()["predictions"] == first.json()["predictions"] == [6.0]
        assert len(runtime.calls) == calls  # answered from Redis
        metrics = services.metrics
        assert metrics.cache_lookups.labels("redis", "hit")._value.get() == 1

        own_redis.kill()
        slowest = 0.0
        for i in range(20):
            started = time.perf_counter()
            r = await client.post("/api/v1/models/sum/predict", json={"features": [i, 0, 0]})
            slowest = max(slowest, time.perf_counter() - started)
            assert r.status_code == 200 and r.json()["predictions"] == [float(i)]
        r = await client.post("/api/v1/models/sum/predict", json=body)
        assert r.status_code == 200 and r.json()["predictions"] == [6.0]
        assert slowest < 1.0
        assert metrics.cache_circuit_open.labels("redis")._value.get() == 1
        assert 1 <= metrics.cache_errors.labels("redis")._value.get() <= 10  # the breaker stopped trying
