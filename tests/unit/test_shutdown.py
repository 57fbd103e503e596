"""Drain: the first stop signal tells the workers and delays the server's own stop; a second stops now."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from types import FrameType, SimpleNamespace

import pytest

from modelport.shutdown import DRAIN_SIGNAL, drain_then_stop, mark_draining_on_signal


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
