"""The embedded engine: worker processes inside the server, the database as the queue."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from fastapi import FastAPI

from modelport.app import create_app
from tests.fixtures.tracking import count_rows
from tests.jobs.support import IRIS_TRAIN, slow_train, wait_job

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def _client(app: FastAPI, headers: dict[str, str]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api", headers=headers)


@pytest.fixture
def job_settings(make_settings: Any) -> Any:
    return make_settings(job_lease_s=3, job_poll_s=0.2, job_workers=1)


@pytest.fixture
async def api(job_settings: Any,
              admin_headers: dict[str, str]) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(job_settings)
    async with app.router.lifespan_context(app), _client(app, admin_headers) as client:
        yield app, client


async def test_train_predict_batch_cancel_and_crash(api: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = api
    r = await client.post("/api/v1/jobs/train", json={**IRIS_TRAIN, "estimator": "os.system"})
    assert r.status_code == 422 and "unknown estimator" in r.json()["detail"]

    # a slow job occupies the only worker; a second one waits and is cancelled while queued
    slow = (await client.post("/api/v1/jobs/train", json=slow_train("slow"))).json()["job_id"]
    queued = (await client.post("/api/v1/jobs/train", json=IRIS_TRAIN)).json()["job_id"]
    r = await client.delete(f"/api/v1/jobs/{queued}")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    assert (await client.delete(f"/api/v1/jobs/{queued}")).status_code == 409

    # kill -9 of the worker process during training: the job is retried and registers once
    await wait_job(client, slow, states=("running",))
    row = await app.state.services.jobs.repo.get(slow)
    os.kill(int(row.lease_owner.split(":")[1]), signal.SIGKILL)
    job = await wait_job(client, slow, timeout=120)
    assert job["state"] == "succeeded" and job["attempts"] == 2, job
    model = await app.state.services.registry.get_model("slow")
    assert [v.version for v in model.versions] == [1] and model.versions[0].job_id == slow

    # cancelling a running job terminates its process at once
    doomed = (await client.post("/api/v1/jobs/train", json=slow_train("doomed", 3000))).json()["job_id"]
    await wait_job(client, doomed, states=("running",))
    r = await client.delete(f"/api/v1/jobs/{doomed}")
    assert r.json()["state"] == "cancelled"
    assert (await client.get("/api/v1/models/doomed")).status_code == 404

    # train, serve, batch-predict, download
    job_id = (await client.post("/api/v1/jobs/train", json={
        **IRIS_TRAIN, "register_as": {"name": "iris-rf", "alias": "production"}})).json()["job_id"]
    job = await wait_job(client, job_id, timeout=120)
    assert job["state"] == "succeeded", job
    assert set(job["metrics"]) == {"accuracy", "f1", "roc_auc"}
    r = await client.post("/api/v1/models/iris-rf/predict", json={"features": [5.1, 3.5, 1.4, 0.2]})
    assert r.status_code == 200 and r.json()["predictions"] == [0] and r.json()["version"] == 1

    r = await client.post("/api/v1/jobs/batch-predict", json={"model": "iris-rf", "dataset": "builtin:iris"})
    assert r.status_code == 202
    batch_id = r.json()["job_id"]
    job = await wait_job(client, batch_id, timeout=60)
    assert job["state"] == "succeeded", job
    # the job's predictions are in the log, with the job as principal, once the job is done (#17)
    logged = await count_rows(app.state.services.settings, protocol="batch", principal=f"job:{batch_id}")
    assert logged >= 1
    output = (await client.get(f"/api/v1/datasets/{job['output_dataset']}")).json()
    assert job["owner"] and output["owner"] == job["owner"]  # the output belongs to the job's owner
    r = await client.get(f"/api/v1/datasets/{job['output_dataset']}/download")
    assert r.status_code == 200
    table = pacsv.read_csv(pa.BufferReader(r.content))
    assert table.num_rows == 150  # labels, then one probability column per class (#19)
    assert table.column_names[-4:] == ["predictions", "proba_0", "proba_1", "proba_2"]
    agreement = sum(int(p == t) for p, t in zip(table.column("predictions").to_pylist(),
                                                table.column("target").to_pylist(), strict=True))
    assert agreement >= 140

    listing = (await client.get("/api/v1/jobs", params={"state": "succeeded", "limit": 2})).json()
    assert listing["total"] == 3 and len(listing["items"]) == 2


async def test_queued_job_runs_after_restart(job_settings: Any, admin_headers: dict[str, str]) -> None:
    """Stop the server while one job runs and one waits; the next server runs both, once each."""
    app = create_app(job_settings)
    async with app.router.lifespan_context(app), _client(app, admin_headers) as client:
        running = (await client.post("/api/v1/jobs/train", json=slow_train("slow", 3000))).json()["job_id"]
        await wait_job(client, running, states=("running",), timeout=120)
        queued = (await client.post("/api/v1/jobs/train", json=IRIS_TRAIN)).json()["job_id"]
    assert await _job_state(job_settings, queued) == "queued"
    assert await _job_state(job_settings, running) == "queued"  # given back at shutdown

    more_workers = job_settings.jobs.model_copy(update={"workers": 2})
    job_settings = job_settings.model_copy(update={"jobs": more_workers})
    app = create_app(job_settings)
    async with app.router.lifespan_context(app), _client(app, admin_headers) as client:
        job = await wait_job(client, queued, timeout=120)
        assert job["state"] == "succeeded" and job["attempts"] == 1, job
        assert job["model"] == {"name": "iris-rf", "version": 1}
        r = await client.delete(f"/api/v1/jobs/{running}")  # no need to wait for 3000 stages
        assert r.json()["state"] == "cancelled"
        assert r.json()["attempts"] == 1  # the shutdown did not use up an attempt


async def _job_state(settings: Any, job_id: str) -> str:
    from modelport.bootstrap import build_services

    services = build_services(settings)
    try:
        return (await services.jobs.get(job_id)).state
    finally:
        await services.close()
