"""Deadlines and hang-ups for every HTTP inference route, in one pure-ASGI middleware.

Why a middleware: ``X-Request-Timeout`` and client disconnects used to be handled by the
``/api/v1`` predict route only, so ``/embed``, ``/v1/*`` and ``/v2`` infer ran on long after
the client had given up. Here every inference path gets a deadline (the header, else
``MODELPORT_REQUEST_TIMEOUT``), carried to the core in the call context (the batcher drops
queued work past it); at the deadline the route is cancelled (a queued request leaves the queue,
a running model call is abandoned) and the client gets 504 in its edge's format. A client that
hangs up once its body is read has the route cancelled too (its queued rows leave the queue, a
stream stops at the next token).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelport.core.calls import call_var
from modelport.errors import DeadlineExceeded, ModelportError
from modelport.web.control import TIMEOUT_HEADER, ClientClosedRequest, request_deadline, until_disconnect
from modelport.web.gate import CALL_KEY, Renderer, context_from_scope

_TIMEOUT = TIMEOUT_HEADER.encode()
GRACE_S = 0.01
_ANSWERED: Message = {"type": "modelport.answered"}


class DeadlineMiddleware:
    """``paths``: the routes that run models; ``renderers``: error formats by path prefix."""

    def __init__(self, app: ASGIApp, default_timeout: float, paths: re.Pattern[str], default: Renderer,
                 renderers: Sequence[tuple[str, Renderer]] = ()) -> None:
        self.app = app
        self.default_timeout = default_timeout
        self.paths = paths
        self.default = default
        self.renderers = tuple(renderers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.paths.fullmatch(scope["path"]) is None:
            await self.app(scope, receive, send)
            return
        raw = next((v.decode("latin-1") for k, v in scope["headers"] if k == _TIMEOUT), None)
        try:
            deadline = request_deadline(raw, self.default_timeout)
        except ModelportError as exc:
            await self._render(scope, exc)(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        ctx = state.get(CALL_KEY)
        if ctx is None:
            ctx = state[CALL_KEY] = context_from_scope(scope, "http")
        ctx.deadline = deadline
        body_read = asyncio.Event()
        started = finished = False

        async def receive_tracked() -> Message:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_read.set()
            return message

        async def after_body() -> Message:
            """The disconnect watcher's ``receive``: it waits until the route has its body, and
            ignores the end of the connection once the answer is out (the route may still be
            cleaning up, e.g. closing uploaded files)."""
            await body_read.wait()
            message = await receive()
            return _ANSWERED if finished else message

        async def send_tracked(message: Message) -> None:
            nonlocal started, finished
            if message["type"] == "http.response.start":
                started = True
            elif not message.get("more_body", False):
                finished = True
            await send(message)

        token = call_var.set(ctx)
        try:
            # a hair after the batcher's own expiry, so queued work is counted as expired there
            async with asyncio.timeout(deadline - time.monotonic() + GRACE_S):
                await until_disconnect(after_body, self.app(scope, receive_tracked, send_tracked))
        except TimeoutError:
            ctx.cancelled.set()
            if not started:
                error = DeadlineExceeded("request deadline passed; the answer was not ready")
                await self._render(scope, error)(scope, receive, send)
            elif not finished:  # a stream that already began ends here (an SSE client sees no [DONE])
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except ClientClosedRequest as exc:
            ctx.cancelled.set()
            if not started:  # nobody reads it: for the access log and metrics (499)
                await self._render(scope, exc)(scope, receive, send)
        finally:
            call_var.reset(token)

    def _render(self, scope: Scope, exc: ModelportError) -> ASGIApp:
        path: str = scope["path"]
        for prefix, render in self.renderers:
            if path.startswith(prefix):
                return render(exc)
        return self.default(exc)


#: the routes that run a model (and so take a deadline): /api/v1 predict, file, embed, classify
#: and collection search; OpenAI embeddings and chat; OIP infer
INFERENCE_PATHS = re.compile(
    r"/api/v1/models/[^/]+/(?:predict(?:/batch|/file)?|embed|classify)"
    r"|/api/v1/collections/[^/]+/search"
    r"|/v1/(?:embeddings|chat/completions)"
    r"|/v2/models/[^/]+(?:/versions/[^/]+)?/infer"
)
