"""The call context: what every edge knows about a call before the core runs it.

Why: credentials, request id, deadline, cache policy and cancellation used to live in each
edge's own variables (HTTP headers, gRPC metadata), so every check was written once per edge.
An edge fills a :class:`CallContext` from its protocol; the gate admits it and the core obeys
its deadline and cancellation, whatever the transport.
"""

from __future__ import annotations

import asyncio
import time
from contextvars import ContextVar
from dataclasses import dataclass, field

from modelport.security.principal import Principal


@dataclass(slots=True)
class CallContext:
    """One call, transport-neutral.

    ``deadline`` is a ``time.monotonic()`` instant (None: the server default applies);
    ``cancelled`` is set by the edge when the client goes away; ``principal`` is filled in by
    :meth:`modelport.core.gate.Gate.admit`.
    """

    protocol: str
    authorization: str | None = None
    api_key: str | None = None
    request_id: str | None = None
    deadline: float | None = None
    use_cache: bool = True
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    principal: Principal | None = None

    def remaining(self) -> float | None:
        """Seconds left until the deadline (None when the call has none)."""
        return None if self.deadline is None else self.deadline - time.monotonic()


#: the call being served in this task (set by the edge that runs it; None outside a call)
call_var: ContextVar[CallContext | None] = ContextVar("call", default=None)


def call_deadline() -> float | None:
    """The current call's deadline, when an edge set one (the core's default applies otherwise)."""
    ctx = call_var.get()
    return None if ctx is None else ctx.deadline
