"""BackgroundTask: started once, cancelled and awaited on close."""

from __future__ import annotations

import asyncio

from modelport.background import BackgroundTask


async def test_starts_once_and_close_cancels_and_waits() -> None:
    runs: list[str] = []
    ended = asyncio.Event()

    async def loop() -> None:
        runs.append("run")
        try:
            await asyncio.sleep(3600)
        finally:
            ended.set()

    task = BackgroundTask("t")
    task.start(loop)
    task.start(loop)  # already started: no second copy
    await asyncio.sleep(0)
    assert runs == ["run"] and task.started
    await task.close()
    assert ended.is_set() and not task.started
    await task.close()  # closing twice is harmless


async def test_close_without_start_is_a_no_op() -> None:
    await BackgroundTask("t").close()


async def test_running_until_the_task_ends_and_wait_does_not_cancel_it() -> None:
    release = asyncio.Event()

    async def work() -> None:
        await release.wait()

    task = BackgroundTask("t")
    assert not task.running
    await task.wait()  # nothing started: returns at once
    task.start(work)
    assert task.running
    waiter = asyncio.ensure_future(task.wait())
    await asyncio.sleep(0)
    waiter.cancel()  # a waiter given up on leaves the task running
    await asyncio.sleep(0)
    assert task.running
    release.set()
    await task.wait()
    assert not task.running and task.started  # ended on its own: still counts as started
    await task.close()
