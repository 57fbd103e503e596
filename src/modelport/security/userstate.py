"""Is a token's user still who the token says? Checked per request, cached briefly.

A JWT is self-contained, so on its own it outlives its user being disabled or deleted and a
password change (up to its expiry). Each request with a token therefore checks the user's row:
it must exist, be enabled, and still be at the token version the token was issued under
(:attr:`~modelport.security.tables.UserRow.token_version`, bumped by every such change). The
row's state is cached per user for ``ttl`` seconds (``MODELPORT_KEY_CACHE_TTL_S``), like API
keys: a change takes effect at once on the replica that made it, within ``ttl`` elsewhere.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from sqlalchemy import select

from modelport.errors import Unauthorized
from modelport.security.tables import UserRow
from modelport.security.tokens import TokenClaims
from modelport.storage.engine import SessionFactory
from modelport.storage.health import DatabaseHealth

MAX_CACHED = 10_000


@dataclass(frozen=True, slots=True)
class UserState:
    fetched: float
    exists: bool
    disabled: bool = False
    version: int = 0


class UserStates:
    def __init__(self, sessions: SessionFactory, ttl: float = 5.0,
                 health: DatabaseHealth | None = None) -> None:
        self.sessions = sessions
        self.ttl = ttl
        self.health = health or DatabaseHealth()
        self._cache: dict[str, UserState] = {}
        self._inflight: dict[str, tuple[float, asyncio.Future[UserState]]] = {}

    async def check(self, claims: TokenClaims) -> None:
        """Raise Unauthorized unless the token's user exists, is enabled and at its version."""
        state = self._cache.get(claims.owner)
        if state is None or time.monotonic() - state.fetched > self.ttl:
            state = await self._load(claims.owner, state)
        if not state.exists:
            raise Unauthorized("invalid token")
        if state.disabled:
            raise Unauthorized("user disabled")
        if state.version != claims.version:
            raise Unauthorized("token revoked: sign in again")

    def pending(self) -> list[asyncio.Future[UserState]]:
        return [task for _, task in self._inflight.values()]

    def forget(self, user_id: str) -> None:
        """Drop a user's cached state (this replica sees a change at once)."""
        self._cache.pop(user_id, None)

    async def _load(self, user_id: str, stale: UserState | None) -> UserState:
        """One read per user per TTL, shared (a task of its own); the last good state answers
        during an outage (see modelport.storage.health)."""
        flight = self._inflight.get(user_id)
        if flight is None:
            task = asyncio.get_running_loop().create_task(self._fetch_and_cache(user_id))
            flight = self._inflight[user_id] = (time.monotonic(), task)
            task.add_done_callback(lambda t: self._fetched(user_id, t))
        return await self.health.wait(flight[1], flight[0], stale, stale.fetched if stale else None,
                                      "token user")

    def _fetched(self, user_id: str, task: asyncio.Future[UserState]) -> None:
        flight = self._inflight.get(user_id)
        if flight is not None and flight[1] is task:
            del self._inflight[user_id]
        if not task.cancelled():
            task.exception()

    async def _fetch_and_cache(self, user_id: str) -> UserState:
        state = await self._fetch(user_id)
        if len(self._cache) >= MAX_CACHED:
            self._cache.pop(next(iter(self._cache)))
        self._cache[user_id] = state
        return state

    async def _fetch(self, user_id: str) -> UserState:
        async with self.sessions() as session:
            found = (await session.execute(
                select(UserRow.disabled, UserRow.token_version).where(UserRow.id == user_id)
            )).first()
        now = time.monotonic()
        if found is None:
            return UserState(now, exists=False)
        return UserState(now, exists=True, disabled=bool(found[0]), version=int(found[1] or 0))
