"""``Annotated`` dependency aliases shared by every route module.

Routes declare what they need (``ServicesDep``, a scope through ``require``) and stay thin;
the validation that raises domain errors lives here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from modelport.bootstrap import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user or an API key, with the scopes it was granted."""

    id: str
    kind: str  # "user" | "key" | "anonymous"
    scopes: frozenset[str] = field(default_factory=frozenset)
    owner: str | None = None

    def has(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


ANONYMOUS = Principal(id="anonymous", kind="anonymous",
                      scopes=frozenset({"predict", "models:read", "models:write", "jobs", "admin"}))


def require(scope: str) -> object:
    """Dependency factory: the caller must hold ``scope`` (security issue fills this in)."""

    async def dependency(request: Request) -> Principal:
        principal: Principal = getattr(request.state, "principal", ANONYMOUS)
        return principal

    return Depends(dependency)


PrincipalDep = Annotated[Principal, require("predict")]
