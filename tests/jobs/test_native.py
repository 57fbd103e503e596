"""Training jobs register XGBoost and LightGBM estimators in their native formats.

The served answers equal the registered booster's own answers on the whole dataset.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import lightgbm as lgb
import numpy as np
import pytest
import xgboost as xgb
from fastapi import FastAPI
from sklearn.datasets import load_diabetes, load_wine

from modelport.app import create_app
from modelport.errors import InvalidInput
from modelport.jobs.native import artifact_format, check_labels
from tests.jobs.support import wait_job

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture
async def api(make_settings: Any,
              admin_headers: dict[str, str]) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(make_settings(job_poll_s=0.2, job_workers=1))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api", headers=admin_headers) as c:
            yield app, c


async def train(client: httpx.AsyncClient, estimator: str, dataset: str, name: str) -> dict[str, Any]:
    r = await client.post("/api/v1/jobs/train", json={
        "dataset": dataset, "estimator": estimator, "hyperparameters": {"n_estimators": 8},
        "register_as": {"name": name}})
    assert r.status_code in (200, 201, 202), r.text
    job = await wait_job(client, r.json()["job_id"], timeout=180)
    assert job["state"] == "succeeded", job
    return job


async def test_boosters_are_registered_natively(api: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = api
    services = app.state.services
    x, _ = load_wine(return_X_y=True)
    await train(client, "XGBClassifier", "builtin:wine", "wine-xgb")
    info = await services.registry.resolve("wine-xgb", None)
    assert info.flavor == "xgboost" and info.artifact_key.endswith(".ubj")
    booster = xgb.Booster(model_file=str(services.store.local_path(info.artifact_key)))
    r = await client.post("/api/v1/models/wine-xgb/predict/batch", json={"samples": x.tolist()})
    assert r.status_code == 200, r.text
    proba = booster.inplace_predict(x)
    np.testing.assert_array_equal(np.asarray(r.json()["probabilities"]), proba.astype(np.float64))
    assert r.json()["predictions"] == proba.argmax(axis=1).tolist()

    xd, _ = load_diabetes(return_X_y=True)
    await train(client, "LGBMRegressor", "builtin:diabetes", "diabetes-lgb")
    info = await services.registry.resolve("diabetes-lgb", None)
    assert info.flavor == "lightgbm" and info.artifact_key.endswith(".txt")
    lgb_booster = lgb.Booster(model_file=str(services.store.local_path(info.artifact_key)))
    r = await client.post("/api/v1/models/diabetes-lgb/predict/batch", json={"samples": xd.tolist()})
    assert r.status_code == 200, r.text
    np.testing.assert_array_equal(np.asarray(r.json()["predictions"]), lgb_booster.predict(xd))


def test_formats_and_label_check() -> None:
    assert artifact_format("XGBRegressor") == ("xgboost", "model.ubj")
    assert artifact_format("LGBMClassifier") == ("lightgbm", "model.txt")
    assert artifact_format("RandomForestClassifier") == ("sklearn", "model.skops")
    check_labels("LGBMClassifier", "classification", np.array([0, 1, 2, 1]))
    check_labels("RandomForestClassifier", "classification", np.array(["a", "b"]))
    with pytest.raises(InvalidInput, match="0..k-1"):
        check_labels("LGBMClassifier", "classification", np.array(["a", "b"]))
    with pytest.raises(InvalidInput, match="0..k-1"):
        check_labels("XGBClassifier", "classification", np.array([1, 2]))
