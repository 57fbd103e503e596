"""Drain like Kubernetes expects: on SIGTERM, readiness turns 503 while the server still accepts.

The order is: the main process gets SIGTERM (or SIGINT) and tells every worker process to drain
(:data:`DRAIN_SIGNAL`), so ``/health/ready`` answers 503 and a load balancer stops sending; for
``drain_s`` seconds the server keeps accepting and answering (a Kubernetes endpoint update takes a
moment to reach every proxy: requests still arrive). Then the HTTP server's own shutdown runs: it
stops listening, finishes in-flight requests (up to ``shutdown_grace_s``), and each worker's
lifespan closes its services, draining each batcher. A second signal during the drain stops at
once.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)
SIGNALS = (signal.SIGTERM, signal.SIGINT)
#: main process -> worker processes: start draining (readiness 503), keep serving
DRAIN_SIGNAL = signal.SIGUSR2  # not SIGUSR1: gunicorn workers reopen their logs on it
DRAINING_LOG = "draining (readiness now 503)"

Handler = Callable[[int, FrameType | None], Any] | int | None


def mark_draining_on_signal(state: Any) -> Callable[[], None]:
    """In a serving process: a stop or drain signal flips ``state.draining`` (readiness 503).

    Chained in front of the current handlers (the server's); the drain signal goes no further.
    Returns a function that puts the previous handlers back (the lifespan calls it on exit).
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    watched = (*SIGNALS, DRAIN_SIGNAL)
    previous_handlers: dict[signal.Signals, Handler] = {sig: signal.getsignal(sig) for sig in watched}

    def handler(signum: int, frame: FrameType | None) -> None:
        if not state.draining:
            log.info(DRAINING_LOG + " on %s", signal.Signals(signum).name)
        state.draining = True
        if signum == DRAIN_SIGNAL:
            return
        _call(previous_handlers[signal.Signals(signum)], signum, frame)

    for sig in watched:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, previous in previous_handlers.items():
            if signal.getsignal(sig) is handler:
                signal.signal(sig, previous)

    return restore


def ignore_drain_signal_until_ready() -> None:
    """In a worker before its app starts: an early drain signal must not kill it (default action)."""
    signal.signal(DRAIN_SIGNAL, signal.SIG_IGN)


def drain_then_stop(drain_s: float, notify: Callable[[], None]) -> None:
    """In the main process, once the HTTP server installed its handlers: delay its stop by ``drain_s``.

    The first SIGTERM/SIGINT calls ``notify`` (:func:`drain_workers`) and runs the server's own
    handler ``drain_s`` seconds later; a second one runs it now.
    """
    previous_handlers: dict[signal.Signals, Handler] = {sig: signal.getsignal(sig) for sig in SIGNALS}
    started = threading.Event()
    tell = notify

    def handler(signum: int, frame: FrameType | None) -> None:
        previous = previous_handlers[signal.Signals(signum)]
        if started.is_set():
            _call(previous, signum, frame)
            return
        started.set()
        log.info(DRAINING_LOG + ": still accepting for %.1f s", drain_s)
        tell()
        timer = threading.Timer(drain_s, _call, args=(previous, signum, None))
        timer.daemon = True
        timer.start()

    for sig in SIGNALS:
        signal.signal(sig, handler)


def draining_flag(ready: Path) -> Path:
    """Left by the main process when the drain began (beside the ready marks, not among them)."""
    return ready.parent / "draining"


def drain_workers(ready: Path) -> None:
    """Send :data:`DRAIN_SIGNAL` to the worker processes that are ready (marks in ``ready``); one
    still starting finds the flag this leaves and drains itself once started (:mod:`modelport.ready`)."""
    draining_flag(ready).touch()
    marked = {entry.name for entry in ready.iterdir()} if ready.is_dir() else set()
    for child in multiprocessing.active_children():
        if child.pid is not None and str(child.pid) in marked:
            os.kill(child.pid, DRAIN_SIGNAL)


def _call(previous: Handler, signum: int, frame: FrameType | None) -> None:
    if callable(previous):
        previous(signum, frame)
    elif previous != signal.SIG_IGN:
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)
