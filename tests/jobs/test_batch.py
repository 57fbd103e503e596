"""Batch predictions write one probability column per class beside the labels."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from tests.jobs.support import wait_job

pytestmark = pytest.mark.timeout(180)


async def test_probabilities_beside_labels(client: httpx.AsyncClient) -> None:
    rows = "sepal_l,sepal_w,petal_l,petal_w\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n5.9,3.0,4.2,1.5\n"
    up = await client.post("/api/v1/datasets", files={"file": ("iris.csv", rows.encode())})
    assert up.status_code == 201, up.text
    r = await client.post("/api/v1/jobs/batch-predict", json={"model": "iris", "dataset": up.json()["id"]})
    job = await wait_job(client, r.json()["job_id"])
    assert job["state"] == "succeeded", job
    out = await client.get(f"/api/v1/datasets/{job['output_dataset']}/download")
    table = list(csv.DictReader(io.StringIO(out.text)))
    assert list(table[0])[4:] == ["predictions", "proba_0", "proba_1", "proba_2"]
    features = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]
    answer = (await client.post("/api/v1/models/iris/predict", json={"features": features})).json()
    for row, proba, label in zip(table, answer["probabilities"], answer["predictions"], strict=True):
        assert int(row["predictions"]) == label
        assert [float(row[f"proba_{k}"]) for k in range(3)] == pytest.approx(proba)
