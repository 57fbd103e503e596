"""Request bodies have a deadline: between chunks and in total (``MODELPORT_BODY_TIMEOUT_S``).

Why: the HTTP server (Granian) times out a request's headers but not its body, so a client that
sends a ``Content-Length`` and then one byte a second would hold a connection and a task for as
long as it likes. This ASGI wrapper reads the body under a timeout; when it runs out, the app sees
the client gone (``http.disconnect``) and the client gets ``408`` with ``Connection: close``
(unless an answer had already started, in which case the connection is simply closed).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelport.web.expiry import expiries

TIMED_OUT_DETAIL = "the request body did not arrive in time"


class BodyTimeout:
    """Wraps ``receive`` with a per-chunk and a total deadline for the body of each HTTP request."""

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = time.monotonic() + self.timeout_s
        state: dict[str, bool] = {"done": False, "timed_out": False, "started": False}
        queue = expiries("body")

        async def timed_receive() -> Message:
            if state["done"] or state["timed_out"]:  # body read: waiting for a disconnect has no deadline
                return await receive() if not state["timed_out"] else {"type": "http.disconnect"}
            # per chunk and in total are one deadline: a chunk's can never end after the body's
            expiry = queue.start(deadline)
            try:
                message = await receive()
            except asyncio.CancelledError:
                if not expiry.caught():
                    raise
                state["timed_out"] = True
                return {"type": "http.disconnect"}
            finally:
                expiry.finish()
            if message["type"] != "http.request" or not message.get("more_body", False):
                state["done"] = True
            return message

        async def guarded_send(message: Message) -> None:
            if state["timed_out"] and not state["started"]:
                return  # the answer to a request whose body never came: ours goes instead
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, timed_receive, guarded_send)
        finally:
            if state["timed_out"] and not state["started"]:
                await send_timeout(send)


async def send_timeout(send: Send) -> None:
    body: Any = orjson.dumps({"type": "about:blank", "title": "Request Timeout", "status": 408,
                              "detail": TIMED_OUT_DETAIL})
    await send({"type": "http.response.start", "status": 408, "headers": [
        (b"content-type", b"application/problem+json"), (b"content-length", b"%d" % len(body)),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
