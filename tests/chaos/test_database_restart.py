"""PostgreSQL restarted under load loses no prediction and fails no request (#17). A private
server (never the shared one) is stopped (fast shutdown: every connection dropped) and started
again while 50 requests a second arrive with warm caches: every request answers 200 within a
bounded latency, and every answered prediction's log row reaches the database exactly once
after the restart, with nothing left in the journal or the spill directory."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from modelport.app import create_app
from modelport.bootstrap import build_services
from tests.chaos.conftest import Result, paced, summary
from tests.conftest import mint_admin_headers, write_fake_artifact
from tests.fixtures.private_postgres import PrivatePostgres

pytestmark = pytest.mark.chaos
RATE = 50  # requests per second


async def logged_ids(pg: PrivatePostgres) -> list[str]:
    conn = await asyncpg.connect(pg.url.replace("+asyncpg", ""))
    try:
        return [r["request_id"] for r in await conn.fetch("SELECT request_id FROM predictions")]
    finally:
        await conn.close()


async def test_postgres_restarted_under_load(pg: PrivatePostgres, make_settings: Any, fake_flavors: None,
                                             tmp_path: Path) -> None:
    settings = make_settings(database_url=pg.url, cache_enabled=False, db_lookup_timeout_s=0.25,
                             key_cache_ttl_s=0.5, registry_cache_ttl_s=0.5, log_flush_interval_s=0.2)
    services = build_services(settings)
    app = create_app(services=services)
    answered: dict[str, float] = {}  # request id: when it was sent
    # a request waits for a credential or registry lookup at most db_lookup_timeout_s (then the
    # last good value answers): 30-130 ms p99 here, ~540 ms with a core taken by a busy loop
    bound_ms = (settings.database.lookup_timeout_s + 0.5) * 1000
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=10) as client:
        await services.models.register_file("sum", "test-sum", write_fake_artifact(tmp_path, n_features=3),
                                            aliases=["production"])
        headers = await mint_admin_headers(services, ["predict"])
        verdicts = []
        for attempt in range(2):  # a busy shared machine can spoil one latency sample, never the rest

            async def predict(i: int, attempt: int = attempt) -> int:
                rid, sent = f"restart-{attempt}-{i}", time.monotonic()
                r = await client.post("/api/v1/models/sum/predict", json={"features": [float(i), 1.0, 2.0]},
                                      headers={**headers, "X-Request-ID": rid})
                if r.status_code == 200:
                    answered[rid] = sent
                return r.status_code

            load = asyncio.create_task(paced(predict, RATE, 6.0))
            await asyncio.sleep(1.5)  # warm: caches filled, rows flowing
            down_at = time.monotonic()
            await asyncio.to_thread(pg.stop)
            await asyncio.to_thread(pg.start)
            up_at = time.monotonic()
            results: list[Result] = await load
            s = summary(results)
            during = sum(1 for sent in answered.values() if down_at <= sent <= up_at)
            print(f"postgres restarted ({up_at - down_at:.2f} s down, {during} requests sent meanwhile) "
                  "under load:", s)
            assert s["statuses"] == {200: len(results)}, s
            assert during >= RATE * 0.2, during  # the load went on through the restart
            verdicts.append(s)
            if s["p99_ms"] < bound_ms and s["max_ms"] < 2000:
                break
        else:
            raise AssertionError(f"p99 over {bound_ms:.0f} ms or a request over 2 s in both runs: {verdicts}")

        # the writer backs off while the database is down, then writes what it held
        ended = time.monotonic()
        while not set(answered) <= set(await logged_ids(pg)):
            assert time.monotonic() - ended < 30, "answered predictions still not logged 30 s after the load"
            await asyncio.sleep(0.5)
        spilled = services.metrics.registry.get_sample_value(
            "modelport_prediction_log_rows_total", {"outcome": "spilled"}) or 0
        print(f"all {len(answered)} rows logged {time.monotonic() - ended:.1f} s after the load ended "
              f"({spilled:.0f} by way of the spill file)")
    ids = await logged_ids(pg)
    assert len(ids) == len(set(ids)), "a row written twice"
    lost = set(answered) - set(ids)
    assert not lost, f"{len(lost)} of {len(answered)} answered predictions have no row"
    home = settings.home
    assert not list((home / "journal").glob("predictions-*.jsonl"))
    assert not list((home / "spill").glob("predictions-*.jsonl"))
