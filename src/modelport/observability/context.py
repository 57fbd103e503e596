"""Per-request context (request id, principal) in contextvars, readable from any layer."""

from __future__ import annotations

from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="")
principal_var: ContextVar[str | None] = ContextVar("principal", default=None)


def current_request_id() -> str:
    return request_id_var.get()
