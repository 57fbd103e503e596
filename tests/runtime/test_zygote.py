"""Workers forked from one loaded model share its memory and still restart on their own."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import httpx
import numpy as np
import skops.io as sio
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier

from bench.worker_memory import measure, train_forest
from modelport.runtime.registry import FLAVORS
from modelport.runtime.sklearn import SklearnRuntime
from modelport.runtime.worker_child import WorkerSpec
from modelport.runtime.workers import ProcessRunner
from modelport.runtime.zygote import ForkedProcess
from tests.conftest import LiveServer
from tests.fixtures.parity import register_upload


async def test_two_shared_workers_cost_at_most_half_again_one(tmp_path: Path) -> None:
    artifact, x = train_forest(tmp_path, trees=60)
    one = await measure(artifact, x, 1, share=False)
    two = await measure(artifact, x, 2, share=True)
    assert two["processes"] == 3  # the zygote and its two workers
    assert two["pss_mb"] <= 1.5 * one["pss_mb"], (one, two)


def spec_for(artifact: Path) -> WorkerSpec:
    probe = SklearnRuntime(artifact)
    probe.load()
    return WorkerSpec(target=FLAVORS["sklearn"], artifact=str(artifact), options={}, label="zygote-test",
                      signature_json=probe.infer_signature().model_dump_json(), share=True)


async def test_forked_workers_answer_and_come_back(tmp_path: Path) -> None:
    x, y = load_digits(return_X_y=True)
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(x, y)
    artifact = tmp_path / "f.skops"
    sio.dump(forest, artifact)
    runner = ProcessRunner(spec_for(artifact), 2)
    await runner.start()
    try:
        assert runner.zygote is not None
        zygote_pid = runner.zygote.pid
        out = await runner.run({"input": x})
        np.testing.assert_array_equal(out["probabilities"], forest.predict_proba(x))

        victim = runner.workers[0].pid
        assert victim is not None
        os.kill(victim, signal.SIGKILL)
        await asyncio.to_thread(ForkedProcess(victim).join, 10)
        outs = await asyncio.gather(runner.run({"input": x[:5]}), runner.run({"input": x[5:9]}))
        assert [len(o["predictions"]) for o in outs] == [5, 4]
        assert victim not in runner.pids() and all(runner.pids())
        assert runner.zygote.pid == zygote_pid  # re-forked from the same loaded model

        os.kill(zygote_pid, signal.SIGKILL)  # the zygote too: the next fork spawns a new one
        assert runner.zygote.process is not None
        await asyncio.to_thread(runner.zygote.process.join, 10)
        victim = runner.workers[1].pid
        assert victim is not None
        os.kill(victim, signal.SIGKILL)
        await asyncio.to_thread(ForkedProcess(victim).join, 10)  # gone (or a zombie) before the calls
        outs = await asyncio.gather(runner.run({"input": x[:3]}), runner.run({"input": x[:3]}))
        for out in outs:  # both workers answer: the dead one was forked from a new zygote
            assert out["predictions"].tolist() == forest.predict(x[:3]).tolist()
        assert runner.zygote.pid not in (None, zygote_pid)
    finally:
        await runner.close()
    assert runner.zygote.pid is None


def test_config_workers_share_a_forest(byom_server: LiveServer, byom_headers: dict[str, str],
                                       tmp_path: Path) -> None:
    x, y = load_digits(return_X_y=True)
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(x, y)
    path = tmp_path / "forest.skops"
    sio.dump(forest, path)
    r = register_upload(byom_server, byom_headers, "shared-forest", "sklearn", path,
                        config=json.dumps({"workers": 2}))
    assert r.status_code == 201, r.text
    with httpx.Client(base_url=byom_server.url, headers=byom_headers, timeout=60) as client:
        r = client.post("/api/v1/models/shared-forest/predict/batch", json={"samples": x[:1000].tolist()})
    assert r.status_code == 200, r.text
    np.testing.assert_array_equal(np.asarray(r.json()["probabilities"]), forest.predict_proba(x[:1000]))

    async def runner_of() -> ProcessRunner:
        services = byom_server.services
        loaded = await services.manager.get(await services.registry.resolve("shared-forest", None))
        runner = loaded.runner
        assert isinstance(runner, ProcessRunner)
        return runner

    runner = byom_server.run(runner_of())
    assert runner.zygote is not None and len(runner.all_pids()) == 3
