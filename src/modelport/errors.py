"""One exception tree for the whole service.

Every edge (REST problem+json, OIP JSON, gRPC status, OpenAI error objects) maps these
once; the core never knows which protocol it serves. ``status`` is the HTTP status an edge
should use; ``code`` is a stable machine-readable slug; ``detail`` is safe to show a client
(never tensors or secrets). 5xx errors expose only a generic message.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ModelportError(Exception):
    """Base of every error the service raises on purpose."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal Server Error"

    def __init__(self, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra
        self.headers: dict[str, str] = {}

    @property
    def public_detail(self) -> str:
        """What a client may see: 5xx details stay in the log."""
        return self.title if self.status >= 500 else self.detail


class NotFound(ModelportError):
    status = 404
    code = "not_found"
    title = "Not Found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class VersionNotFound(NotFound):
    code = "version_not_found"


class InvalidInput(ModelportError):
    """The request is well-formed JSON but its content cannot be served (shape, dtype, NaN...)."""

    status = 400
    code = "invalid_input"
    title = "Bad Request"


class ValidationFailed(ModelportError):
    """A field failed schema validation (wrong type, unknown field, out of range)."""

    status = 422
    code = "validation_error"
    title = "Unprocessable Content"


class Conflict(ModelportError):
    status = 409
    code = "conflict"
    title = "Conflict"


class Unauthorized(ModelportError):
    status = 401
    code = "unauthorized"
    title = "Unauthorized"

    def __init__(self, detail: str = "", **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.headers["WWW-Authenticate"] = 'Bearer realm="modelport"'


class Forbidden(ModelportError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class PayloadTooLarge(ModelportError):
    status = 413
    code = "payload_too_large"
    title = "Content Too Large"


class UnsupportedMediaType(ModelportError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported Media Type"


class RateLimited(ModelportError):
    status = 429
    code = "rate_limited"
    title = "Too Many Requests"

    def __init__(self, detail: str = "", retry_after: float = 1.0, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after
        self.headers["Retry-After"] = str(max(1, int(retry_after + 0.999)))


class ModelError(ModelportError):
    """The model raised while predicting: a server-side fault, details only in the log."""

    status = 500
    code = "model_error"
    title = "Internal Server Error"


class ArtifactIntegrityError(ModelportError):
    """An artifact's bytes do not match the checksum recorded at registration."""

    status = 500
    code = "artifact_integrity"
    title = "Internal Server Error"


class UnsafeArtifact(ModelportError):
    """An artifact format that can execute code on load, refused by policy."""

    status = 400
    code = "unsafe_artifact"
    title = "Bad Request"


class Overloaded(ModelportError):
    """Backpressure: a bounded queue is full. Clients should retry after a short pause."""

    status = 503
    code = "overloaded"
    title = "Service Unavailable"

    def __init__(self, detail: str = "", retry_after: float = 1.0, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after
        self.headers["Retry-After"] = str(max(1, int(retry_after + 0.999)))

    @property
    def public_detail(self) -> str:
        return self.detail


class Unavailable(Overloaded):
    """Not ready (starting, draining, a worker crashed)."""

    code = "unavailable"


class DeadlineExceeded(ModelportError):
    status = 504
    code = "deadline_exceeded"
    title = "Gateway Timeout"

    @property
    def public_detail(self) -> str:
        return self.detail
