"""Per-request context (request id, principal, trace id) in contextvars, readable from any layer.

Every log line of a request carries them (:func:`add_request_context`, a structlog processor),
the access line included. Why these and not structlog's ``bind_contextvars``: binding and
unbinding cost a context-variable lookup and set per key, and reading them back
(``get_contextvars``) copies the whole context; together that was about 4 us of every request,
for three values the request path sets anyway.
"""

from __future__ import annotations

import os
import random
import re
import time
from contextvars import ContextVar
from typing import Any

request_id_var: ContextVar[str] = ContextVar("request_id", default="")
principal_var: ContextVar[str | None] = ContextVar("principal", default=None)
trace_id_var: ContextVar[str | None] = ContextVar("trace_id", default=None)


def request_context() -> dict[str, str]:
    """The current request's ``request_id``, ``principal`` and ``trace_id``, those that are set."""
    found: dict[str, str] = {}
    if request_id := request_id_var.get():
        found["request_id"] = request_id
    if (principal := principal_var.get()) is not None:
        found["principal"] = principal
    if trace_id := trace_id_var.get():
        found["trace_id"] = trace_id
    return found


def add_request_context(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: the request context, under the keys the line does not set itself."""
    for key, value in request_context().items():
        event.setdefault(key, value)
    return event


def current_request_id() -> str:
    return request_id_var.get()


# Our own generator, seeded from os.urandom: nobody else's random.seed() can make ids repeat,
# and a forked child (Celery prefork, the embedded job pool) reseeds it so ids never collide.
_ids = random.Random()  # noqa: S311 - unique, not secret: see new_request_id
os.register_at_fork(after_in_child=_ids.seed)


def new_request_id() -> str:
    """A UUIDv7 as 32 hex digits (the form of ``uuid4().hex``): milliseconds first, then random.

    Time-ordered, because every logged prediction probes and extends the unique request id
    index: random ids land on random leaves, which SQLite re-reads and re-writes each batch (~50
    against ~15 us of CPU per row with 300k rows logged, ``bench/log_writer.py --ids``). The
    random bits come from a private generator rather than a getrandom syscall per request:
    request ids identify, they do not authorize (every lookup by id is scoped to its caller), so
    they need to be unique, not unpredictable.
    """
    value = (time.time_ns() // 1_000_000) << 80 | _ids.getrandbits(80)
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # RFC 9562 variant
    return f"{value:032x}"


_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_from(incoming: str) -> str:
    """The client's request id (``X-Request-ID``, gRPC metadata) when it is a sane token, else a fresh one."""
    return incoming if incoming and _VALID_ID.match(incoming) else new_request_id()
