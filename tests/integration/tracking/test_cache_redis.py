"""The Redis prediction cache: hits across requests, and a Redis killed mid-run costs nothing but
the cache (every request still 200, quickly, with the circuit breaker open)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.tracking import register_sum, serve


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A private redis-server on a free port (the shared instance is never touched)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not installed")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0", proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(5)


async def test_redis_hit_then_outage_degrades_to_no_cache(
    own_redis: tuple[str, subprocess.Popen[bytes]], make_settings: Any, fake_flavors: None, tmp_path: Path
) -> None:
    url, proc = own_redis
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

        proc.kill()
        proc.wait(5)
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
