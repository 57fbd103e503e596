"""Training progress follows the fit (rounds, trees), and cancelling stops a running fit quickly."""

from __future__ import annotations

import asyncio
import time

import httpx
import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from modelport.jobs.fitting import FitState, fit_reporting
from tests.jobs.support import slow_train, wait_job

pytestmark = pytest.mark.timeout(180)
X = np.random.default_rng(0).normal(size=(200, 4))
Y = (X[:, 0] > 0).astype(int)


@pytest.mark.parametrize("model, unit", [
    (GradientBoostingClassifier(n_estimators=30), "round 30/30"),
    (RandomForestClassifier(n_estimators=20, random_state=0), "20/20 trees"),
])
def test_fits_report_their_rounds_and_trees(model: object, unit: str) -> None:
    state = FitState()
    fit_reporting(model, X, Y, state)
    assert state.done == 1.0 and state.unit == unit
    assert len(model.estimators_) in (20, 30)  # type: ignore[attr-defined]
    assert model.get_params()["warm_start"] is False  # type: ignore[attr-defined]


def test_a_stop_request_ends_the_fit_early_and_others_fit_plainly() -> None:
    state = FitState(stop=True)
    model = GradientBoostingClassifier(n_estimators=50)
    fit_reporting(model, X, Y, state)
    assert model.n_estimators_ == 1 and state.unit == "round 1/50"
    plain = LogisticRegression()
    fit_reporting(plain, X, Y, FitState())
    assert plain.score(X, Y) > 0.9


async def test_progress_moves_during_the_fit_and_cancel_is_quick(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/jobs/train", json=slow_train("slow-gb", n_estimators=3000))
    job_id = r.json()["job_id"]
    seen: list[tuple[str, int]] = []
    for _ in range(600):  # until the fit has visibly moved past its start
        job = (await client.get(f"/api/v1/jobs/{job_id}")).json()
        seen.append((job["state"], job["progress"]))
        if job["state"] == "running" and 25 < job["progress"] < 75 and job["message"].startswith("fitting"):
            break
        await asyncio.sleep(0.05)
    assert 25 < job["progress"] < 75 and "round" in job["message"], seen[-5:]
    started = time.monotonic()
    assert (await client.delete(f"/api/v1/jobs/{job_id}")).status_code == 200
    done = await wait_job(client, job_id, timeout=30)
    assert done["state"] == "cancelled" and time.monotonic() - started < 2.0
