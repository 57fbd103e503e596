"""Per-request deadline and client-disconnect cancellation for inference routes.

A deadline (``X-Request-Timeout`` seconds, else ``MODELPORT_REQUEST_TIMEOUT``) travels with the
request into the batcher, which drops queued work once it passes (504). A client that hangs up
while its request waits has the request task cancelled, which removes its rows from the queue.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable
from typing import Any, TypeVar

from starlette.types import Receive

from modelport.errors import InvalidInput, ModelportError

T = TypeVar("T")
TIMEOUT_HEADER = "x-request-timeout"
MAX_TIMEOUT_S = 3600.0


class ClientClosedRequest(ModelportError):
    """The client went away before its answer was ready (nginx's 499); nobody reads the body."""

    status = 499
    code = "client_closed_request"
    title = "Client Closed Request"


def request_deadline(raw: str | None, default_timeout: float) -> float:
    """Absolute ``time.monotonic()`` deadline of a request whose ``X-Request-Timeout`` is ``raw``."""
    timeout = default_timeout
    if raw is not None:
        try:
            timeout = float(raw)
        except ValueError:
            timeout = math.nan
        if not 0 < timeout <= MAX_TIMEOUT_S:
            raise InvalidInput(f"X-Request-Timeout must be a number of seconds in (0, {MAX_TIMEOUT_S:.0f}]")
    return time.monotonic() + timeout


#: requests answered sooner than this never start a watcher (the common case costs one timer)
WATCH_AFTER_S = 0.1


class _Waiting:
    """A request in :func:`until_disconnect`: its task, its ``receive``, and whether it is gone."""

    __slots__ = ("gone", "over", "receive", "since", "task", "watch")

    def __init__(self, task: asyncio.Task[object], receive: Receive, since: float) -> None:
        self.task: asyncio.Task[object] | None = task
        self.receive: Receive | None = receive
        self.since = since
        self.over = False
        self.gone = False
        self.watch: asyncio.Future[Any] | None = None

    def start_watch(self) -> None:
        """Wait for the next ASGI message: after the body, only a disconnect can come."""
        assert self.receive is not None
        watch: asyncio.Future[Any] = asyncio.ensure_future(self.receive())
        watch.add_done_callback(self._on_message)
        self.watch = watch

    def _on_message(self, done: asyncio.Future[Any]) -> None:
        if done.cancelled() or done.exception() is not None or self.over:
            return
        message = done.result()
        if isinstance(message, dict) and message.get("type") == "http.disconnect" and self.task is not None:
            self.gone = True
            self.task.cancel()

    def finish(self) -> None:
        self.over = True
        if self.watch is not None:
            self.watch.cancel()
        self.task = self.receive = None  # the sweep may hold this a little longer: not the request


class _Sweep:
    """One timer per event loop starts the watchers of requests waiting over ``WATCH_AFTER_S``.

    Why not a timer per request: scheduling and cancelling one cost about 2.5 us of every
    prediction (with the closures it needed), nearly all of them answered long before it fired.
    Requests join in arrival order, so the oldest is first; finished ones leave when the sweep
    reaches them (at most ``WATCH_AFTER_S`` later).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: deque[_Waiting] = deque()
        self.armed = False

    def add(self, waiting: _Waiting) -> None:
        self.waiting.append(waiting)
        if not self.armed:
            self.armed = True
            self.loop.call_later(WATCH_AFTER_S, self.sweep)

    def sweep(self) -> None:
        waiting, now = self.waiting, self.loop.time()
        while waiting and (waiting[0].over or waiting[0].since + WATCH_AFTER_S <= now):
            first = waiting.popleft()
            if not first.over:
                first.start_watch()
        if waiting:
            self.loop.call_later(waiting[0].since + WATCH_AFTER_S - now, self.sweep)
        else:
            self.armed = False


_sweeps: dict[asyncio.AbstractEventLoop, _Sweep] = {}


def _sweep_of(loop: asyncio.AbstractEventLoop) -> _Sweep:
    sweep = _sweeps.get(loop)
    if sweep is None:
        for old in [other for other in _sweeps if other.is_closed()]:
            del _sweeps[old]  # loops of finished asyncio.run calls (tests)
        sweep = _sweeps[loop] = _Sweep(loop)
    return sweep


async def until_disconnect(receive: Receive, work: Awaitable[T]) -> T:
    """Await ``work``; if the client disconnects first, cancel it and raise ClientClosedRequest.

    Call only once the body has been read: the next ASGI message can then only be the
    disconnect (or the end of the response, after which nothing is waiting any more). The
    watcher starts only once the request has waited ``WATCH_AFTER_S`` (:class:`_Sweep`), so
    fast answers do not pay for a task.
    """
    task = asyncio.current_task()
    assert task is not None
    loop = task.get_loop()
    waiting = _Waiting(task, receive, loop.time())
    _sweep_of(loop).add(waiting)
    try:
        return await work
    except asyncio.CancelledError:
        if not waiting.gone:
            raise
        task.uncancel()
        raise ClientClosedRequest("client closed the connection") from None
    finally:
        waiting.finish()
