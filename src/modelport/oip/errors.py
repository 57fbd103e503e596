"""The error tree mapped once for both OIP edges: ``{"error": ...}`` bodies and gRPC codes.

The OIP REST spec wants failures as ``{"error": "<message>"}`` with an HTTP error status (not
problem+json), and gRPC wants a status code. Both come from the same exception classes here,
so REST and gRPC always agree on what a failure means. 5xx details never leave the server.
"""

from __future__ import annotations

import logging

import grpc
import orjson
from starlette.responses import Response

from modelport.errors import (
    Conflict,
    DeadlineExceeded,
    Forbidden,
    ModelportError,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from modelport.storage.health import is_unreachable

log = logging.getLogger(__name__)

#: most specific first: the first class an error is an instance of decides its code
_GRPC_CODES: tuple[tuple[type[ModelportError], grpc.StatusCode], ...] = (
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (Unauthorized, grpc.StatusCode.UNAUTHENTICATED),
    (Forbidden, grpc.StatusCode.PERMISSION_DENIED),
    (RateLimited, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (PayloadTooLarge, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (Overloaded, grpc.StatusCode.UNAVAILABLE),  # Unavailable is a subclass
    (DeadlineExceeded, grpc.StatusCode.DEADLINE_EXCEEDED),
    (Conflict, grpc.StatusCode.FAILED_PRECONDITION),
)


def grpc_code(exc: ModelportError) -> grpc.StatusCode:
    """The gRPC status for an error: 4xx without a closer match is INVALID_ARGUMENT."""
    for cls, code in _GRPC_CODES:
        if isinstance(exc, cls):
            return code
    if 400 <= exc.status < 500:
        return grpc.StatusCode.INVALID_ARGUMENT
    return grpc.StatusCode.INTERNAL


def log_server_error(exc: BaseException) -> None:
    if isinstance(exc, ModelportError):
        if exc.status >= 500:
            log.error("OIP request failed: %s: %s", exc.code, exc.detail)
    else:
        log.error("OIP request failed unexpectedly", exc_info=exc)


def as_domain_error(exc: BaseException) -> BaseException:
    """A database that cannot be reached is Unavailable (503 / UNAVAILABLE), not a bug."""
    if not isinstance(exc, ModelportError) and is_unreachable(exc):
        return Unavailable("the database is unavailable; retry shortly")
    return exc


def public_message(exc: BaseException) -> str:
    """What the client sees: the safe detail of a domain error, a generic line otherwise."""
    if isinstance(exc, ModelportError):
        return exc.public_detail
    return "Internal Server Error"


def error_response(exc: BaseException) -> Response:
    """``{"error": ...}`` with the error's HTTP status and headers (Retry-After, WWW-Authenticate)."""
    exc = as_domain_error(exc)
    log_server_error(exc)
    status = exc.status if isinstance(exc, ModelportError) else 500
    headers = exc.headers if isinstance(exc, ModelportError) else None
    return Response(orjson.dumps({"error": public_message(exc)}), status_code=status,
                    media_type="application/json", headers=headers)
