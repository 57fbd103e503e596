"""The one gate every call passes before the core: authenticate, rate-limit, check scope, audit.

Why one: REST, OIP REST, gRPC, the OpenAI routes and the jobs API used to reach the same
checks through a FastAPI module; now each edge builds a :class:`~modelport.core.calls.CallContext`
and asks the gate, so a key that works on one protocol works (and is limited) the same on all.
HTTP calls are admitted from the headers before the body is read (``web/gate.py``).
"""

from __future__ import annotations

from typing import Protocol

from modelport.core.calls import CallContext
from modelport.errors import Forbidden, RateLimited
from modelport.observability.context import principal_var
from modelport.ratelimit import RateLimiter
from modelport.security.principal import Principal
from modelport.security.service import AuthService
from modelport.settings import Settings
from modelport.tracking.refused import refused_record
from modelport.tracking.service import Tracking


class GateDeps(Protocol):
    """What the gate reads, looked up per call (tests swap ``auth`` or ``limiter`` on Services)."""

    settings: Settings
    auth: AuthService
    limiter: RateLimiter
    tracking: Tracking


class Gate:
    def __init__(self, deps: GateDeps) -> None:
        self.deps = deps

    async def authenticate(self, ctx: CallContext) -> Principal:
        """Credentials → principal (401), the caller's rate limit (429), and the audit context."""
        deps = self.deps
        principal = await deps.auth.resolve(ctx.authorization, ctx.api_key)
        if principal.kind != "anonymous":
            rate = principal.rate_limit or deps.settings.security.rate_limit
            try:
                await deps.limiter.hit(rate, "principal", principal.id)
            except RateLimited:  # a refusal still counts in usage per key (#17)
                deps.tracking.recorder.record(refused_record(principal.id, ctx.protocol))
                raise
        principal_var.set(principal.id)
        ctx.principal = principal
        return principal

    @staticmethod
    def check(principal: Principal, scope: str) -> Principal:
        """The principal must hold ``scope`` (``admin`` holds every scope): else 403."""
        if not principal.has(scope):
            raise Forbidden(f"this operation needs the {scope!r} scope")
        return principal

    async def admit(self, ctx: CallContext, scope: str) -> Principal:
        """Authenticate (once: a context already admitted keeps its principal), then check scope."""
        principal = ctx.principal
        if principal is None:
            principal = await self.authenticate(ctx)
        return self.check(principal, scope)
