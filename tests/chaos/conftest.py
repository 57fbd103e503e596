"""Fixtures of the chaos suite: private service instances (never the shared ones) and paced load.

A private service whose binaries are missing, or that cannot start, skips its test, unless
``MODELPORT_REQUIRE_SERVICES=1`` (CI), where it fails it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import numpy as np
import pytest

from tests.conftest import REQUIRE_SERVICES
from tests.fixtures.private_postgres import PrivatePostgres, private_postgres


@pytest.fixture(autouse=True)
def _frozen_heap(frozen_heap: None) -> None:
    """Latency bounds here are the server's: no collector pause of the test process in them."""


@pytest.fixture
def pg() -> Iterator[PrivatePostgres]:
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(private_postgres())
        except RuntimeError as exc:  # no PostgreSQL binaries on this machine, or it did not start
            if REQUIRE_SERVICES:
                pytest.fail(f"{exc} and MODELPORT_REQUIRE_SERVICES=1")
            pytest.skip(str(exc))
        yield server


Result = tuple[int, float]


async def paced(call: Callable[[int], Coroutine[Any, Any, int]], rate: float, seconds: float) -> list[Result]:
    """``rate`` calls a second for ``seconds``, each on its own task (a stalled call never slows
    the pace): (status, seconds) of each, in the order they were started."""
    results: dict[int, Result] = {}

    async def one(i: int) -> None:
        started = time.perf_counter()
        status = await call(i)
        results[i] = (status, time.perf_counter() - started)

    tasks = []
    start = time.monotonic()
    for i in range(int(rate * seconds)):
        tasks.append(asyncio.create_task(one(i)))
        await asyncio.sleep(max(0.0, start + (i + 1) / rate - time.monotonic()))
    await asyncio.gather(*tasks)
    return [results[i] for i in range(len(tasks))]


def summary(results: list[Result]) -> dict[str, Any]:
    """Statuses counted, latency p50/p90/p99/max in ms: what an assertion message shows."""
    latencies = np.array([t for _, t in results]) * 1000
    statuses: dict[int, int] = {}
    for status, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    return {"n": len(results), "statuses": statuses,
            "p50_ms": round(float(np.percentile(latencies, 50)), 1),
            "p90_ms": round(float(np.percentile(latencies, 90)), 1),
            "p99_ms": round(float(np.percentile(latencies, 99)), 1),
            "max_ms": round(float(latencies.max()), 1)}
