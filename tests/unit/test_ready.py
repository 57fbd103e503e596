"""Ready marks: a worker's mark appears when its app's start-up completes; the main process waits for N."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from modelport.ready import MarkReady, reset, wait_ready


async def test_the_mark_is_written_when_startup_completes(tmp_path: Path) -> None:
    directory = tmp_path / "ready"
    messages = [{"type": "lifespan.startup"}]
    seen_before_complete: list[bool] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        seen_before_complete.append(directory.exists() and any(directory.iterdir()))
        await send({"type": "lifespan.startup.complete"})

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        pass

    await MarkReady(app, directory)({"type": "lifespan"}, receive, send)
    assert seen_before_complete == [False]
    assert [p.name for p in directory.iterdir()] == [str(os.getpid())]


def test_wait_ready_needs_one_mark_per_worker(tmp_path: Path) -> None:
    directory = tmp_path / "ready"
    reset(directory)
    (directory / "1").touch()

    def second() -> None:
        time.sleep(0.3)
        (directory / "2").touch()

    threading.Thread(target=second).start()
    started = time.monotonic()
    assert wait_ready(directory, 2, alive=lambda: True, timeout_s=5)
    assert time.monotonic() - started >= 0.25


def test_wait_ready_gives_up_when_the_server_died(tmp_path: Path) -> None:
    directory = tmp_path / "ready"
    reset(directory)
    assert not wait_ready(directory, 1, alive=lambda: False, timeout_s=5)


def test_reset_removes_an_earlier_runs_marks(tmp_path: Path) -> None:
    directory = tmp_path / "ready"
    directory.mkdir()
    (directory / "123").touch()
    reset(directory)
    assert directory.is_dir() and not any(directory.iterdir())
