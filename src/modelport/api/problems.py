"""RFC 9457 problem+json bodies for every HTTP error, mapped once from the error tree.

Validation errors list the failing fields (location and message) without echoing the input;
5xx bodies carry only a generic title and the request id, details go to the log.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from modelport.errors import ModelportError
from modelport.observability.context import current_request_id
from modelport.storage.health import is_unreachable

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, *, code: str, headers: dict[str, str] | None = None,
            **extra: Any) -> Response:
    body: dict[str, Any] = {
        "type": f"https://modelport.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": current_request_id(),
    }
    body.update(extra)
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM, headers=headers)


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    return [{"field": _loc(e.get("loc", ())), "message": str(e.get("msg", "invalid"))}
            for e in exc.errors()[:20]]


def error_response(exc: ModelportError) -> Response:
    """The problem+json answer for a domain error (5xx details go to the log only)."""
    if exc.status >= 500:
        log.error("request failed: %s: %s", exc.code, exc.detail)
    return problem(exc.status, exc.title, exc.public_detail, code=exc.code, headers=exc.headers)


async def modelport_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ModelportError)
    return error_response(exc)


async def request_validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(exc)
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:3])
    return problem(422, "Unprocessable Content", detail, code="validation_error", errors=errors)


async def http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    title = {400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 413: "Content Too Large"}.get(
        exc.status_code, "Error"
    )
    code = {400: "invalid_input", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
        exc.status_code, "http_error"
    )
    detail = exc.detail if isinstance(exc.detail, str) else title
    return problem(exc.status_code, title, detail, code=code, headers=dict(exc.headers or {}))


async def unhandled_error(request: Request | None, exc: Exception) -> Response:
    """The last resort: a generic 500 that still names the request (body and ``X-Request-ID``)."""
    request_id = current_request_id()
    if not request_id and request is not None:
        request_id = str(request.scope.get("modelport.request_id", ""))
    headers = {"X-Request-ID": request_id} if request_id and current_request_id() != request_id else {}
    if is_unreachable(exc):  # a sick database is not a bug: retry later
        log.warning("request %s: database unreachable (%s: %s)", request_id, type(exc).__name__,
                    str(exc).splitlines()[0][:200] if str(exc) else "")
        return problem(503, "Service Unavailable", "the database is unavailable; retry shortly",
                       code="unavailable", headers={**headers, "Retry-After": "1"}, request_id=request_id)
    log.error("unhandled error (request %s)", request_id, exc_info=exc)
    return problem(500, "Internal Server Error", "Internal Server Error", code="internal_error",
                   headers=headers or None, request_id=request_id)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ModelportError, modelport_error)
    app.add_exception_handler(RequestValidationError, request_validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unhandled_error)
    # a database that cannot be reached answers 503 here, inside the app (the last-resort
    # handler above re-raises to the server after answering)
    for cls in (SQLAlchemyError, OSError):
        app.add_exception_handler(cls, unhandled_error)
