"""Worker processes: answers through shared memory, and a killed worker costs at most one request."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from modelport.bootstrap import Services
from modelport.core.types import InferenceRequest
from modelport.errors import Unavailable
from modelport.registry.manifest import ServingConfig
from modelport.runtime.workers import ProcessRunner
from tests.conftest import write_fake_artifact

pytestmark = [pytest.mark.usefixtures("fake_flavors"), pytest.mark.slow]


def row(value: float, rows: int = 1) -> InferenceRequest:
    return InferenceRequest(model="proc", inputs={"input": np.full((rows, 3), value)})


async def start(services: Services, tmp_path: Path, workers: int, **options: object) -> ProcessRunner:
    path = write_fake_artifact(tmp_path, "proc.json", **options)
    info = await services.models.register_file("proc", "test-sum", path,
                                               config=ServingConfig(workers=workers), aliases=["production"])
    runner = (await services.manager.get(info)).runner
    assert isinstance(runner, ProcessRunner)
    return runner


async def test_workers_answer_through_shared_memory(services: Services, tmp_path: Path) -> None:
    runner = await start(services, tmp_path, workers=2, offset=0.5)
    assert all(pid and pid != os.getpid() for pid in runner.pids())
    results = await asyncio.gather(*(services.inference.infer(row(i, rows=1 + i % 3)) for i in range(30)))
    for i, r in enumerate(results):
        assert r.outputs["predictions"].tolist() == [3.0 * i + 0.5] * (1 + i % 3)
    big = await services.inference.infer(row(1.0, rows=1000))  # 24 kB in, still via shared memory
    assert big.outputs["predictions"].shape == (1000,)


async def test_killed_idle_worker_is_replaced_without_failing(services: Services, tmp_path: Path) -> None:
    runner = await start(services, tmp_path, workers=1)
    old = runner.pids()[0]
    assert old is not None
    os.kill(old, signal.SIGKILL)
    await asyncio.sleep(0.2)
    failures, started = 0, time.monotonic()
    while True:
        try:
            result = await services.inference.infer(row(2.0))
        except Unavailable:
            failures += 1
        else:
            assert result.outputs["predictions"].tolist() == [6.0]
            break
        assert time.monotonic() - started < 10, "no new worker within 10 s"
    assert failures <= 1
    assert runner.pids()[0] not in (None, old)


async def test_worker_killed_mid_call_fails_fast_and_recovers(services: Services, tmp_path: Path) -> None:
    runner = await start(services, tmp_path, workers=1, delay_s=2.0)
    old = runner.pids()[0]
    assert old is not None
    pending = asyncio.ensure_future(services.inference.infer(row(1.0)))
    await asyncio.sleep(0.5)  # the worker is inside its 2 s call
    started = time.monotonic()
    os.kill(old, signal.SIGKILL)
    with pytest.raises(Unavailable) as caught:
        await pending
    assert time.monotonic() - started < 1.0, "in-flight request must fail fast, not wait"
    assert caught.value.status == 503
    # a new worker serves within 10 s, with no further failure
    deadline = time.monotonic() + 10
    result = await asyncio.wait_for(services.inference.infer(row(3.0)), timeout=deadline - time.monotonic())
    assert result.outputs["predictions"].tolist() == [9.0]
    assert runner.pids()[0] not in (None, old)
