"""Feedback must fit its prediction: one value per row (a scalar only for one row), and only
values the model could predict (the type of its ``predictions`` output)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import skops.io as sio
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from tests.fixtures.tracking import register_sum, serve


async def test_feedback_fits_the_prediction(make_settings: Any, fake_flavors: None, tmp_path: Path) -> None:
    x, y = load_iris(return_X_y=True)
    path = tmp_path / "iris.skops"
    sio.dump(LogisticRegression(max_iter=300).fit(x, y), path)
    async with serve(make_settings(cache_enabled=False)) as (services, client):
        await register_sum(services, tmp_path)
        await services.models.register_file("iris", "sklearn", path, aliases=["production"])
        r = await client.post("/api/v1/models/sum/predict/batch", json={"samples": [[1, 2, 3], [4, 5, 6]]},
                              headers={"X-Request-ID": "two-rows"})
        assert r.status_code == 200
        r = await client.post("/api/v1/models/iris/predict", json={"features": [5.1, 3.5, 1.4, 0.2]},
                              headers={"X-Request-ID": "iris-1"})
        assert r.status_code == 200

        r = await client.post("/api/v1/predictions/two-rows/feedback", json={"actual": 6})
        assert r.status_code == 400 and "one value per row" in r.json()["detail"]
        r = await client.post("/api/v1/predictions/two-rows/feedback", json={"actual": [6, "lots"]})
        assert r.status_code == 400 and "actual[1]" in r.json()["detail"]
        assert (await client.post("/api/v1/predictions/two-rows/feedback",
                                  json={"actual": [6, 15.5]})).status_code == 201

        for bad in ("setosa", 2.5, True):
            r = await client.post("/api/v1/predictions/iris-1/feedback", json={"actual": bad})
            assert r.status_code == 400 and "can predict" in r.json()["detail"], bad
        url = "/api/v1/predictions/iris-1/feedback"
        assert (await client.post(url, json={"actual": 0})).status_code == 201
        assert (await client.post(url, json={"actual": [2]})).status_code == 200

