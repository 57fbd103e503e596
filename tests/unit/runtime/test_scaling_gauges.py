"""The autoscaling signal: per-model queue depth and in-flight requests, summed over versions."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import numpy as np
import pytest

from modelport.bootstrap import Services
from modelport.core.types import InferenceRequest
from modelport.registry.manifest import ServingConfig
from tests.conftest import write_fake_artifact

pytestmark = pytest.mark.usefixtures("fake_flavors")


def gauge(services: Services, name: str, model: str) -> float:
    text = services.metrics.render().decode()
    found = re.search(rf'^{name}{{model="{model}"}} ([0-9.e+-]+)$', text, re.MULTILINE)
    assert found, f"{name} for {model} not exported"
    return float(found.group(1))


async def until(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


async def test_depth_and_inflight_follow_the_load_of_every_version(services: Services,
                                                                  tmp_path: Path) -> None:
    config = ServingConfig(max_batch_size=1)  # one request per model call: the queue stays visible
    art = write_fake_artifact(tmp_path, "slow.json", delay_s=0.3)
    v1 = await services.models.register_file("busy", "test-slow", art, config=config)
    v2 = await services.models.register_file("busy", "test-slow", art, config=config)
    for info in (v1, v2):
        await services.manager.get(info)

    def ask(version: int) -> InferenceRequest:
        return InferenceRequest(model="busy", version=str(version), inputs={"input": np.ones((1, 3))})

    calls = [asyncio.ensure_future(services.inference.infer(ask(1 + i % 2))) for i in range(6)]
    # 3 requests per version, one of each running (one slot per version): 4 queued, 6 in flight
    await until(lambda: gauge(services, "modelport_inflight_requests", "busy") == 6)
    await until(lambda: gauge(services, "modelport_queue_depth", "busy") == 4)
    await asyncio.gather(*calls)
    assert gauge(services, "modelport_inflight_requests", "busy") == 0
    assert gauge(services, "modelport_queue_depth", "busy") == 0


async def test_a_cancelled_request_leaves_both_gauges(services: Services, tmp_path: Path) -> None:
    art = write_fake_artifact(tmp_path, "slow.json", delay_s=0.3)
    info = await services.models.register_file("slow", "test-slow", art,
                                               config=ServingConfig(max_batch_size=1))
    await services.manager.get(info)
    request = InferenceRequest(model="slow", inputs={"input": np.ones((1, 3))})
    running = asyncio.ensure_future(services.inference.infer(request))
    queued = asyncio.ensure_future(services.inference.infer(request))
    await until(lambda: gauge(services, "modelport_queue_depth", "slow") == 1)
    queued.cancel()
    await until(lambda: gauge(services, "modelport_inflight_requests", "slow") == 1)
    assert gauge(services, "modelport_queue_depth", "slow") == 0
    await running
    assert gauge(services, "modelport_inflight_requests", "slow") == 0
