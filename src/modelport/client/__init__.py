"""The modelport Python client: ``Client`` (blocking) and ``AsyncClient`` for the ``/api/v1`` API.

    from modelport.client import Client
    with Client("http://127.0.0.1:8000", api_key=key) as mp:
        answer = mp.predict("iris", [5.1, 3.5, 1.4, 0.2])
        answer.predictions, answer.confidence

Answers are :class:`Record` objects whose attributes are the JSON answer's fields; errors are
:class:`ApiError` subclasses carrying the problem+json body. The CLI uses this client in
remote mode (``modelport --url ...``).
"""

from modelport.client.aio import AsyncClient, AsyncJobHandle
from modelport.client.errors import (
    ApiError,
    BadRequest,
    Conflict,
    DeadlineExceeded,
    Forbidden,
    ModelportClientError,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
    Unavailable,
    ValidationFailed,
)
from modelport.client.records import Job, Prediction, Record
from modelport.client.sync import Client, JobHandle

__all__ = [
    "ApiError", "AsyncClient", "AsyncJobHandle", "BadRequest", "Client", "Conflict", "DeadlineExceeded",
    "Forbidden", "Job", "JobHandle", "ModelportClientError", "NotFound", "PayloadTooLarge", "Prediction",
    "RateLimited", "Record", "ServerError", "TransportError", "Unauthorized", "Unavailable",
    "ValidationFailed",
]
