"""Per-request arm choice: the alias's policy (cached like alias resolutions), then the version.

Every protocol edge reaches :meth:`TrafficRouter.route` through ``InferenceService``, so a split,
a sticky assignment and a shadow apply to ``/api/v1``, ``/v2``, gRPC and OpenAI ``/v1`` alike.
Policies are cached for ``cache_ttl`` seconds (the registry's alias TTL): a change made here is
seen at once, one made by another replica within the TTL.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy.exc import SQLAlchemyError

from modelport.core.traffic import TrafficPolicy, pick, request_headers_var, shadow_sampled, sticky_key
from modelport.core.types import InferenceRequest, TensorDict
from modelport.registry.manifest import ModelVersionInfo
from modelport.registry.registry import DEFAULT_ALIAS, LATEST, ModelRegistry
from modelport.storage.engine import SessionFactory
from modelport.traffic.shadow import ShadowRunner
from modelport.traffic.tables import AliasPolicyRow

log = logging.getLogger(__name__)
Key = tuple[str, str]


class TrafficRouter:
    def __init__(self, sessions: SessionFactory, registry: ModelRegistry, shadow: ShadowRunner,
                 cache_ttl: float = 2.0) -> None:
        self.sessions = sessions
        self.registry = registry
        self.shadow = shadow
        self.cache_ttl = cache_ttl
        self._cache: dict[Key, tuple[float, TrafficPolicy | None]] = {}
        self._inflight: dict[Key, asyncio.Future[TrafficPolicy | None]] = {}
        self._generation = 0  # a query in flight when the cache is dropped must not re-fill it

    def invalidate(self, name: str | None = None) -> None:
        self._generation += 1
        self._inflight = {k: t for k, t in self._inflight.items() if name is not None and k[0] != name}
        if name is None:
            self._cache.clear()
        else:
            for key in [k for k in self._cache if k[0] == name]:
                del self._cache[key]

    async def policy(self, name: str, alias: str) -> TrafficPolicy | None:
        """The stored policy of ``name``/``alias`` (None for a plain alias), cached; when the entry
        expires under load, one query (a task of its own) answers every waiting request."""
        key = (name, alias)
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        task = self._inflight.get(key)
        if task is None:
            task = self._inflight[key] = asyncio.ensure_future(self._fetch(key, hit, now))
            task.add_done_callback(lambda t: self._fetched(key, t))
        return await asyncio.shield(task)

    def _fetched(self, key: Key, task: asyncio.Future[TrafficPolicy | None]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # retrieved here: every waiter re-raises it

    async def _fetch(self, key: Key, hit: tuple[float, TrafficPolicy | None] | None,
                     now: float) -> TrafficPolicy | None:
        name, alias = key
        generation = self._generation
        try:
            async with self.sessions() as session:
                row = await session.get(AliasPolicyRow, key)
        except (SQLAlchemyError, OSError, TimeoutError):
            if hit is None:
                raise
            log.warning("traffic policies unreachable; serving the cached policy of %s %s", name, alias)
            row_policy = hit[1]
        else:
            row_policy = TrafficPolicy.model_validate(row.policy) if row is not None else None
        if self.cache_ttl > 0 and generation == self._generation:
            self._cache[key] = (now + self.cache_ttl, row_policy)
        return row_policy

    async def route(self, request: InferenceRequest, info: ModelVersionInfo) -> ModelVersionInfo:
        """The version that serves ``request`` (``info`` is the alias's primary); sets its arm."""
        ref = request.version
        if ref is not None and (ref == LATEST or ref.isdigit()):
            return info
        key = (info.name, ref or DEFAULT_ALIAS)
        hit = self._cache.get(key)  # the common case, without another coroutine
        policy = hit[1] if hit is not None and hit[0] > time.monotonic() else await self.policy(*key)
        if policy is None or policy.plain:
            return info
        caller = sticky_key(policy, request.principal, request_headers_var.get()) if policy.sticky else None
        version = pick(policy, caller)
        request.arm = policy.arm(version)
        request.shadow = shadow_sampled(policy)
        if version == info.version:
            return info
        return await self.registry.resolve(info.name, str(version))

    def mirror(self, request: InferenceRequest, info: ModelVersionInfo, inputs: TensorDict,
               outputs: TensorDict) -> None:
        """Hand the request to the shadow (never blocks, never raises; dropped when full)."""
        if request.shadow is not None:
            self.shadow.submit(request, info, request.shadow, inputs, outputs)
