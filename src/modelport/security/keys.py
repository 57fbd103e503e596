"""API keys: create (shown once), list, revoke, and verify on the hot path.

Verification must not touch the database on every request: a verified key's row is cached in
memory for ``cache_ttl`` seconds (``MODELPORT_KEY_CACHE_TTL_S``), so a revocation made on another
replica takes effect within that many seconds (at once on this one). The digest comparison is
constant time (``hmac.compare_digest`` in :func:`modelport.security.apikeys.matches`).
``last_used_at`` is written at most once per cache period per key.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, update

from modelport.errors import InvalidInput, NotFound, Unauthorized
from modelport.ratelimit import parse_rate
from modelport.security import apikeys, model_access
from modelport.security.principal import Principal
from modelport.security.scopes import normalize
from modelport.security.tables import ApiKeyRow, UserRow
from modelport.storage.base import utcnow
from modelport.storage.engine import SessionFactory
from modelport.storage.health import DatabaseHealth

log = logging.getLogger(__name__)
MAX_CACHED = 10_000
_DURATION = re.compile(r"^(\d{1,6})([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: str) -> timedelta:
    """Key lifetimes: ``45s``, ``90m``, ``12h``, ``30d``, ``2w``."""
    match = _DURATION.match(value.strip())
    if match is None or int(match.group(1)) == 0:
        raise InvalidInput(f"invalid duration {value[:32]!r}; use e.g. 30d, 12h, 90m")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


class KeyInfo(BaseModel):
    """What a client may see of a key: never its digest."""

    id: str
    name: str
    owner: str
    scopes: list[str]
    rate_limit: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked: bool
    last_used_at: datetime | None
    models: list[str] | None = None

    @classmethod
    def of(cls, row: ApiKeyRow, owner: str) -> KeyInfo:
        return cls(id=row.id, name=row.name, owner=owner, scopes=sorted(row.scopes or []),
                   rate_limit=row.rate_limit, created_at=_aware(row.created_at) or row.created_at,
                   expires_at=_aware(row.expires_at), revoked=row.revoked_at is not None,
                   last_used_at=_aware(row.last_used_at), models=row.models)


@dataclass(slots=True)
class _Cached:
    fetched: float
    digest: str | None  # None: no such key
    principal: Principal | None
    expires_at: float | None
    revoked: bool
    touched: bool = False


def _patterns(models: list[str] | None) -> list[str] | None:
    parsed = model_access.parse_patterns(models)
    return None if parsed is None else list(parsed)


def _aware(dt: datetime | None) -> datetime | None:
    if dt is not None and dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)  # SQLite returns naive datetimes
    return dt


class KeyService:
    def __init__(self, sessions: SessionFactory, cache_ttl: float = 5.0,
                 health: DatabaseHealth | None = None) -> None:
        self.sessions = sessions
        self.cache_ttl = cache_ttl
        self.health = health or DatabaseHealth()
        self._cache: dict[str, _Cached] = {}
        #: presented keys that verified, parsed (key id and digest), so a repeat skips the hashing
        self._verified: dict[str, apikeys.ParsedKey] = {}
        self._inflight: dict[str, tuple[float, asyncio.Future[_Cached]]] = {}
        self._touches: set[asyncio.Task[None]] = set()

    # --- management
    async def create(self, owner_id: str, *, name: str = "", scopes: list[str],
                     expires_at: datetime | None = None, rate_limit: str | None = None,
                     models: list[str] | None = None) -> tuple[KeyInfo, str]:
        granted = normalize(scopes)
        if not granted:
            raise InvalidInput("a key needs at least one scope")
        if rate_limit is not None:
            parse_rate(rate_limit)
        if expires_at is not None and _aware(expires_at) <= utcnow():  # type: ignore[operator]
            raise InvalidInput("expires_at must be in the future")
        new = apikeys.generate()
        row = ApiKeyRow(id=new.key_id, digest=new.digest, name=name, owner_id=owner_id,
                        scopes=sorted(granted), rate_limit=rate_limit, expires_at=expires_at,
                        models=_patterns(models))
        async with self.sessions() as session:
            owner = await session.get(UserRow, owner_id)
            if owner is None:
                raise NotFound("owner not found")
            session.add(row)
            await session.commit()
            await session.refresh(row)
        return KeyInfo.of(row, owner.username), new.plaintext

    async def list(self, owner_id: str | None = None) -> list[KeyInfo]:
        """Keys of ``owner_id``, or every key when None (admins)."""
        query = select(ApiKeyRow, UserRow.username).join(UserRow, UserRow.id == ApiKeyRow.owner_id)
        if owner_id is not None:
            query = query.where(ApiKeyRow.owner_id == owner_id)
        async with self.sessions() as session:
            rows = (await session.execute(query.order_by(ApiKeyRow.created_at, ApiKeyRow.id))).all()
        return [KeyInfo.of(row, username) for row, username in rows]

    async def get(self, key_id: str, owner_id: str | None = None) -> KeyInfo:
        """One key; a key of another owner is reported as not found (no existence leak)."""
        async with self.sessions() as session:
            found = (await session.execute(
                select(ApiKeyRow, UserRow.username).join(UserRow, UserRow.id == ApiKeyRow.owner_id)
                .where(ApiKeyRow.id == key_id)
            )).first()
        if found is None or (owner_id is not None and found[0].owner_id != owner_id):
            raise NotFound("API key not found")
        return KeyInfo.of(found[0], found[1])

    async def revoke(self, key_id: str, owner_id: str | None = None) -> None:
        await self.get(key_id, owner_id)
        async with self.sessions() as session:
            await session.execute(
                update(ApiKeyRow).where(ApiKeyRow.id == key_id, ApiKeyRow.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            await session.commit()
        self._cache.pop(key_id, None)

    def pending(self) -> tuple[asyncio.Future[Any], ...]:
        """Background work still running (last-use touches, lookups): awaited at shutdown."""
        return (*self._touches, *(task for _, task in self._inflight.values()))

    def forget_owner(self, owner_id: str) -> None:
        """Drop the cached rows of a user's keys (disabled or deleted: effective at once here)."""
        for key_id in [k for k, e in self._cache.items() if e.principal and e.principal.owner == owner_id]:
            del self._cache[key_id]

    # --- hot path
    async def verify(self, presented: str) -> Principal:
        # a key that verified before skips the format check and the hash (2 us of a request);
        # its row is still checked below: revocation, expiry and the digest itself
        parsed = self._verified.get(presented) or apikeys.parse(presented)
        if parsed is None:
            raise Unauthorized("malformed API key")
        entry = self._cache.get(parsed.key_id)
        now = time.monotonic()
        if entry is None or now - entry.fetched > self.cache_ttl:
            entry = await self._load(parsed.key_id, entry)
        if (entry.digest is None or entry.principal is None
                or not apikeys.matches(entry.digest, parsed.digest)):
            raise Unauthorized("invalid API key")
        if entry.revoked:
            raise Unauthorized("API key revoked")
        if entry.expires_at is not None and time.time() >= entry.expires_at:
            raise Unauthorized("API key expired")
        if presented not in self._verified:
            if len(self._verified) >= MAX_CACHED:
                self._verified.clear()
            self._verified[presented] = parsed
        if not entry.touched:  # in the background: bookkeeping never waits on the database
            entry.touched = True
            task = asyncio.get_running_loop().create_task(self._touch(parsed.key_id))
            self._touches.add(task)
            task.add_done_callback(self._touches.discard)
        return entry.principal

    async def _load(self, key_id: str, stale: _Cached | None) -> _Cached:
        """One database read per key per TTL, shared by concurrent requests (a task of its
        own); during an outage the last good row answers (see modelport.storage.health)."""
        flight = self._inflight.get(key_id)
        if flight is None:
            task = asyncio.get_running_loop().create_task(self._fetch_and_cache(key_id))
            flight = self._inflight[key_id] = (time.monotonic(), task)
            task.add_done_callback(lambda t: self._fetched(key_id, t))
        return await self.health.wait(flight[1], flight[0], stale, stale.fetched if stale else None,
                                      "API key")

    def _fetched(self, key_id: str, task: asyncio.Future[_Cached]) -> None:
        flight = self._inflight.get(key_id)
        if flight is not None and flight[1] is task:
            del self._inflight[key_id]
        if not task.cancelled():
            task.exception()  # retrieved: waiters re-raise it, nobody logs "never retrieved"

    async def _fetch_and_cache(self, key_id: str) -> _Cached:
        entry = await self._fetch(key_id)
        if len(self._cache) >= MAX_CACHED:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key_id] = entry
        return entry

    async def _fetch(self, key_id: str) -> _Cached:
        async with self.sessions() as session:
            found = (await session.execute(
                select(ApiKeyRow, UserRow.disabled, UserRow.models)
                .join(UserRow, UserRow.id == ApiKeyRow.owner_id)
                .where(ApiKeyRow.id == key_id)
            )).first()
        now = time.monotonic()
        if found is None:
            return _Cached(now, None, None, None, False)
        row, owner_disabled, owner_models = found
        layers = tuple(tuple(m) for m in (row.models, owner_models) if m is not None)
        principal = Principal(id=f"key:{row.id}", kind="key", scopes=frozenset(row.scopes or []),
                              owner=row.owner_id, rate_limit=row.rate_limit, models=layers)
        expires = _aware(row.expires_at)
        return _Cached(now, row.digest, principal, expires.timestamp() if expires else None,
                       revoked=row.revoked_at is not None or bool(owner_disabled))

    async def _touch(self, key_id: str) -> None:
        try:
            async with self.sessions() as session:
                await session.execute(update(ApiKeyRow).where(ApiKeyRow.id == key_id)
                                      .values(last_used_at=utcnow()))
                await session.commit()
        except Exception:  # bookkeeping must never fail a request
            log.warning("could not record last use of key %s", key_id, exc_info=True)
