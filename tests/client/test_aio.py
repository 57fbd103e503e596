"""``AsyncClient`` against a live server: the same answers as REST, awaited."""

from __future__ import annotations

import asyncio

import httpx
import numpy as np
import pytest

from modelport.client import AsyncClient, Job, NotFound
from tests.conftest import LiveServer

pytestmark = pytest.mark.timeout(180)


async def test_async_models_predict_and_errors(server: LiveServer, admin_key: str) -> None:
    headers = {"Authorization": f"Bearer {admin_key}"}
    async with AsyncClient(server.url, api_key=admin_key) as mp, \
            httpx.AsyncClient(base_url=server.url, headers=headers) as rest:
        models, expected = await asyncio.gather(mp.list_models(), rest.get("/api/v1/models"))
        assert [m.to_dict() for m in models] == expected.json()
        rows = [np.array([5.1, 3.5, 1.4, v]) for v in (0.2, 2.3)]
        answers = await asyncio.gather(*(mp.predict("iris", row) for row in rows))
        assert [a.version for a in answers] == [answers[0].version] * 2
        one = {"features": [5.1, 3.5, 1.4, 0.2]}
        direct = (await rest.post("/api/v1/models/iris/predict", json=one)).json()
        assert answers[0].predictions == direct["predictions"]
        with pytest.raises(NotFound) as missing:
            await mp.get_version("iris", 99)
        assert missing.value.problem["code"] == missing.value.code != ""


async def test_async_train_wait(server: LiveServer, admin_key: str) -> None:
    seen: list[Job] = []
    async with AsyncClient(server.url, api_key=admin_key) as mp:
        handle = await mp.train("builtin:wine", "LogisticRegression", "async-wine",
                                hyperparameters={"max_iter": 2000})
        job = await handle.wait(seen.append, poll_s=0.1, max_wait_s=120)
        assert job.state == "succeeded" and seen[-1] == job
        assert (await mp.get_model("async-wine")).versions[0].version == job.model.version
