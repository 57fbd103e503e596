"""Per-request deadline and client-disconnect cancellation for inference routes.

A deadline (``X-Request-Timeout`` seconds, else ``MODELPORT_REQUEST_TIMEOUT``) travels with the
request into the batcher, which drops queued work once it passes (504). A client that hangs up
while its request waits has the request task cancelled, which removes its rows from the queue.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable
from typing import TypeVar

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


async def until_disconnect(receive: Receive, work: Awaitable[T]) -> T:
    """Await ``work``; if the client disconnects first, cancel it and raise ClientClosedRequest.

    Call only once the body has been read: the next ASGI message can then only be the
    disconnect (or the end of the response, after which nothing is waiting any more). The
    watcher starts only once the request has waited ``WATCH_AFTER_S``, so fast answers do not
    pay for a task.
    """
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    gone = False
    watch: asyncio.Future[object] | None = None

    def on_message(done: asyncio.Future[object]) -> None:
        nonlocal gone
        if done.cancelled() or done.exception() is not None:
            return
        message = done.result()
        if isinstance(message, dict) and message.get("type") == "http.disconnect":
            gone = True
            task.cancel()

    def start_watch() -> None:
        nonlocal watch
        started: asyncio.Future[object] = asyncio.ensure_future(receive())
        started.add_done_callback(on_message)
        watch = started

    timer = loop.call_later(WATCH_AFTER_S, start_watch)
    try:
        return await work
    except asyncio.CancelledError:
        if not gone:
            raise
        task.uncancel()
        raise ClientClosedRequest("client closed the connection") from None
    finally:
        timer.cancel()
        if watch is not None:
            watch.cancel()
