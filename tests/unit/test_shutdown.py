"""Drain: the first stop signal tells the workers and delays the server's own stop; a second stops now."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType, SimpleNamespace

import pytest

from modelport.shutdown import (
    DRAIN_SIGNAL,
    drain_then_stop,
    drain_workers,
    draining_flag,
    mark_draining_on_signal,
)


@pytest.fixture
def saved_handlers() -> Iterator[None]:
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, DRAIN_SIGNAL)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def wait_for(condition: object, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.01)


@pytest.mark.usefixtures("saved_handlers")
def test_the_server_stops_only_after_the_drain_window() -> None:
    stopped: list[float] = []
    told: list[float] = []

    def server_handler(signum: int, frame: FrameType | None) -> None:
        stopped.append(time.monotonic())

    signal.signal(signal.SIGTERM, server_handler)
    drain_then_stop(0.4, notify=lambda: told.append(time.monotonic()))
    sent = time.monotonic()
    os.kill(os.getpid(), signal.SIGTERM)
    wait_for(lambda: told)
    assert told and not stopped
    wait_for(lambda: stopped)
    assert stopped and stopped[0] - sent >= 0.35


@pytest.mark.usefixtures("saved_handlers")
def test_a_second_signal_stops_at_once() -> None:
    stopped: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stopped.append(signum))
    drain_then_stop(30, notify=lambda: None)
    os.kill(os.getpid(), signal.SIGTERM)
    os.kill(os.getpid(), signal.SIGTERM)
    wait_for(lambda: stopped)
    assert stopped == [signal.SIGTERM]


@pytest.mark.usefixtures("saved_handlers")
def test_the_drain_signal_turns_readiness_off_and_goes_no_further() -> None:
    state = SimpleNamespace(draining=False)
    signal.signal(DRAIN_SIGNAL, signal.SIG_DFL)  # would end the process if passed on
    restore = mark_draining_on_signal(state)
    os.kill(os.getpid(), DRAIN_SIGNAL)
    wait_for(lambda: state.draining)
    assert state.draining
    restore()
    assert signal.getsignal(DRAIN_SIGNAL) == signal.SIG_DFL


@pytest.mark.usefixtures("saved_handlers")
def test_only_ready_workers_are_told_and_the_flag_is_left(tmp_path: Path) -> None:
    """A worker still starting is not signalled (the signal's default action would end it)."""
    ctx = multiprocessing.get_context("spawn")
    ready_child = ctx.Process(target=time.sleep, args=(30,))
    starting_child = ctx.Process(target=time.sleep, args=(30,))
    ready_child.start()
    starting_child.start()
    try:
        ready = tmp_path / "ready"
        ready.mkdir()
        (ready / str(ready_child.pid)).touch()
        drain_workers(ready)
        ready_child.join(10)
        assert ready_child.exitcode == -DRAIN_SIGNAL  # default action: it ended of the drain signal
        assert starting_child.is_alive()
        assert draining_flag(ready).exists()
    finally:
        for child in (ready_child, starting_child):
            child.kill()
            child.join(10)
