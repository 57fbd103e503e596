"""A sick PostgreSQL never hangs the serving path. A private server (never the shared one) is
hung with SIGSTOP for a few seconds under load, with warm caches whose TTLs expire during the
hang: predictions keep p99 under 300 ms with no 5xx. Then it is stopped: a warm credential
still answers (within the outage grace), a cold one gets 503 with Retry-After, never 500."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from modelport.app import create_app
from modelport.bootstrap import Services, build_services
from tests.conftest import mint_admin_headers, write_fake_artifact
from tests.fixtures.private_postgres import PrivatePostgres

pytestmark = pytest.mark.chaos
RATE = 50  # requests per second
BODY = {"features": [1.0, 2.0, 3.0]}


async def load(client: httpx.AsyncClient, headers: dict[str, str], seconds: float) -> list[tuple[int, float]]:
    """``RATE`` requests a second, each on its own task: (status, seconds) of each."""
    results: list[tuple[int, float]] = []

    async def one() -> None:
        started = time.perf_counter()
        r = await client.post("/api/v1/models/sum/predict", json=BODY, headers=headers)
        results.append((r.status_code, time.perf_counter() - started))

    tasks = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        tasks.append(asyncio.create_task(one()))
        await asyncio.sleep(1 / RATE)
    await asyncio.gather(*tasks)
    return results


async def test_hung_then_stopped_postgres(pg: PrivatePostgres, make_settings: Any, fake_flavors: None,
                                          tmp_path: Path) -> None:
    settings = make_settings(database_url=pg.url, cache_enabled=False, key_cache_ttl_s=0.5,
                             db_lookup_timeout_s=0.25,
                             registry_cache_ttl_s=0.5, log_write_timeout_s=1.0, log_flush_interval_s=0.2)
    services: Services = build_services(settings)
    app = create_app(services=services)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=10) as client:
        await services.models.register_file("sum", "test-sum", write_fake_artifact(tmp_path, n_features=3),
                                            aliases=["production"])
        headers = await mint_admin_headers(services, ["predict", "models:read"])
        cold = await mint_admin_headers(services, ["predict"])  # never used before the stop
        warm = await load(client, headers, 1.0)
        assert {s for s, _ in warm} == {200}

        pg.hang()
        try:
            hung = await load(client, headers, 4.0)  # both caches expire several times meanwhile
        finally:
            pg.resume()
        statuses = {s for s, _ in hung}
        latencies = np.array([t for _, t in hung])
        assert statuses == {200}, statuses
        # a request pays at most one lookup timeout (0.25 s) while a cache refreshes against the
        # hung database; the rest is the host's scheduling (a p99 of 0.30 s once, on a slow CI host)
        assert float(np.percentile(latencies, 99)) < 0.25 + 0.2, np.percentile(latencies, [50, 90, 99, 100])

        pg.stop()
        await asyncio.sleep(1.0)  # past both cache TTLs
        stopped = await load(client, headers, 1.0)
        assert {s for s, _ in stopped} == {200}, "a warm credential answers within the outage grace"
        r = await client.post("/api/v1/models/sum/predict", json=BODY, headers=cold)
        assert r.status_code == 503 and r.headers["retry-after"] == "1", r.text
        assert r.json()["request_id"]
        r = await client.get("/api/v1/models", headers=headers)  # a plain query: 503 too
        assert r.status_code == 503 and "retry-after" in r.headers, r.text
        pg.start()  # the lifespan's shutdown flush finds its database again
