"""Who is calling over gRPC: credentials come from call metadata instead of HTTP headers.

The servicer turns metadata into a :class:`~modelport.core.calls.CallContext` and asks the one
gate (:mod:`modelport.core.gate`), so a key that works on ``/v2`` works on gRPC: the same
``AuthService.resolve`` (401 → UNAUTHENTICATED), the same per-caller rate limit (429 →
RESOURCE_EXHAUSTED), the same scope check (403 → PERMISSION_DENIED).
"""

from __future__ import annotations

from collections.abc import Iterable

from modelport.core.calls import CallContext
from modelport.core.gate import Gate
from modelport.security.principal import Principal

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


def grpc_context(metadata: Iterable[tuple[str, str | bytes]] | None) -> CallContext:
    """A call context holding the credentials of a gRPC call's metadata."""
    found = credentials(metadata)
    return CallContext(protocol="grpc", authorization=found.get("authorization"),
                       api_key=found.get("x-api-key"))


async def authenticate_metadata(gate: Gate, metadata: Iterable[tuple[str, str | bytes]] | None,
                                scope: str) -> Principal:
    """The caller, who must hold ``scope``; raises Unauthorized/Forbidden like the HTTP side."""
    return await gate.admit(grpc_context(metadata), scope)
