"""The hot path in pure ASGI: ``POST /api/v1/models/{name}/predict`` (and ``/predict/batch``).

Why: measured in-process, FastAPI's per-request machinery (dependency solving, route matching,
exception-handler wrappers, the middleware stack) cost more CPU than everything else a
prediction does once batching amortises the model, and on one event loop CPU per request is
throughput. The lane does what the middleware stack and the route do, in one function, with
the same pieces: request id, security headers and the NUL check (:mod:`~modelport.api.hardening`),
credentials, rate limit and scope (:func:`~modelport.api.deps.resolve_caller`), body parsing
(:mod:`~modelport.api.predict_body`), the route's work (:func:`~modelport.api.routes.predict.run_predict`),
the problem+json error bodies (:mod:`~modelport.api.problems`), HTTP metrics and the access
log (:class:`~modelport.api.middleware.RequestObserver`).

It takes only the plain case and hands anything else, untouched, to the full app, whose FastAPI
routes stay the documented API: tracing on or a ``traceparent`` to honour, a CORS ``Origin``,
a body that is not JSON or is encoded, no ``Content-Length`` or one over the body limit, and
``%00`` in the path or query. ``tests/api/test_fastlane.py`` sends the same requests both ways
and compares the answers.
"""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING

from fastapi.exceptions import RequestValidationError
from starlette.types import Message, Receive, Scope, Send

from modelport.api import problems
from modelport.api.control import TIMEOUT_HEADER, ClientClosedRequest
from modelport.api.deps import resolve_caller
from modelport.api.hardening import API_HEADERS, HSTS, NUL_DETAIL, NulScanner
from modelport.api.middleware import RequestObserver, request_id_from
from modelport.api.predict_body import parse_predict_body
from modelport.api.routes.predict import run_predict
from modelport.errors import Forbidden, ModelportError
from modelport.observability.context import principal_var, request_id_var
from modelport.storage.health import is_unreachable

if TYPE_CHECKING:
    from modelport.bootstrap import Services

log = logging.getLogger(__name__)
PREFIX = "/api/v1/models/"
_PATH = re.compile(r"/api/v1/models/([^/]+)/predict(/batch)?")
ROUTES = ("/api/v1/models/{name}/predict", "/api/v1/models/{name}/predict/batch")
_JSON = b"application/json"
#: headers the lane reads; the first occurrence wins, as with Starlette's ``Headers.get``
_WANTED = frozenset((b"authorization", b"x-api-key", b"x-request-id", b"content-type", b"content-length",
                     b"cache-control", b"x-request-timeout", b"origin", b"traceparent", b"content-encoding",
                     b"transfer-encoding", b"inference-header-content-length"))
#: any of these sends the request through the full app
_HANDOVER = frozenset((b"traceparent", b"content-encoding", b"inference-header-content-length"))


