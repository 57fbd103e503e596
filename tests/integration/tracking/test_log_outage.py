"""PostgreSQL goes away mid-run: predictions keep answering 200, rows spill to the JSONL file,
and once the database is back every row is in the table, exactly once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import asyncpg
import httpx

from tests.fixtures.tcp_proxy import TcpProxy
from tests.fixtures.tracking import principal_header, register_sum, serve


async def table_ids(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return [r["request_id"] for r in await conn.fetch("SELECT request_id FROM predictions")]
    finally:
        await conn.close()


async def until(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


async def send(client: httpx.AsyncClient, rid: str, i: int) -> None:
    r = await client.post("/api/v1/models/sum/predict", json={"features": [i, 1, 1]},
                          headers={"X-Request-ID": rid})
    assert r.status_code == 200, r.text
    assert r.json()["predictions"] == [i + 2]


async def test_postgres_outage_spills_then_replays(postgres_url: str, make_settings: Any,
                                                   fake_flavors: None, tmp_path: Path) -> None:
    target = urlparse(postgres_url.replace("+asyncpg", ""))
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    through_proxy = postgres_url.replace(f"{target.hostname}:{target.port or 5432}",
                                         f"127.0.0.1:{proxy.port}")
    direct = postgres_url.replace("+asyncpg", "")
    settings = make_settings(database_url=through_proxy, cache_enabled=False, log_flush_interval_s=0.1,
                             log_write_timeout_s=2.0, log_retry_max_s=0.5, registry_cache_ttl_s=0.5)
    spill_dir = settings.home / "spill"
    try:
        async with serve(settings, headers=principal_header("key-1", "predict")) as (services, client):
            await register_sum(services, tmp_path)
            spilled = services.metrics.log_rows.labels("spilled")
            for i in range(10):
                await send(client, f"before-{i}", i)
            await until(lambda: _count_is(direct, 10))

            await proxy.cut()
            for i in range(20):
                await send(client, f"during-{i}", i)
                await asyncio.sleep(0.05)  # spans several flushes and registry cache expiries
            await until(lambda: _true(spilled._value.get() == 20))
            assert len(await table_ids(direct)) == 10
            files = list(spill_dir.glob("predictions-*.jsonl"))
            assert files and sum(len(f.read_bytes().splitlines()) for f in files) == 20

            await proxy.restore()
            for i in range(10):
                await send(client, f"after-{i}", i)
            await until(lambda: _count_is(direct, 40))
            await until(lambda: _true(not list(spill_dir.glob("predictions-*.jsonl"))))
            assert services.metrics.log_rows.labels("dropped")._value.get() == 0
            # rows arriving before the writer's next retry spill too; every spilled row came back
            assert services.metrics.log_rows.labels("replayed")._value.get() == spilled._value.get() >= 20
        ids = await table_ids(direct)
        expected = {f"{phase}-{i}" for phase, n in (("before", 10), ("during", 20), ("after", 10))
                    for i in range(n)}
        assert len(ids) == 40 and set(ids) == expected
    finally:
        await proxy.close()


async def _count_is(dsn: str, n: int) -> bool:
    return len(await table_ids(dsn)) == n


async def _true(value: bool) -> bool:
    return value
