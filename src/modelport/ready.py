"""Ready means ready: each worker process leaves a mark when its app has started; the main process
announces the server once every worker has.

Why: the HTTP server's own "listening" line comes before the app's start-up (models load, demo
models train), so a printed curl ran at once failed. A worker's lifespan start-up completing is
the moment its ``/health/ready`` turns 200; the wrapper below writes a file then, and
:func:`wait_ready` (in the main process) waits for one file per worker.

Workers start one at a time (a lock file beside the marks): the first one migrates the database,
creates the admin key and registers the demo models; two at once on a new home raced on those.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelport.shutdown import DRAIN_SIGNAL, draining_flag

#: how often the main process looks for the workers' marks
POLL_S = 0.05


def ready_dir(home: Path) -> Path:
    return home / "run" / "ready"


def failed_flag(directory: Path) -> Path:
    """Left by a worker whose app failed to start (beside the marks)."""
    return directory.parent / "failed"


def reset(directory: Path) -> None:
    """At start: marks and flags of an earlier run mean nothing."""
    shutil.rmtree(directory, ignore_errors=True)
    draining_flag(directory).unlink(missing_ok=True)
    failed_flag(directory).unlink(missing_ok=True)
    directory.mkdir(parents=True, exist_ok=True)


class MarkReady:
    """ASGI wrapper: when the app reports its lifespan start-up complete, write ``<pid>`` in ``directory``.

    If the drain began while this worker started, it drains at once (its signal handler is in
    place by then: the lifespan installs it before reporting start-up complete).
    """

    def __init__(self, app: ASGIApp, directory: Path) -> None:
        self.app = app
        self.directory = directory

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        self.directory.mkdir(parents=True, exist_ok=True)
        lock = os.open(self.directory.parent / "startup.lock", os.O_RDWR | os.O_CREAT, 0o600)
        await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)

        async def marking_send(message: Message) -> None:
            if message["type"].startswith("lifespan.startup."):  # complete or failed: the next may start
                if message["type"] == "lifespan.startup.complete":
                    (self.directory / str(os.getpid())).touch()
                    if draining_flag(self.directory).exists():
                        os.kill(os.getpid(), DRAIN_SIGNAL)
                else:
                    failed_flag(self.directory).touch()
                fcntl.flock(lock, fcntl.LOCK_UN)
            await send(message)

        try:
            await self.app(scope, receive, marking_send)
        finally:
            os.close(lock)


def wait_ready(directory: Path, workers: int, *, alive: Callable[[], bool],
               timeout_s: float = 3600.0) -> bool:
    """Block until ``workers`` marks exist (True), or ``alive()`` turns false or time runs out (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if directory.is_dir() and sum(1 for _ in directory.iterdir()) >= workers:
            return True
        if not alive():
            return False
        time.sleep(POLL_S)
    return False


def wait_listening(host: str, port: int, *, alive: Callable[[], bool], timeout_s: float = 60.0) -> bool:
    """Block until a TCP connection to ``host:port`` succeeds (True), or ``alive()`` turns false or
    time runs out (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            if not alive():
                return False
            time.sleep(POLL_S)
    return False
