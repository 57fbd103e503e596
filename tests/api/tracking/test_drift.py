"""Drift: shift one feature of the traffic and only that feature is flagged."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from tests.fixtures.tracking import register_sum, serve


async def test_shifted_feature_is_flagged_alone(make_settings: Any, fake_flavors: None,
                                                tmp_path: Path) -> None:
    rng = np.random.default_rng(42)
    reference = rng.normal(loc=[0.0, 5.0, -3.0], scale=[1.0, 2.0, 0.5], size=(2000, 3))
    buf = io.StringIO()
    np.savetxt(buf, reference, delimiter=",", header="age,income,score", comments="")
    settings = make_settings(cache_enabled=False)
    async with serve(settings) as (services, client):
        await register_sum(services, tmp_path)
        r = await client.put("/api/v1/models/sum/versions/1/reference",
                             files={"file": ("train.csv", buf.getvalue().encode(), "text/csv")})
        assert r.status_code == 200, r.text
        assert [f["label"] for f in r.json()["features"]] == ["age", "income", "score"]

        before = (await client.get("/api/v1/models/sum/versions/1/drift")).json()
        assert before["verdict"] == "insufficient_data"

        traffic = rng.normal(loc=[0.0, 5.0, -3.0], scale=[1.0, 2.0, 0.5], size=(400, 3))
        traffic[:, 1] += 3.0  # income shifts by 1.5 standard deviations
        for chunk in np.array_split(traffic, 40):
            r = await client.post("/api/v1/models/sum/predict/batch", json={"samples": chunk.tolist()})
            assert r.status_code == 200
        await services.tracking.recorder.flush()

        drift = (await client.get("/api/v1/models/sum/versions/production/drift",
                                  params={"window": "24h"})).json()
        assert drift["verdict"] == "drift" and drift["rows"] == 400 and drift["requests"] == 40
        assert drift["drifted_features"] == ["input[1]"]
        verdicts = {f["label"]: f["verdict"] for f in drift["features"]}
        assert verdicts == {"age": "ok", "income": "drift", "score": "ok"}


async def test_reference_errors(make_settings: Any, fake_flavors: None, tmp_path: Path) -> None:
    async with serve(make_settings()) as (services, client):
        await register_sum(services, tmp_path)
        url = "/api/v1/models/sum/versions/1/reference"
        wrong_width = np.ones((10, 2))
        npy = io.BytesIO()
        np.save(npy, wrong_width)
        r = await client.put(url, files={"file": ("x.npy", npy.getvalue())})
        assert r.status_code == 400 and "3 features" in r.json()["detail"]
        r = await client.put(url, files={"file": ("x.csv", b"1,2,3\n4,5\n")})
        assert r.status_code == 400
        r = await client.put(url, files={"file": ("x.pkl", b"junk")})
        assert r.status_code == 400
        assert (await client.get("/api/v1/models/sum/versions/1/drift")).status_code == 404
        assert (await client.get("/api/v1/models/sum/versions/9/drift")).status_code == 404
        good = io.BytesIO()
        np.save(good, np.random.default_rng(0).normal(size=(50, 3)))
        assert (await client.put(url, files={"file": ("x.npy", good.getvalue())})).status_code == 200
