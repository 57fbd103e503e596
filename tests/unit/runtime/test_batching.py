"""The adaptive batcher, through the real core: merging, isolation, backpressure, deadlines."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelport.bootstrap import Services
from modelport.core.types import InferenceRequest
from modelport.errors import DeadlineExceeded, ModelError, Overloaded
from modelport.registry.manifest import ModelVersionInfo, ServingConfig
from modelport.runtime.manager import LoadedModel
from tests.conftest import write_fake_artifact

pytestmark = pytest.mark.usefixtures("fake_flavors")


async def register(services: Services, tmp_path: Path, name: str, flavor: str = "test-sum",
                   config: dict[str, Any] | None = None,
                   **options: Any) -> tuple[ModelVersionInfo, LoadedModel]:
    path = write_fake_artifact(tmp_path, f"{name}.json", **options)
    info = await services.models.register_file(name, flavor, path, config=ServingConfig(**(config or {})),
                                               aliases=["production"])
    loaded = await services.manager.get(info)
    loaded.runtime.calls.clear()  # type: ignore[attr-defined]
    return info, loaded


async def until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


def row(name: str, value: float, deadline: float | None = None) -> InferenceRequest:
    return InferenceRequest(model=name, inputs={"input": np.full((1, 3), value)}, deadline=deadline)


async def test_concurrent_requests_merge_and_split_back(services: Services, tmp_path: Path) -> None:
    _, loaded = await register(services, tmp_path, "sum", delay_s=0.05)
    results = await asyncio.gather(*(services.inference.infer(row("sum", i)) for i in range(40)))
    assert [r.outputs["predictions"].tolist() for r in results] == [[3.0 * i] for i in range(40)]
    calls = loaded.runtime.calls  # type: ignore[attr-defined]
    assert sum(calls) == 40
    assert max(calls) > 1 and len(calls) < 40, calls


async def test_max_batch_size_caps_a_call(services: Services, tmp_path: Path) -> None:
    _, loaded = await register(services, tmp_path, "capped", config={"max_batch_size": 4}, delay_s=0.02)
    await asyncio.gather(*(services.inference.infer(row("capped", i)) for i in range(20)))
    calls = loaded.runtime.calls  # type: ignore[attr-defined]
    assert sum(calls) == 20 and max(calls) == 4, calls


async def test_a_lone_request_is_not_held_back(services: Services, tmp_path: Path) -> None:
    _, loaded = await register(services, tmp_path, "lone", config={"max_latency_ms": 2000})
    started = time.perf_counter()
    result = await services.inference.infer(row("lone", 1))
    assert time.perf_counter() - started < 1.0
    assert result.outputs["predictions"].tolist() == [3.0]
    assert loaded.runtime.calls == [1]  # type: ignore[attr-defined]


async def test_a_bad_request_fails_alone(services: Services, tmp_path: Path) -> None:
    _, loaded = await register(services, tmp_path, "picky", fail_on_negative=True, delay_s=0.02)
    values = [1, 2, 3, 4, 5, -1, 6, 7, 8, 9]
    results = await asyncio.gather(*(services.inference.infer(row("picky", v)) for v in values),
                                   return_exceptions=True)
    failed = [v for v, r in zip(values, results, strict=True) if isinstance(r, BaseException)]
    assert failed == [-1]
    assert isinstance(results[5], ModelError) and results[5].status == 500
    for v, r in zip(values, results, strict=True):
        if v != -1:
            assert r.outputs["predictions"].tolist() == [3.0 * v]  # type: ignore[union-attr]
    calls = loaded.runtime.calls  # type: ignore[attr-defined]
    assert max(calls) > 1, "the bad row should first have been part of a merged call"


async def test_full_queue_answers_overloaded_at_once(services: Services, tmp_path: Path) -> None:
    _, loaded = await register(services, tmp_path, "slow", flavor="test-slow",
                               config={"max_queue": 2}, delay_s=0.5)
    running = asyncio.ensure_future(services.inference.infer(row("slow", 1)))
    await until(lambda: loaded.batcher.busy == 1)  # dispatched: the model is busy now
    queued = [asyncio.ensure_future(services.inference.infer(row("slow", i))) for i in (2, 3)]
    await until(lambda: loaded.batcher.depth == 2)
    started = time.perf_counter()
    with pytest.raises(Overloaded) as caught:
        await services.inference.infer(row("slow", 4))
    assert time.perf_counter() - started < 0.1
    assert caught.value.status == 503 and caught.value.headers["Retry-After"] == "1"
    await asyncio.gather(running, *queued)


async def test_deadline_drops_queued_work(services: Services, tmp_path: Path) -> None:
    _, loaded = await register(services, tmp_path, "slow", flavor="test-slow", delay_s=0.3)
    running = asyncio.ensure_future(services.inference.infer(row("slow", 1)))
    await until(lambda: loaded.batcher.busy == 1)
    started = time.perf_counter()
    with pytest.raises(DeadlineExceeded) as caught:
        await services.inference.infer(row("slow", 2, deadline=time.monotonic() + 0.1))
    assert caught.value.status == 504
    assert time.perf_counter() - started < 0.25  # answered at the deadline, not after the call
    await running
    await asyncio.sleep(0.05)
    assert loaded.runtime.calls == [1]  # type: ignore[attr-defined]  # the expired request never ran
    assert loaded.batcher.expired == 1 and loaded.batcher.depth == 0


async def test_deadlines_in_order_and_out_of_order_each_expire_on_time(
        services: Services, tmp_path: Path) -> None:
    """Deadlines in arrival order share one timer; a shorter one behind them (an
    X-Request-Timeout below the default) still expires at its own time, not at theirs."""
    _, loaded = await register(services, tmp_path, "slow", flavor="test-slow", delay_s=0.6)
    running = asyncio.ensure_future(services.inference.infer(row("slow", 1)))
    await until(lambda: loaded.batcher.busy == 1)
    now = time.monotonic()
    deadlines = {2: now + 0.15, 3: now + 0.25, 4: now + 0.1}  # 4 arrives last, due first
    expired_at: dict[int, float] = {}

    async def ask(value: int) -> None:
        with pytest.raises(DeadlineExceeded):
            await services.inference.infer(row("slow", value, deadline=deadlines[value]))
        expired_at[value] = time.monotonic()

    await asyncio.gather(*(ask(v) for v in (2, 3, 4)))
    for value, due in deadlines.items():
        assert due <= expired_at[value] < due + 0.08, (value, expired_at[value] - due)
    await running
    assert loaded.runtime.calls == [1]  # type: ignore[attr-defined]  # none of them ran
    assert loaded.batcher.expired == 3 and loaded.batcher.depth == 0


async def test_a_short_deadline_after_the_queue_emptied_is_kept(services: Services, tmp_path: Path) -> None:
    """The sweep's timer was set for a request that has since finished; a later request due
    sooner (an X-Request-Timeout below the default) is still abandoned at its own deadline."""
    _, loaded = await register(services, tmp_path, "slow", flavor="test-slow", delay_s=0.05)
    await services.inference.infer(row("slow", 1, deadline=time.monotonic() + 30))
    loaded.runtime.config["delay_s"] = 0.6  # type: ignore[attr-defined]
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        await services.inference.infer(row("slow", 2, deadline=started + 0.15))
    assert time.monotonic() - started < 0.4  # at its deadline, not at the end of the call


async def test_answered_requests_leave_the_deadline_queue(services: Services, tmp_path: Path) -> None:
    _, loaded = await register(services, tmp_path, "m")
    far = time.monotonic() + 30
    for _ in range(5):
        await asyncio.gather(*(services.inference.infer(row("m", i, deadline=far)) for i in range(20)))
    assert len(loaded.batcher._deadlines) <= 20  # the last round's at most, not all 100


async def test_cancelled_request_leaves_the_queue(services: Services, tmp_path: Path) -> None:
    _, loaded = await register(services, tmp_path, "slow", flavor="test-slow", delay_s=0.3)
    running = asyncio.ensure_future(services.inference.infer(row("slow", 1)))
    await until(lambda: loaded.batcher.busy == 1)
    waiting = asyncio.ensure_future(services.inference.infer(row("slow", 2)))
    await until(lambda: loaded.batcher.depth == 1)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert loaded.batcher.depth == 0 and loaded.batcher.cancelled == 1
    await running
    await asyncio.sleep(0.05)
    assert loaded.runtime.calls == [1]  # type: ignore[attr-defined]


async def test_different_trailing_shapes_do_not_merge(services: Services, tmp_path: Path) -> None:
    from modelport.registry.manifest import Signature, TensorSpec

    path = write_fake_artifact(tmp_path, "free.json", delay_s=0.05)
    signature = Signature(inputs=[TensorSpec(name="input", shape=[-1, -1])],
                          outputs=[TensorSpec(name="predictions", shape=[-1])])
    info = await services.models.register_file("free", "test-sum", path, signature=signature,
                                               aliases=["production"])
    loaded = await services.manager.get(info)
    loaded.runtime.calls.clear()  # type: ignore[attr-defined]
    widths = [2, 3, 2, 3, 2, 3, 2]
    results = await asyncio.gather(*(services.inference.infer(
        InferenceRequest(model="free", inputs={"input": np.ones((1, w))})) for w in widths))
    assert [r.outputs["predictions"].tolist() for r in results] == [[float(w)] for w in widths]


async def test_metrics_record_batches(services: Services, tmp_path: Path) -> None:
    await register(services, tmp_path, "metered", delay_s=0.02)
    await asyncio.gather(*(services.inference.infer(row("metered", i)) for i in range(10)))
    text = services.metrics.render().decode()
    assert 'modelport_batch_size_sum{model="metered"} 10.0' in text
    assert 'modelport_queue_wait_seconds_count{model="metered"} 10.0' in text
    assert 'modelport_queue_depth{model="metered"} 0.0' in text
