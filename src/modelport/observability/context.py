"""Per-request context (request id, principal) in contextvars, readable from any layer."""

from __future__ import annotations

import os
import random
from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="")
principal_var: ContextVar[str | None] = ContextVar("principal", default=None)


def current_request_id() -> str:
    return request_id_var.get()


# Our own generator, seeded from os.urandom: nobody else's random.seed() can make ids repeat,
# and a forked child (Celery prefork, the embedded job pool) reseeds it so ids never collide.
_ids = random.Random()  # noqa: S311 - unique, not secret: see new_request_id
os.register_at_fork(after_in_child=_ids.seed)


def new_request_id() -> str:
    """32 hex characters, like ``uuid4().hex``, without a getrandom syscall per request.

    Request ids identify, they do not authorize (every lookup by id is scoped to its caller),
    so they need to be unique, not unpredictable.
    """
    return f"{_ids.getrandbits(128):032x}"
