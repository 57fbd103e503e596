"""Feedback is an idempotent upsert; performance compares it with the logged predictions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import skops.io as sio
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from tests.fixtures.tracking import principal_header, register_sum, serve


async def test_regressor_feedback_gives_mae_and_rmse(make_settings: Any, fake_flavors: None,
                                                     tmp_path: Path) -> None:
    settings = make_settings(cache_enabled=False)
    async with serve(settings) as (services, client):
        await register_sum(services, tmp_path)
        # predictions: 6, 15, and a 2-row batch [3, 30]
        for rid, rows in (("f1", [[1, 2, 3]]), ("f2", [[4, 5, 6]]), ("f3", [[1, 1, 1], [10, 10, 10]])):
            r = await client.post("/api/v1/models/sum/predict/batch", json={"samples": rows},
                                  headers={"X-Request-ID": rid})
            assert r.status_code == 200
        # feedback arrives before the background flush: the service flushes to find the row
        r = await client.post("/api/v1/predictions/f1/feedback", json={"actual": 7})
        assert r.status_code == 201 and r.json() == {"request_id": "f1", "actual": 7}
        again = await client.post("/api/v1/predictions/f1/feedback", json={"actual": 7})
        assert again.status_code == 200 and again.json() == r.json()
        for rid, actual in (("f2", 11), ("f3", [3, 26])):
            r = await client.post(f"/api/v1/predictions/{rid}/feedback", json={"actual": actual})
            assert r.status_code == 201
        # errors: unknown id, wrong length, missing field
        assert (await client.post("/api/v1/predictions/zz/feedback", json={"actual": 1})).status_code == 404
        assert (await client.post("/api/v1/predictions/f3/feedback", json={"actual": [1]})).status_code == 400
        assert (await client.post("/api/v1/predictions/f3/feedback", json={"nope": 1})).status_code == 422

        perf = (await client.get("/api/v1/models/sum/versions/1/performance", params={"window": "1h"})).json()
        errors = np.array([6 - 7, 15 - 11, 3 - 3, 30 - 26], dtype=float)
        assert perf["kind"] == "regression" and perf["samples"] == 4 and perf["requests"] == 3
        assert abs(perf["metrics"]["mae"] - np.abs(errors).mean()) < 1e-9
        assert abs(perf["metrics"]["rmse"] - np.sqrt((errors ** 2).mean())) < 1e-9
        text = (await client.get("/metrics")).text
        assert 'modelport_model_mae{model="sum",version="1"} 2.25' in text

        # the feedback shows on the logged row; a predict-only key cannot touch others' rows
        assert (await client.get("/api/v1/predictions/f2")).json()["feedback"] == {"actual": 11}
        other = principal_header("mallory", "predict")
        assert (await client.post("/api/v1/predictions/f2/feedback", json={"actual": 0},
                                  headers=other)).status_code == 404
        assert (await client.get("/api/v1/models/sum/versions/1/performance",
                                 params={"window": "forever"})).status_code == 400


async def test_classifier_accuracy(make_settings: Any, tmp_path: Path) -> None:
    x, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=500).fit(x, y)
    path = tmp_path / "iris.skops"
    sio.dump(model, path)
    settings = make_settings(cache_enabled=False)
    async with serve(settings) as (services, client):
        await services.models.register_file("flowers", "sklearn", path, aliases=["production"])
        rows = x[::10]
        predicted = model.predict(rows)
        r = await client.post("/api/v1/models/flowers/predict/batch", json={"samples": rows.tolist()},
                              headers={"X-Request-ID": "c1"})
        assert r.status_code == 200
        actual = predicted.tolist()
        actual[0] = (actual[0] + 1) % 3
        actual[1] = (actual[1] + 1) % 3
        r = await client.post("/api/v1/predictions/c1/feedback", json={"actual": actual})
        assert r.status_code == 201
        perf = (await client.get("/api/v1/models/flowers/versions/production/performance")).json()
        assert perf["kind"] == "classification" and perf["samples"] == len(rows)
        assert abs(perf["metrics"]["accuracy"] - (len(rows) - 2) / len(rows)) < 1e-9
