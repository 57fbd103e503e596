"""Ready marks: a worker's mark appears when its app's start-up completes; the main process waits for N."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelport.ready import MarkReady, reset, wait_listening, wait_ready
from modelport.shutdown import DRAIN_SIGNAL, draining_flag


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


@pytest.mark.usefixtures("saved_drain_handler")
async def test_a_worker_that_finishes_starting_during_the_drain_drains_at_once(tmp_path: Path) -> None:
    directory = tmp_path / "ready"
    reset(directory)
    draining_flag(directory).touch()  # the main process began the drain while this worker started
    got: list[int] = []
    signal.signal(DRAIN_SIGNAL, lambda signum, frame: got.append(signum))
    messages = [{"type": "lifespan.startup"}]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "lifespan.startup.complete"})

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        pass

    await MarkReady(app, directory)({"type": "lifespan"}, receive, send)
    assert got == [DRAIN_SIGNAL]


def test_reset_removes_the_drain_flag(tmp_path: Path) -> None:
    directory = tmp_path / "ready"
    directory.mkdir()
    draining_flag(directory).touch()
    reset(directory)
    assert not draining_flag(directory).exists()


@pytest.fixture
def saved_drain_handler() -> Iterator[None]:
    saved = signal.getsignal(DRAIN_SIGNAL)
    yield
    signal.signal(DRAIN_SIGNAL, saved)


def test_wait_listening_waits_for_a_listening_socket() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        timer = threading.Timer(0.3, listener.listen)
        timer.start()
        started = time.monotonic()
        assert wait_listening("127.0.0.1", port, alive=lambda: True, timeout_s=5)
        assert time.monotonic() - started >= 0.25
        timer.join()


def test_wait_listening_gives_up_when_the_server_died() -> None:
    with socket.socket() as unbound:
        unbound.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = unbound.getsockname()[1]
        assert not wait_listening("127.0.0.1", port, alive=lambda: False, timeout_s=5)
