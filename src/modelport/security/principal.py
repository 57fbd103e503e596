"""Who is calling: a user (JWT) or an API key, with the scopes it was granted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from modelport.security.scopes import SCOPES, grants

PrincipalKind = Literal["user", "key", "anonymous"]


@dataclass(frozen=True, slots=True)
class Principal:
    """``id`` is what audit logs record: ``key:<key id>`` or ``user:<username>``.

    ``owner`` is the id of the user who owns the credential (ownership checks use it);
    ``rate_limit`` is the key's own limit, or None for the server default;
    ``models`` holds the model-name pattern lists that limit it (see ``model_access``).
    """

    id: str
    kind: PrincipalKind
    scopes: frozenset[str] = field(default_factory=frozenset)
    owner: str | None = None
    rate_limit: str | None = None
    models: tuple[tuple[str, ...], ...] = ()

    def has(self, scope: str) -> bool:
        return grants(self.scopes, scope)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.scopes


ANONYMOUS = Principal(id="anonymous", kind="anonymous", scopes=frozenset(SCOPES))
"""Used only when ``MODELPORT_AUTH=disabled``: every scope, for local experiments."""
