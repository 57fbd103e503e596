"""``Annotated`` dependency aliases shared by every route module.

Routes declare what they need (``ServicesDep``, a scope through ``require``) and stay thin;
the validation that raises domain errors lives here. ``require(scope)`` resolves the caller
from ``Authorization: Bearer <JWT or API key>`` or ``X-API-Key`` (401 with ``WWW-Authenticate``
when missing or invalid), applies the caller's rate limit (429), checks the scope (403), and
puts the principal id into the request's log context for audit.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from modelport.bootstrap import Services
from modelport.errors import Forbidden, RateLimited
from modelport.observability.context import principal_var
from modelport.security.principal import ANONYMOUS, Principal
from modelport.tracking.refused import refused_record

__all__ = ["ANONYMOUS", "Principal", "PrincipalDep", "ServicesDep", "get_principal", "require",
           "require_account", "SCOPE_ATTR"]

SCOPE_ATTR = "__modelport_scope__"
ACCOUNT = "account"  # pseudo-scope: a user's own token, or an admin credential


async def get_services(request: Request) -> Services:
    # async on purpose: FastAPI runs a plain ``def`` dependency in a worker thread per request
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]

# Declared for the OpenAPI document (Swagger UI's "Authorize"); the values are read from the
# headers directly so any credential kind works in either header.
_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False,
                               description="A JWT from /api/v1/auth/token, or an API key (mp_...)")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key (mp_...)")


async def get_principal(
    request: Request,
    services: ServicesDep,
    _token: Annotated[str | None, Depends(_bearer)],
    _key: Annotated[str | None, Depends(_api_key)],
) -> Principal:
    headers = request.headers
    principal = await resolve_caller(services, headers.get("authorization"), headers.get("x-api-key"))
    request.state.principal = principal
    return principal


async def resolve_caller(services: Services, authorization: str | None, api_key: str | None) -> Principal:
    """Credentials → principal (401), the caller's rate limit (429), and the audit context.

    Every edge calls this: HTTP headers here, gRPC call metadata in :mod:`modelport.oip.auth`.
    """
    principal = await services.auth.resolve(authorization, api_key)
    if principal.kind != "anonymous":
        try:
            await services.limiter.hit(principal.rate_limit or services.settings.rate_limit,
                                       "principal", principal.id)
        except RateLimited:  # counted in usage per key (trust, #17)
            services.tracking.recorder.record(refused_record(principal.id))
            raise
    principal_var.set(principal.id)
    return principal


def require(scope: str) -> Any:
    """Dependency: the caller must hold ``scope`` (``admin`` holds every scope)."""

    async def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not principal.has(scope):
            raise Forbidden(f"this operation needs the {scope!r} scope")
        return principal

    setattr(dependency, SCOPE_ATTR, scope)
    return Depends(dependency)


def require_account() -> Any:
    """Dependency for managing one's own credentials: a user's token, or an admin credential.

    A plain API key cannot mint more keys: a leaked key must not be able to outlive its revocation.
    """

    async def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not (principal.kind in ("user", "anonymous") or principal.is_admin):
            raise Forbidden("managing keys needs a user token (POST /api/v1/auth/token) or an admin key")
        return principal

    setattr(dependency, SCOPE_ATTR, ACCOUNT)
    return Depends(dependency)


PrincipalDep = Annotated[Principal, require("predict")]
