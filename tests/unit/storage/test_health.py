"""DatabaseHealth: a slow or failing lookup answers from the last good value within the grace,
at once while the database is suspect, else 503 with Retry-After; never waits past the timeout."""

from __future__ import annotations

import asyncio
import time

import pytest

from modelport.errors import ModelNotFound, Unavailable
from modelport.storage.health import DatabaseHealth


async def hang() -> str:
    await asyncio.sleep(3600)
    return "never"


async def test_a_hung_lookup_answers_stale_after_the_timeout_then_at_once() -> None:
    health = DatabaseHealth(timeout=0.1, grace=10)
    task = asyncio.ensure_future(hang())
    started = time.monotonic()
    assert await health.wait(task, started, "stale", time.monotonic(), "test") == "stale"
    assert 0.08 <= time.monotonic() - started < 0.5 and health.suspect
    t0 = time.monotonic()
    assert await health.wait(task, time.monotonic(), "stale", time.monotonic(), "test") == "stale"
    assert time.monotonic() - t0 < 0.05, "a suspect database is not waited for"
    assert not task.done(), "the shared query is never cancelled by a waiter"
    task.cancel()


async def test_no_value_or_a_value_past_the_grace_is_503() -> None:
    health = DatabaseHealth(timeout=0.05, grace=1)
    task = asyncio.ensure_future(hang())
    with pytest.raises(Unavailable) as failed:
        await health.wait(task, time.monotonic(), None, None, "test")
    assert failed.value.status == 503 and failed.value.headers["Retry-After"] == "1"
    with pytest.raises(Unavailable):
        await health.wait(task, time.monotonic(), "old", time.monotonic() - 5, "test")
    task.cancel()


async def test_failures_fall_back_successes_clear_and_domain_errors_pass() -> None:
    health = DatabaseHealth(timeout=1, grace=10)

    async def refused() -> str:
        raise ConnectionRefusedError("down")

    async def ok() -> str:
        return "fresh"

    async def missing() -> str:
        raise ModelNotFound("no such model")

    assert await health.wait(asyncio.ensure_future(refused()), time.monotonic(), "stale",
                             time.monotonic(), "test") == "stale"
    assert health.suspect
    task = asyncio.ensure_future(ok())
    # suspect: the stale value answers at once, and the query that answers later clears it
    assert await health.wait(task, time.monotonic(), "stale", time.monotonic(), "test") == "stale"
    await task
    assert not health.suspect
    assert await health.wait(asyncio.ensure_future(ok()), time.monotonic(), "stale",
                             time.monotonic(), "test") == "fresh"
    with pytest.raises(ModelNotFound):
        await health.wait(asyncio.ensure_future(missing()), time.monotonic(), "stale", time.monotonic(), "t")
