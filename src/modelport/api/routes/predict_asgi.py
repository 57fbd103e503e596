"""The predict routes as raw ASGI endpoints, inside the one middleware stack.

Why: a prediction through FastAPI's route machinery (dependency solving, the request object,
the body parameter) cost several times the rest of the request once batching and the cache
amortise the model (measured in-process: ~45 against ~315 µs of CPU for a cached iris row).
These Starlette routes come first in the router and skip only that machinery: every middleware
still runs (the gate admitted the caller before the body, the deadline, request context,
hardening, tracing), errors go through the app's exception handlers, and the FastAPI routes in
:mod:`~modelport.api.routes.predict` still document the API (OpenAPI) and share its work (they
answer only in an app built without these routes).
"""

from __future__ import annotations

from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from modelport.api.routes.predict import predict_request
from modelport.core.gate import Gate
from modelport.web.gate import CALL_KEY, context_from_scope

_JSON_HEADERS = [(b"content-type", b"application/json")]


class PredictEndpoint:
    """``POST /api/v1/models/{name}/predict`` (or ``/predict/batch``) as an ASGI app."""

    def __init__(self, path: str, field: str) -> None:
        self.path = path  # the route template, for metrics and the access log
        self.field = field

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self  # FastAPI's router records only its own routes
        services = scope["app"].state.services
        state = scope.setdefault("state", {})
        ctx = state.get(CALL_KEY) or context_from_scope(scope, "http")
        principal = ctx.principal or await Gate(services).authenticate(ctx)
        Gate.check(principal, "predict")
        answer = await predict_request(services, scope, receive, principal, self.field)
        await send({"type": "http.response.start", "status": 200,
                     "headers": [*_JSON_HEADERS, (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})


def routes() -> list[Route]:
    """The two raw routes, to be placed before the documented FastAPI ones."""
    one, batch = "/api/v1/models/{name}/predict", "/api/v1/models/{name}/predict/batch"
    return [
        Route(one, PredictEndpoint(one, "features"), methods=["POST"], include_in_schema=False),
        Route(batch, PredictEndpoint(batch, "samples"), methods=["POST"], include_in_schema=False),
    ]
