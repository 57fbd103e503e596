"""An alias's traffic policy and the choice of the version (arm) that serves one request.

A policy splits an alias's requests between versions by weight, optionally keeps each caller on
one arm (``sticky``), optionally mirrors a fraction to a shadow version, and may carry a guard
that rolls a canary back. Sticky callers are placed by weighted rendezvous hashing: each route
scores ``-ln(u) / weight`` with ``u`` a hash of (caller, version), the lowest score wins. A caller
changes arm only when its own winner changes, so moving weight from 90/10 to 80/20 moves exactly
the callers the new weights need (about 10 %), never a reshuffle.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

PRIMARY = "primary"
CANARY = "canary"
SHADOW = "shadow"
HEADER_PREFIX = "header:"

#: the raw ASGI headers of the HTTP request being served (set by the app, read for ``header:`` stickiness)
request_headers_var: ContextVar[list[tuple[bytes, bytes]] | None] = ContextVar("request_headers",
                                                                                default=None)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class Route(_Strict):
    version: int = Field(ge=1)
    weight: float = Field(gt=0, le=1_000_000)


class Shadow(_Strict):
    version: int = Field(ge=1)
    fraction: float = Field(gt=0, le=1)


class Guard(_Strict):
    """Bounds a canary arm must stay within once it served ``min_requests``."""

    max_error_rate: float | None = Field(default=None, ge=0, le=1)
    max_p99_ms: float | None = Field(default=None, gt=0)
    min_requests: int = Field(default=100, ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _some_bound(self) -> Guard:
        if self.max_error_rate is None and self.max_p99_ms is None:
            raise ValueError("a guard needs max_error_rate or max_p99_ms")
        return self


class TrafficPolicy(_Strict):
    routes: list[Route] = Field(min_length=1, max_length=16)
    sticky: str | None = Field(default=None, max_length=128)
    shadow: Shadow | None = None
    guard: Guard | None = None

    @field_validator("sticky")
    @classmethod
    def _sticky(cls, value: str | None) -> str | None:
        if value is None or value == "principal":
            return value
        if value.startswith(HEADER_PREFIX) and 0 < len(value) - len(HEADER_PREFIX) <= 100:
            name = value[len(HEADER_PREFIX):]
            if all(c.isalnum() or c in "-_" for c in name):
                return HEADER_PREFIX + name.lower()
        raise ValueError("sticky must be null, 'principal' or 'header:<Header-Name>'")

    @model_validator(mode="after")
    def _consistent(self) -> TrafficPolicy:
        versions = [r.version for r in self.routes]
        if len(set(versions)) != len(versions):
            raise ValueError("each version may appear in routes once")
        if self.shadow is not None and self.shadow.version in versions:
            raise ValueError("the shadow version must not also be a route")
        return self

    @property
    def primary(self) -> int:
        """The version with the largest weight (the first listed on a tie): where a rollback goes."""
        return max(self.routes, key=lambda r: r.weight).version  # max keeps the first on a tie

    @property
    def plain(self) -> bool:
        """One route, no shadow: the alias behaves as a plain pointer."""
        return len(self.routes) == 1 and self.shadow is None

    def arm(self, version: int) -> str:
        return PRIMARY if version == self.primary else CANARY

    def versions(self) -> set[int]:
        found = {r.version for r in self.routes}
        if self.shadow is not None:
            found.add(self.shadow.version)
        return found

    @classmethod
    def single(cls, version: int) -> TrafficPolicy:
        return cls(routes=[Route(version=version, weight=100)])


class AliasUpdate(_Strict):
    """``PUT .../aliases/{alias}`` body: ``{"version": N}`` or a policy (``routes`` ...)."""

    version: int | None = Field(default=None, ge=1)
    routes: list[Route] | None = Field(default=None, min_length=1, max_length=16)
    sticky: str | None = Field(default=None, max_length=128)
    shadow: Shadow | None = None
    guard: Guard | None = None

    @model_validator(mode="after")
    def _one_form(self) -> AliasUpdate:
        if (self.version is None) == (self.routes is None):
            raise ValueError("give either 'version' or 'routes'")
        try:
            self.policy()
        except ValidationError as exc:  # the policy's own checks, reported on this body
            raise ValueError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
        return self

    def policy(self) -> TrafficPolicy:
        routes = self.routes or [Route(version=self.version or 1, weight=100)]
        return TrafficPolicy(routes=routes, sticky=self.sticky, shadow=self.shadow, guard=self.guard)


def _unit(key: str, salt: int) -> float:
    """A uniform number in (0, 1) from ``key`` and ``salt`` (stable across processes and runs)."""
    digest = hashlib.blake2b(f"{key}\x00{salt}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") + 0.5) / 2.0**64


def pick(policy: TrafficPolicy, key: str | None, rand: random.Random | None = None) -> int:
    """The version that serves a request: by caller ``key`` when given, else at random by weight."""
    routes = policy.routes
    if len(routes) == 1:
        return routes[0].version
    if key is None:
        total = sum(r.weight for r in routes)
        point = (rand or random).random() * total  # noqa: S311 (a traffic split, not a secret)
        for route in routes:
            point -= route.weight
            if point < 0:
                return route.version
        return routes[-1].version
    return min(routes, key=lambda r: -math.log(_unit(key, r.version)) / r.weight).version


def shadow_sampled(policy: TrafficPolicy, rand: random.Random | None = None) -> int | None:
    """The shadow version when this request is mirrored, else None."""
    shadow = policy.shadow
    if shadow is None:
        return None
    if shadow.fraction >= 1 or (rand or random).random() < shadow.fraction:  # noqa: S311
        return shadow.version
    return None


def metadata_headers(metadata: Iterable[tuple[str, str | bytes]] | None) -> list[tuple[bytes, bytes]]:
    """gRPC call metadata in the ASGI header form ``header:`` stickiness reads."""
    return [(k.lower().encode("latin-1"), v if isinstance(v, bytes) else v.encode("latin-1"))
            for k, v in metadata or ()]


def sticky_key(policy: TrafficPolicy, principal: str | None,
               headers: list[tuple[bytes, bytes]] | None) -> str | None:
    """The caller identity a sticky policy hashes (None: not sticky, or the caller has none)."""
    sticky = policy.sticky
    if sticky is None:
        return None
    if sticky == "principal":
        return principal
    wanted = sticky[len(HEADER_PREFIX):].encode()
    for name, value in headers or ():
        if name.lower() == wanted:
            return value.decode("latin-1")
    return None


Action = Literal["set", "rollback", "guard_rollback", "delete"]
