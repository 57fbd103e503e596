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
