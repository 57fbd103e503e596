"""The prediction cache through /api/v1: hits, alias moves, Cache-Control: no-cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fixtures.tracking import register_sum, serve


def same_answer(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("model", "version", "predictions")
    return all(a[k] == b[k] for k in keys)


async def test_hit_alias_move_and_no_cache(make_settings: Any, fake_flavors: None, tmp_path: Path) -> None:
    settings = make_settings()
    async with serve(settings) as (services, client):
        await register_sum(services, tmp_path, offset=0.0)
        await register_sum(services, tmp_path, offset=100.0, aliases=[])
        sum_runtime = (await services.manager.get(await services.registry.get_version("sum", 1))).runtime
        body = {"features": [1, 2, 3], "version": "production"}

        first = await client.post("/api/v1/models/sum/predict", json=body)
        calls = len(sum_runtime.calls)
        second = await client.post("/api/v1/models/sum/predict", json=body)
        assert first.status_code == second.status_code == 200
        assert same_answer(first.json(), second.json()) and second.json()["predictions"] == [6.0]
        assert len(sum_runtime.calls) == calls  # served from the cache, the model was not called

        await client.post("/api/v1/models/sum/predict", json=body, headers={"Cache-Control": "no-cache"})
        assert len(sum_runtime.calls) == calls + 1  # bypassed

        r = await client.put("/api/v1/models/sum/aliases/production", json={"version": 2})
        assert r.status_code == 200
        moved = (await client.post("/api/v1/models/sum/predict", json=body)).json()
        assert moved["version"] == 2 and moved["predictions"] == [106.0]

        text = (await client.get("/metrics")).text
        assert 'modelport_cache_lookups_total{backend="memory",result="hit"} 1.0' in text
        await services.tracking.recorder.flush()
        items = (await client.get("/api/v1/predictions", params={"limit": 10})).json()["items"]
        assert [i["cached"] for i in reversed(items)] == [False, True, False, False]
