"""Guards: a canary that returns errors is rolled back by the background check, and the
history says so with the numbers that tripped it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from modelport.core.traffic import TrafficPolicy
from modelport.traffic.guard import verdict
from tests.conftest import write_fake_artifact
from tests.traffic.support import running, traffic_settings


async def test_guard_rolls_back_an_erroring_canary(
    any_database_url: str | None, tmp_path: Path, fake_flavors: None
) -> None:
    settings = traffic_settings(tmp_path / "home", any_database_url, traffic_guard_interval_s=0.2)
    async with running(settings) as (services, client):
        await services.models.register_file("g", "test-sum", write_fake_artifact(tmp_path, "a.json"),
                                            aliases=["production"])
        await services.models.register_file("g", "test-failing", write_fake_artifact(tmp_path, "b.json"))
        policy = {"routes": [{"version": 1, "weight": 70}, {"version": 2, "weight": 30}],
                  "guard": {"max_error_rate": 0.05, "min_requests": 20}}
        assert (await client.put("/api/v1/models/g/aliases/production", json=policy)).status_code == 200
        statuses = []
        for _ in range(120):
            r = await client.post("/api/v1/models/g/predict", json={"features": [1, 2, 3]})
            statuses.append(r.status_code)
            if r.status_code == 500 and statuses.count(500) >= 20:
                break
        assert statuses.count(500) >= 20  # the canary's failures reached callers until...
        async with asyncio.timeout(20):
            while (await client.get("/api/v1/models/g/aliases/production")).json()["traffic"]["guard"]:
                await asyncio.sleep(0.1)
        shown = (await client.get("/api/v1/models/g/aliases/production")).json()
        assert shown["traffic"]["routes"] == [{"version": 1, "weight": 100}]
        event = (await client.get("/api/v1/models/g/aliases/production/history")).json()[0]
        assert event["action"] == "guard_rollback" and event["actor"] == "guard"
        assert "canary v2 error rate 1.000 > 0.05" in event["reason"]
        for _ in range(30):  # ...the guard took it out
            r = await client.post("/api/v1/models/g/predict", json={"features": [1, 2, 3]})
            assert r.status_code == 200


def test_verdict_bounds() -> None:
    guarded = TrafficPolicy.model_validate({
        "routes": [{"version": 1, "weight": 9}, {"version": 2, "weight": 1}],
        "guard": {"max_error_rate": 0.1, "max_p99_ms": 200, "min_requests": 100}})
    assert verdict(guarded, 2, 99, 1.0, 1000) is None  # too few requests to judge
    assert verdict(guarded, 2, 100, 0.1, 200) is None  # on the bounds is within them
    assert "error rate" in (verdict(guarded, 2, 100, 0.11, 10) or "")
    assert "p99 250.0 ms > 200" in (verdict(guarded, 2, 100, 0.0, 250) or "")
    assert verdict(TrafficPolicy.single(1), 1, 10**6, 1.0, 10**6) is None
