"""The scopes a principal can hold, and what each one allows.

``admin`` implies every other scope. ``metrics`` is a read-only scope for Prometheus scrapers,
so a scraper's credential cannot predict, read models or manage anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

from modelport.errors import InvalidInput

ScopeName = Literal["predict", "models:read", "models:write", "jobs", "metrics", "admin"]
SCOPES: Final[tuple[str, ...]] = ("predict", "models:read", "models:write", "jobs", "metrics", "admin")
ADMIN: Final = "admin"
DEFAULT_USER_SCOPES: Final[tuple[str, ...]] = ("predict", "models:read")


def normalize(scopes: Iterable[str]) -> frozenset[str]:
    """Validate scope names; unknown names are a client error, never silently dropped."""
    out = frozenset(s.strip() for s in scopes if s.strip())
    unknown = sorted(out - set(SCOPES))
    if unknown:
        raise InvalidInput(f"unknown scope(s) {', '.join(repr(u[:32]) for u in unknown[:5])}; "
                           f"known: {', '.join(SCOPES)}")
    return out


def grants(held: frozenset[str], wanted: str) -> bool:
    return wanted in held or ADMIN in held


def covers(held: frozenset[str], wanted: Iterable[str]) -> bool:
    """True when ``held`` may hand out every scope of ``wanted`` (no privilege escalation)."""
    return ADMIN in held or all(w in held for w in wanted)
