"""The deadline queue: a task is cancelled at its deadline, in order or not, and never after it finished."""

from __future__ import annotations

import asyncio
import time

import pytest

from modelport.web.expiry import expiries


async def sleeper(deadline_in: float, work_s: float) -> tuple[bool, float]:
    """Sleep ``work_s`` under a deadline ``deadline_in`` from now: (cancelled by it, elapsed)."""
    started = time.monotonic()
    expiry = expiries("test").start(started + deadline_in)
    try:
        await asyncio.sleep(work_s)
    except asyncio.CancelledError:
        assert expiry.caught()
        return True, time.monotonic() - started
    finally:
        expiry.finish()
    return False, time.monotonic() - started


async def test_work_past_its_deadline_is_cancelled_at_the_deadline() -> None:
    fired, elapsed = await sleeper(0.1, 5)
    assert fired and 0.09 <= elapsed < 0.3


async def test_work_done_in_time_is_never_cancelled_later() -> None:
    assert await sleeper(0.2, 0.01) == (False, pytest.approx(0.01, abs=0.1))
    await asyncio.sleep(0.3)  # past the deadline: the walk finds it finished and leaves it
    assert not expiries("test").queue


async def test_an_earlier_deadline_behind_a_later_one_fires_on_its_own_timer() -> None:
    late = asyncio.ensure_future(sleeper(2.0, 5))
    await asyncio.sleep(0)  # queued first, with the later deadline
    fired, elapsed = await sleeper(0.1, 5)
    assert fired and elapsed < 0.3
    assert not late.done()  # its own deadline is still ahead
    fired, elapsed = await late
    assert fired and 1.9 <= elapsed < 2.4


async def test_many_in_order_share_one_timer_and_each_fires() -> None:
    results = await asyncio.gather(*(sleeper(0.05 + i * 0.01, 5) for i in range(20)))
    assert all(fired for fired, _ in results)
    assert max(elapsed for _, elapsed in results) < 0.5
