"""Pure-ASGI request middleware: request id, HTTP metrics, one access log line per request.

Pure ASGI (not ``BaseHTTPMiddleware``) because it sits on every request's hot path and must not
buffer streamed responses.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelport.core.traffic import request_headers_var
from modelport.observability import logging as logs
from modelport.observability.context import principal_var, request_id_from, request_id_var
from modelport.observability.metrics import Metrics

UNTRACKED_PREFIXES = ("/health", "/metrics")
#: the request id in the ASGI scope: Starlette's last-resort 500 handler runs outside this
#: middleware (its context variable is reset by then) but sees the same scope
REQUEST_ID_SCOPE_KEY = "modelport.request_id"


class RequestObserver:
    """HTTP metrics and the access log line of one finished request (shared with the fast lane)."""

    def __init__(self, metrics: Metrics, access_log: bool = True) -> None:
        self.metrics = metrics
        self.access_log = access_log
        # label lookups cost more than the increments: keep the children per label set
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._histograms: dict[tuple[str, str], Any] = {}

    def observe(self, method: str, template: str, path: str, status: int, elapsed: float) -> None:
        counter = self._counters.get((method, template, status))
        if counter is None:
            counter = self.metrics.http_requests.labels(method, template, str(status))
            self._counters[(method, template, status)] = counter
        counter.inc()
        histogram = self._histograms.get((method, template))
        if histogram is None:
            histogram = self.metrics.http_latency.labels(method, template)
            self._histograms[(method, template)] = histogram
        histogram.observe(elapsed)
        if self.access_log:
            logs.access_line(method, path, status, elapsed * 1000)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, observer: RequestObserver) -> None:
        self.app = app
        self.observer = observer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = request_id_from(incoming)
        scope[REQUEST_ID_SCOPE_KEY] = request_id  # for the 500 handler, which runs outside this
        token = request_id_var.set(request_id)
        principal_token = principal_var.set(None)
        request_headers_var.set(scope["headers"])  # for `header:` sticky traffic policies (#20)
        header = (b"x-request-id", request_id.encode())
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            path: str = scope["path"]
            if not path.startswith(UNTRACKED_PREFIXES):
                route = scope.get("route")
                template = getattr(route, "path", None) or "<unmatched>"
                self.observer.observe(scope["method"], template, path, status, elapsed)
            request_id_var.reset(token)
            principal_var.reset(principal_token)
