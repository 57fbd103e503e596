"""OpenAI error objects for the ``/v1`` routes, mapped once from modelport's error tree.

``{"error": {"message", "type", "param", "code"}}`` with the HTTP status the SDK maps to its
exception classes (400 BadRequestError, 401 AuthenticationError, 404 NotFoundError, ...).
A route class does the mapping, so ``/api/v1`` keeps its problem+json bodies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from modelport.errors import ModelportError

log = logging.getLogger(__name__)

_TYPES = {401: "authentication_error", 403: "permission_error", 404: "invalid_request_error",
          429: "rate_limit_error"}


def error_body(message: str, status: int, *, param: str | None = None,
               code: str | None = None) -> dict[str, Any]:
    kind = _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def error_response(exc: Exception) -> Response:
    if isinstance(exc, ModelportError):
        if exc.status >= 500:
            log.error("openai request failed: %s: %s", exc.code, exc.detail)
        body = error_body(exc.public_detail, exc.status, code=exc.code)
        return Response(orjson.dumps(body), status_code=exc.status, media_type="application/json",
                        headers=exc.headers)
    if isinstance(exc, RequestValidationError):
        errors = exc.errors()
        # like OpenAI, an unrecognized argument is reported before anything else
        extra = [e for e in errors if e.get("type") == "extra_forbidden"]
        first = (extra or errors or [{}])[0]
        loc = [str(p) for p in first.get("loc", ()) if p != "body"]
        param = ".".join(loc) or None
        message = f"{param}: {first.get('msg', 'invalid')}" if param else str(first.get("msg", "invalid"))
        body = error_body(message, 400, param=param, code="invalid_value")
        return Response(orjson.dumps(body), status_code=400, media_type="application/json")
    log.error("unhandled error in /v1", exc_info=exc)
    body = error_body("Internal Server Error", 500, code="internal_error")
    return Response(orjson.dumps(body), status_code=500, media_type="application/json")


class OpenAIRoute(APIRoute):
    """Routes whose errors (validation, auth, domain) come back as OpenAI error objects."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except (ModelportError, RequestValidationError) as exc:
                return error_response(exc)

        return handler
