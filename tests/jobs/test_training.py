"""``random_state`` seeds the estimator as well as the split: identical jobs, identical models.

The module's tests share one server (and so one job worker process, started once); each trains
models of its own names."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from modelport.app import create_app
from tests.conftest import build_test_settings, first_start_admin_headers
from tests.jobs.support import wait_job

pytestmark = [pytest.mark.timeout(180), pytest.mark.asyncio(loop_scope="module")]
ROWS = [[13.0, 2.0, 2.4, 19.0, 100.0, 2.5, 2.5, 0.3, 1.6, 5.0, 1.0, 3.0, 1000.0],
        [12.3, 1.7, 2.1, 19.0, 80.0, 1.7, 1.5, 0.4, 1.2, 3.0, 1.0, 2.5, 500.0]]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    settings = build_test_settings(tmp_path_factory.mktemp("training") / "home")
    headers = await first_start_admin_headers(settings)
    app = create_app(settings)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers=headers) as c:
        yield c


async def _train(client: httpx.AsyncClient, name: str, **extra: object) -> dict[str, object]:
    body = {"dataset": "builtin:wine", "estimator": "RandomForestClassifier",
            "hyperparameters": {"n_estimators": 15, "max_features": 0.5}, "register_as": {"name": name},
            **extra}
    r = await client.post("/api/v1/jobs/train", json=body)
    assert r.status_code == 202, r.text
    job = await wait_job(client, r.json()["job_id"])
    assert job["state"] == "succeeded", job
    return job


async def test_identical_jobs_give_identical_metrics_and_predictions(client: httpx.AsyncClient) -> None:
    first = await _train(client, "wine-a", random_state=7)
    second = await _train(client, "wine-b", random_state=7)
    other = await _train(client, "wine-c", random_state=8)
    assert first["metrics"] == second["metrics"]
    answers = []
    for name in ("wine-a", "wine-b", "wine-c"):
        r = await client.post(f"/api/v1/models/{name}/predict", json={"features": ROWS})
        answers.append(r.json()["probabilities"])
    assert answers[0] == answers[1]
    assert answers[2] != answers[0] or other["metrics"] != first["metrics"]  # another seed, another forest


async def test_an_explicit_hyperparameter_wins(client: httpx.AsyncClient) -> None:
    job = await _train(client, "wine-d", random_state=7,
                       hyperparameters={"n_estimators": 5, "random_state": 3})
    same = await _train(client, "wine-e", random_state=99,
                        hyperparameters={"n_estimators": 5, "random_state": 3})
    assert job["metrics"] != {} and job["params"]["hyperparameters"]["random_state"] == 3
    r1 = await client.post("/api/v1/models/wine-d/predict", json={"features": ROWS})
    r2 = await client.post("/api/v1/models/wine-e/predict", json={"features": ROWS})
    assert same["state"] == "succeeded"
    assert r1.json()["probabilities"] != [] and r1.json()["predictions"] == r2.json()["predictions"]
