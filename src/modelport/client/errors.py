"""Typed exceptions for error answers: each carries the server's problem+json body.

One class per status the API documents, so callers catch what they can handle
(``except NotFound``) and still read ``detail``, ``code``, ``errors`` and ``request_id``.
"""

from __future__ import annotations

from typing import Any

import httpx


class ModelportClientError(Exception):
    """Base of every error the client raises."""


class TransportError(ModelportClientError):
    """The server could not be reached, or the connection broke (no HTTP answer)."""


class ApiError(ModelportClientError):
    """An HTTP error answer; ``problem`` is the RFC 9457 body (or a stand-in built from the text)."""

    status: int

    def __init__(self, status: int, problem: dict[str, Any], headers: httpx.Headers | None = None) -> None:
        self.status = status
        self.problem = problem
        self.headers = headers or httpx.Headers()
        super().__init__(f"{status} {self.title}: {self.detail}")

    @property
    def title(self) -> str:
        return str(self.problem.get("title", ""))

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail", ""))

    @property
    def code(self) -> str:
        return str(self.problem.get("code", ""))

    @property
    def request_id(self) -> str | None:
        value = self.problem.get("request_id")
        return str(value) if value is not None else None

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Per-field messages of a validation error (``field``, ``message``)."""
        value = self.problem.get("errors")
        return list(value) if isinstance(value, list) else []


class BadRequest(ApiError):
    """400."""


class Unauthorized(ApiError):
    """401: no credential, or an invalid or expired one."""


class Forbidden(ApiError):
    """403: the credential lacks the scope or access."""


class NotFound(ApiError):
    """404."""


class Conflict(ApiError):
    """409, e.g. deleting a version an alias points at."""


class PayloadTooLarge(ApiError):
    """413."""


class ValidationFailed(ApiError):
    """422: the body or a parameter is invalid; ``errors`` names the fields."""


class RateLimited(ApiError):
    """429; ``retry_after`` is the server's ``Retry-After`` in seconds."""

    @property
    def retry_after(self) -> float | None:
        value = self.headers.get("retry-after")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


class ServerError(ApiError):
    """5xx other than 503 and 504."""


class Unavailable(ServerError):
    """503: overloaded or not ready; retry later."""


class DeadlineExceeded(ServerError):
    """504: the request's deadline passed."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict,
    413: PayloadTooLarge, 422: ValidationFailed, 429: RateLimited, 503: Unavailable, 504: DeadlineExceeded,
}


def error_for(response: httpx.Response) -> ApiError:
    """The typed exception for an error ``response`` (whose body has been read)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {"status": response.status_code, "title": response.reason_phrase,
                "detail": response.text[:500]}
    status = response.status_code
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    return cls(status, body, response.headers)
