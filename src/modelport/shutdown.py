"""Graceful shutdown: on SIGTERM/SIGINT readiness turns 503 at once, then uvicorn drains.

The order is: the signal marks the services draining (``/health/ready`` answers 503 so a load
balancer stops sending), uvicorn stops accepting connections and waits up to
``shutdown_grace_s`` for in-flight requests (queued ones included: they are in-flight HTTP
requests), then the lifespan closes the services, draining each batcher. The process then
exits 0 rather than dying of the signal uvicorn re-raises.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)
SIGNALS = (signal.SIGTERM, signal.SIGINT)


def mark_draining_on_signal(state: Any) -> Callable[[], None]:
    """Chain a handler in front of the current one (uvicorn's) that flips ``state.draining``.

    Returns a function that puts the previous handlers back (the lifespan calls it on exit).
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous_handlers = {sig: signal.getsignal(sig) for sig in SIGNALS}

    def handler(signum: int, frame: FrameType | None) -> None:
        if not state.draining:
            log.info("received %s: draining (readiness now 503)", signal.Signals(signum).name)
        state.draining = True
        previous = previous_handlers[signal.Signals(signum)]
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)

    for sig in SIGNALS:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, previous in previous_handlers.items():
            if signal.getsignal(sig) is handler:
                signal.signal(sig, previous)

    return restore


def exit_cleanly_on_signal() -> None:
    """Before uvicorn runs: a signal it re-raises after a graceful shutdown exits with 0."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, handler)
