"""Jobs on real Celery workers (``modelport worker`` subprocesses) on Redis and on RabbitMQ.

Workers and the in-test API app share a fresh PostgreSQL database and one artifact directory;
queue names carry a unique suffix so parallel runs never share a queue.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelport.app import create_app
from tests.conftest import mint_admin_headers
from tests.fixtures.redis_server import RedisServer
from tests.jobs.support import (
    IRIS_TRAIN,
    Worker,
    parent_pid,
    slow_train,
    start_worker,
    wait_job,
    wait_ready,
    worker_env,
)

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture(params=["redis", "rabbitmq"])
def broker_url(request: pytest.FixtureRequest) -> str:
    if request.param == "redis":
        url: str = request.getfixturevalue("redis_url")
        return url.rsplit("/", 1)[0] + "/13"  # a Redis DB of our own
    amqp: str = request.getfixturevalue("rabbitmq_url")
    return amqp


@pytest.fixture
def job_settings(tmp_path: Path, postgres_url: str, broker_url: str) -> dict[str, Any]:
    return {"home": tmp_path / "home", "database_url": postgres_url, "jobs_engine": "celery",
            "broker_url": broker_url, "job_queue_suffix": f"-{uuid.uuid4().hex[:8]}",
            "job_lease_s": 3, "job_poll_s": 0.3, "demo_models": False, "log_format": "console"}


@pytest.fixture
async def api(make_settings: Any, job_settings: dict[str, Any]
              ) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    app = create_app(make_settings(**job_settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = await mint_admin_headers(app.state.services)
        async with httpx.AsyncClient(transport=transport, base_url="http://api",
                                     headers=headers) as client:
            yield app, client


@pytest.fixture
def workers(tmp_path: Path, job_settings: dict[str, Any]) -> Any:
    started: list[Worker] = []

    def start(n: int = 1) -> list[Worker]:
        new = [start_worker(tmp_path, worker_env(**job_settings)) for _ in range(n)]
        started.extend(new)
        return new

    yield start
    for w in started:
        w.stop()


async def versions_of(app: Any, name: str) -> list[int]:
    model = await app.state.services.registry.get_model(name)
    return [v.version for v in model.versions]


async def test_train_serve_cancel_and_validation(api: Any, workers: Any) -> None:
    app, client = api
    (worker,) = workers(1)

    # bad hyperparameters never reach the queue
    bad = {**IRIS_TRAIN, "hyperparameters": {"n_estimators": "many"}}
    r = await client.post("/api/v1/jobs/train", json=bad)
    assert r.status_code == 422, r.text
    r = await client.post("/api/v1/jobs/train", json={**IRIS_TRAIN, "hyperparameters": {"n_trees": 5}})
    assert r.status_code == 422 and "n_trees" in r.json()["detail"]
    assert (await client.get("/api/v1/jobs")).json()["total"] == 0

    await wait_ready(worker)
    # long enough (a few seconds) that polls see it running even when this test process is
    # starved on a loaded host; at 150 stages one CI run's first poll already found it done
    body = slow_train("bc", n_estimators=400) | {"register_as": {"name": "bc", "alias": "production"}}
    headers = {"Idempotency-Key": "train-bc-1"}
    r1 = await client.post("/api/v1/jobs/train", json=body, headers=headers)
    r2 = await client.post("/api/v1/jobs/train", json=body, headers=headers)
    assert r1.status_code == r2.status_code == 202
    assert r1.json()["job_id"] == r2.json()["job_id"] and r2.json()["created"] is False
    seen: list[tuple[str, int]] = []
    job = await wait_job(client, r1.json()["job_id"], seen=seen)
    assert job["state"] == "succeeded", (job, worker.output()[-3000:])
    assert any(state == "running" and 0 < progress < 100 for state, progress in seen), seen
    assert job["progress"] == 100 and job["metrics"]["accuracy"] > 0.85 and "roc_auc" in job["metrics"]
    assert job["model"] == {"name": "bc", "version": 1}
    assert job["started_at"] and job["finished_at"] >= job["started_at"]
    assert (await client.get("/api/v1/jobs")).json()["total"] == 1

    # the new version serves through the API
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    r = await client.post("/api/v1/models/bc/predict/batch", json={"samples": x[:50].tolist()})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1
    assert sum(int(p == t) for p, t in zip(r.json()["predictions"], y[:50], strict=True)) >= 45

    # cancel a running job: it stops at its next step and registers nothing
    r = await client.post("/api/v1/jobs/train", json=slow_train("bc-cancel", n_estimators=1500))
    job_id = r.json()["job_id"]
    await wait_job(client, job_id, states=("running",))
    r = await client.delete(f"/api/v1/jobs/{job_id}")
    assert r.status_code == 200 and r.json()["cancel_requested"] is True
    job = await wait_job(client, job_id)
    assert job["state"] == "cancelled" and job["model"] is None
    assert (await client.get("/api/v1/models/bc-cancel")).status_code == 404


@pytest.fixture
def redis_job_settings(tmp_path: Path, postgres_url: str, own_redis: RedisServer) -> dict[str, Any]:
    return {"home": tmp_path / "home", "database_url": postgres_url, "jobs_engine": "celery",
            "broker_url": own_redis.url, "job_queue_suffix": f"-{uuid.uuid4().hex[:8]}",
            "job_lease_s": 3, "job_poll_s": 0.3, "demo_models": False, "log_format": "console"}


async def test_broker_outage_and_worker_kills(make_settings: Any, redis_job_settings: dict[str, Any],
                                              own_redis: RedisServer, tmp_path: Path) -> None:
    """Redis killed and restarted; then kill -9 of a pool child, then of a whole worker."""
    app = create_app(make_settings(**redis_job_settings))
    w1, w2 = (start_worker(tmp_path, worker_env(**redis_job_settings)) for _ in range(2))
    try:
        async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api"
        ) as client:
            client.headers.update(await mint_admin_headers(app.state.services))
            await wait_ready(w1, w2)
            repo = app.state.services.jobs.repo

            # the broker dies while the workers are idle; a job submitted meanwhile waits in the outbox
            own_redis.kill()
            r = await client.post("/api/v1/jobs/train", json=IRIS_TRAIN)
            assert r.status_code == 202
            during = r.json()["job_id"]
            await asyncio.sleep(1.5)
            assert [row.job_id for row in await repo.pending_outbox()] == [during]
            assert (await repo.get(during)).state == "queued"
            own_redis.start()
            job = await wait_job(client, during, timeout=90)
            assert job["state"] == "succeeded", (job, w1.output()[-2000:])
            assert await repo.pending_outbox() == []

            # kill -9 of the pool child running a job: retried, one version
            r = await client.post("/api/v1/jobs/train", json=slow_train("killed-child"))
            job_id = r.json()["job_id"]
            await wait_job(client, job_id, states=("running",))
            row = await repo.get(job_id)
            os.kill(int(row.lease_owner.split(":")[1]), signal.SIGKILL)
            job = await wait_job(client, job_id, timeout=90)
            assert job["state"] == "succeeded" and job["attempts"] >= 2, job
            assert await versions_of(app, "killed-child") == [1]

            # kill -9 of the whole worker running a job; the other worker finishes it
            r = await client.post("/api/v1/jobs/train", json=slow_train("killed-worker"))
            job_id = r.json()["job_id"]
            await wait_job(client, job_id, states=("running",))
            row = await repo.get(job_id)
            main_pid = parent_pid(int(row.lease_owner.split(":")[1]))
            victim = next(w for w in (w1, w2) if w.process.pid == main_pid)
            victim.kill_all()
            job = await wait_job(client, job_id, timeout=90)
            assert job["state"] == "succeeded" and job["attempts"] >= 2, job
            assert await versions_of(app, "killed-worker") == [1]
            found = await app.state.services.registry.find_by_job(job_id)
            assert found is not None and found.version == 1
    finally:
        for w in (w1, w2):
            w.stop()
