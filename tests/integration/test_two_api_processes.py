"""Two API processes sharing PostgreSQL, Redis and the artifact store see each other's alias moves."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import skops.io as sio
from sklearn.datasets import load_iris
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

from modelport.app import create_app
from tests.conftest import mint_admin_headers

pytestmark = [pytest.mark.services]


async def test_alias_moved_on_one_replica_is_served_by_the_other(
    make_settings: Any, postgres_url: str, redis_url: str, tmp_path: Path,
) -> None:
    shared = {"database_url": postgres_url, "redis_url": redis_url, "artifact_url": str(tmp_path / "store"),
              "jobs_engine": "celery", "broker_url": redis_url, "job_queue_suffix": "-unused",
              "registry_cache_ttl_s": 2.0}
    x, y = load_iris(return_X_y=True)
    good = tmp_path / "good.skops"
    sio.dump(LogisticRegression(max_iter=500).fit(x, y), good)
    constant = tmp_path / "constant.skops"
    sio.dump(DummyClassifier(strategy="constant", constant=2).fit(x, y), constant)

    app_a = create_app(make_settings(home=tmp_path / "a", **shared))
    app_b = create_app(make_settings(home=tmp_path / "b", **shared))
    async with app_a.router.lifespan_context(app_a), app_b.router.lifespan_context(app_b):
        admin_headers = await mint_admin_headers(app_a.state.services)
        a = httpx.AsyncClient(transport=httpx.ASGITransport(app=app_a), base_url="http://a",
                              headers=admin_headers)
        b = httpx.AsyncClient(transport=httpx.ASGITransport(app=app_b), base_url="http://b",
                              headers=admin_headers)
        async with a, b:
            for path, alias in ((good, "production"), (constant, None)):
                data = {"name": "iris", "flavor": "sklearn"} | ({"alias": alias} if alias else {})
                with path.open("rb") as fh:
                    r = await a.post("/api/v1/models", data=data, files={"file": (path.name, fh)})
                assert r.status_code == 201, r.text
            row = {"features": [5.1, 3.5, 1.4, 0.2]}
            r = await b.post("/api/v1/models/iris/predict", json=row)
            assert r.status_code == 200 and r.json()["version"] == 1 and r.json()["predictions"] == [0]

            r = await a.put("/api/v1/models/iris/aliases/production", json={"version": 2})
            assert r.status_code == 200
            moved_at = time.monotonic()
            while True:
                r = await b.post("/api/v1/models/iris/predict", json=row)
                assert r.status_code == 200
                if r.json()["version"] == 2:
                    break
                assert time.monotonic() - moved_at < 5, "replica B still serves version 1 after 5 s"
                await asyncio.sleep(0.1)
            assert r.json()["predictions"] == [2]
            assert time.monotonic() - moved_at <= 2.0 + 1.5  # within the cache TTL (plus load time)
