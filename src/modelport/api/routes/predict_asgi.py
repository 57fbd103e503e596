"""The predict routes as raw ASGI endpoints, inside the one middleware stack.

Why: a prediction through FastAPI's route machinery (dependency solving, the request object,
the body parameter) cost several times the rest of the request once batching and the cache
amortise the model (measured in-process: ~45 against ~315 µs of CPU for a cached iris row).
These Starlette routes come first in the router and skip only that machinery: every middleware
still runs (the gate admitted the caller before the body, the deadline, request context,
hardening, tracing), errors go through the app's exception handlers, and the FastAPI routes in
:mod:`~modelport.api.routes.predict` still document the API (OpenAPI) and share its work.
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from modelport.api.routes.predict import run_predict
from modelport.api.schemas import BatchPredictRequest, PredictRequest
from modelport.core.gate import Gate
from modelport.errors import PayloadTooLarge
from modelport.web.control import ClientClosedRequest
from modelport.web.gate import CALL_KEY, context_from_scope

_JSON_HEADERS = [(b"content-type", b"application/json")]


class PredictEndpoint:
    """``POST /api/v1/models/{name}/predict`` (or ``/predict/batch``) as an ASGI app."""

    def __init__(self, path: str, body: type[PredictRequest | BatchPredictRequest], field: str,
                 max_body: int) -> None:
        self.path = path  # the route template, for metrics and the access log
        self.body = body
        self.field = field
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self  # FastAPI's router records only its own routes
        services = scope["app"].state.services
        state = scope.setdefault("state", {})
        ctx = state.get(CALL_KEY) or context_from_scope(scope, "http")
        principal = ctx.principal or await Gate(services).authenticate(ctx)
        Gate.check(principal, "predict")
        parsed: Any = parse(self.body, await read_body(scope, receive, self.max_body))
        name: str = scope["path_params"]["name"]
        cache_control = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"cache-control"),
                             None)
        answer = await run_predict(services, name, getattr(parsed, self.field), parsed.version, principal,
                                   cache_control=cache_control)
        await send({"type": "http.response.start", "status": 200,
                     "headers": [*_JSON_HEADERS, (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole body, refused with 413 past ``limit`` (declared or counted, chunked included)."""
    for key, value in scope["headers"]:
        if key == b"content-length" and value.isdigit() and int(value) > limit:
            raise PayloadTooLarge(f"request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientClosedRequest("client closed the connection")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body is larger than {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def parse(model: type[BaseModel], raw: bytes) -> BaseModel:
    """The body through its pydantic model (JSON parsed in pydantic's core); 422 names the field
    exactly as FastAPI's body parameter would."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):  # FastAPI's wording for it
            raise RequestValidationError([{"type": "json_invalid", "loc": ("body", 0),
                                           "msg": "JSON decode error", "input": {},
                                           "ctx": {"error": "invalid JSON"}}]) from None
        errors = [{**e, "loc": ("body", *e.get("loc", ()))} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


class HotRoute(Route):
    """A route that steps aside while FastAPI dependency overrides are set (tests acting as some
    principal override ``get_principal``, which only the FastAPI routes consult)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        app = scope.get("app")
        if getattr(app, "dependency_overrides", None):
            return Match.NONE, {}
        return super().matches(scope)


def routes(max_body: int) -> list[Route]:
    """The two raw routes, to be placed before the documented FastAPI ones."""
    one, batch = "/api/v1/models/{name}/predict", "/api/v1/models/{name}/predict/batch"
    return [
        HotRoute(one, PredictEndpoint(one, PredictRequest, "features", max_body),
              methods=["POST"], include_in_schema=False),
        HotRoute(batch, PredictEndpoint(batch, BatchPredictRequest, "samples", max_body),
              methods=["POST"], include_in_schema=False),
    ]