class FastLane:
    def __init__(self, services: Services, observer: RequestObserver) -> None:
        self.services = services
        self.observer = observer
        self.max_body = services.settings.max_body_bytes
        self.cors = bool(services.settings.cors_origins)

    def claim(self, scope: Scope) -> tuple[str, bool, dict[bytes, bytes]] | None:
        """(model name, batch?, headers) when the lane answers this request, else None."""
        if scope["method"] != "POST" or self.services.tracing.enabled:
            return None
        path: str = scope["path"]
        if not path.startswith(PREFIX) or (match := _PATH.fullmatch(path)) is None:
            return None
        raw_path = scope.get("raw_path") or b""
        if b"%00" in raw_path or (b"%2f" in raw_path or b"%2F" in raw_path) or scope["query_string"]:
            return None
        headers: dict[bytes, bytes] = {}
        for key, value in scope["headers"]:
            if key in _WANTED:
                if key not in headers:
                    headers[key] = value
                elif key == b"content-type":
                    return None  # two of them: the full app refuses the request
        if not _HANDOVER.isdisjoint(headers) or (self.cors and b"origin" in headers):
            return None
        ctype = headers.get(b"content-type")
        if ctype is not None and ctype.split(b";", 1)[0].strip().lower() != _JSON:
            return None
        length = headers.get(b"content-length")
        if length is None or not length.isdigit() or int(length) > self.max_body:
            return None
        return match.group(1), match.group(2) is not None, headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send,
                       claim: tuple[str, bool, dict[bytes, bytes]]) -> None:
        name, batch, headers = claim
        started = time.perf_counter()
        request_id = request_id_from(headers.get(b"x-request-id", b"").decode("latin-1"))
        rid_token = request_id_var.set(request_id)
        principal_token = principal_var.set(None)
        https = scope.get("scheme") == "https"
        status = 500
        try:
            try:
                body = await self._work(name, batch, headers, receive)
            except Exception as exc:  # every failure becomes the problem body the app would send
                await self._fail(exc, scope, receive, send, _extra_headers(request_id, https))
                status = _status_of(exc)
                return
            own = [(b"content-type", _JSON), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 200,
                        "headers": [*own, *_extra_headers(request_id, https)]})
            await send({"type": "http.response.body", "body": body})
            status = 200
        finally:
            path = ROUTES[1] if batch else ROUTES[0]
            self.observer.observe("POST", path, scope["path"], status, time.perf_counter() - started)
            request_id_var.reset(rid_token)
            principal_var.reset(principal_token)

    async def _work(self, name: str, batch: bool, headers: dict[bytes, bytes], receive: Receive) -> bytes:
        raw = await _read_body(receive)
        if b"\x00" in raw or (b"\\u0000" in raw and NulScanner(form=False).feed(raw)):
            raise _NulFound
        auth = headers.get(b"authorization")
        key = headers.get(b"x-api-key")
        principal = await resolve_caller(self.services, auth.decode("latin-1") if auth is not None else None,
                                         key.decode("latin-1") if key is not None else None)
        if not principal.has("predict"):
            raise Forbidden("this operation needs the 'predict' scope")
        parsed = parse_predict_body(raw, "samples" if batch else "features", flat_ok=not batch)
        timeout = headers.get(TIMEOUT_HEADER.encode())
        cache_control = headers.get(b"cache-control")
        return await run_predict(
            self.services, name, parsed.rows, parsed.version, principal,
            timeout_header=timeout.decode("latin-1") if timeout is not None else None,
            cache_control=cache_control.decode("latin-1") if cache_control is not None else None,
            receive=receive, confidence_threshold=parsed.confidence_threshold, single_row=parsed.single_row,
        )

    async def _fail(self, exc: Exception, scope: Scope, receive: Receive, send: Send,
                    extra: list[tuple[bytes, bytes]]) -> None:
        if isinstance(exc, _NulFound):
            response = problems.problem(400, "Bad Request", NUL_DETAIL, code="invalid_input")
        elif isinstance(exc, ModelportError):
            response = await problems.modelport_error(None, exc)  # type: ignore[arg-type]
        elif isinstance(exc, RequestValidationError):
            response = await problems.request_validation_error(None, exc)  # type: ignore[arg-type]
        else:
            response = await problems.unhandled_error(None, exc)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await response(scope, receive, send_with_headers)


def _extra_headers(request_id: str, https: bool) -> list[tuple[bytes, bytes]]:
    """What every answer of the lane carries besides its own: request id, security headers."""
    extra = [(b"x-request-id", request_id.encode()), *API_HEADERS]
    if https:
        extra.append(HSTS)
    return extra


class _NulFound(Exception):
    """The body holds a NUL character (or its JSON escape): 400, as the hardening middleware says."""


def _status_of(exc: Exception) -> int:
    if is_unreachable(exc):
        return 503
    if isinstance(exc, _NulFound):
        return 400
    if isinstance(exc, ModelportError):
        return exc.status
    if isinstance(exc, RequestValidationError):
        return 422
    return 500


async def _read_body(receive: Receive) -> bytes:
    """The whole body (its size was checked against Content-Length when the lane claimed it)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientClosedRequest("client closed the connection")
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)
