"""Who is calling over gRPC: credentials come from call metadata instead of HTTP headers.

``authenticate_metadata`` is the only place the gRPC edge decides identity and scope, and it
resolves credentials exactly as the HTTP side does, so a key that works on ``/v2`` works on
gRPC: the same ``AuthService.resolve`` (401 for missing or bad credentials), the same per-caller
rate limit (429 → RESOURCE_EXHAUSTED), the same scope check (403 → PERMISSION_DENIED).
"""

from __future__ import annotations

from collections.abc import Iterable

from modelport.api.deps import Principal, resolve_caller
from modelport.bootstrap import Services
from modelport.errors import Forbidden

#: metadata keys read as credentials (gRPC lower-cases metadata keys)
CREDENTIAL_KEYS = ("authorization", "x-api-key")


def credentials(metadata: Iterable[tuple[str, str | bytes]] | None) -> dict[str, str]:
    """``authorization`` / ``x-api-key`` from call metadata, as the HTTP headers they stand for."""
    found: dict[str, str] = {}
    for key, value in metadata or ():
        name = key.lower()
        if name in CREDENTIAL_KEYS and name not in found:
            found[name] = value.decode("latin-1") if isinstance(value, bytes) else value
    return found


async def resolve_principal(services: Services, headers: dict[str, str]) -> Principal:
    """The principal for these credentials, as the HTTP dependency resolves it (see module doc)."""
    return await resolve_caller(services, headers.get("authorization"), headers.get("x-api-key"))


async def authenticate_metadata(services: Services, metadata: Iterable[tuple[str, str | bytes]] | None,
                                scope: str) -> Principal:
    """The caller, who must hold ``scope``; raises Unauthorized/Forbidden like the HTTP side."""
    principal = await resolve_principal(services, credentials(metadata))
    if not principal.has(scope):
        raise Forbidden(f"this credential lacks the {scope!r} scope")
    return principal
