"""Changing an alias's traffic: set a policy, delete the alias, roll back; every change is an event.

The alias row keeps pointing at the policy's primary version (what plain readers of aliases see),
the policy row holds the rest, and ``alias_events`` keeps who changed what, when, from which
policy to which. Every version a policy names is loaded and warmed before the change, so no
request reaches a cold or broken version; versions no alias needs any more are retired after.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from modelport.core.models import ModelService
from modelport.core.traffic import TrafficPolicy
from modelport.errors import Conflict, NotFound, VersionNotFound
from modelport.registry.registry import ModelRegistry, check_name
from modelport.storage.base import utcnow
from modelport.storage.engine import SessionFactory
from modelport.storage.tables import AliasRow
from modelport.traffic.router import TrafficRouter
from modelport.traffic.tables import AliasEventRow, AliasPolicyRow

log = logging.getLogger(__name__)
Emit = Callable[[str, dict[str, Any]], Awaitable[object]]
ROLLBACK_ACTIONS = ("rollback", "guard_rollback")


@dataclass
class AliasState:
    name: str
    alias: str
    version: int
    policy: TrafficPolicy
    updated_at: datetime


@dataclass
class AliasEvent:
    id: int
    name: str
    alias: str
    action: str
    actor: str | None
    at: datetime
    from_policy: TrafficPolicy | None
    to_policy: TrafficPolicy | None
    reason: str


def _policy(data: dict[str, Any] | None) -> TrafficPolicy | None:
    return TrafficPolicy.model_validate(data) if data is not None else None


def _event(row: AliasEventRow) -> AliasEvent:
    return AliasEvent(row.id, row.name, row.alias, row.action, row.actor, row.at,
                      _policy(row.from_policy), _policy(row.to_policy), row.reason)


class TrafficService:
    def __init__(self, sessions: SessionFactory, registry: ModelRegistry, models: ModelService,
                 router: TrafficRouter, emit: Emit | None = None) -> None:
        self.sessions = sessions
        self.registry = registry
        self.models = models
        self.router = router
        self.emit = emit

    async def get(self, name: str, alias: str) -> AliasState:
        check_name(name)
        async with self.sessions() as session:
            row = await session.get(AliasRow, (name, alias))
            policy_row = await session.get(AliasPolicyRow, (name, alias))
        if row is None:
            raise VersionNotFound(f"model {name!r} has no alias {alias[:64]!r}")
        policy = _policy(policy_row.policy) if policy_row is not None else None
        if policy is None or policy.primary != row.version:  # moved by a plain-alias writer since
            policy = TrafficPolicy.single(row.version)
        return AliasState(name, alias, row.version, policy, row.updated_at)

    async def _current(self, name: str, alias: str) -> TrafficPolicy | None:
        try:
            return (await self.get(name, alias)).policy
        except VersionNotFound:
            return None

    async def apply(self, name: str, alias: str, policy: TrafficPolicy, *, actor: str | None,
                  action: str = "set", reason: str = "") -> AliasState:
        check_name(name)
        for version in sorted(policy.versions()):  # 404 for a missing one; warm each before it serves
            info = await self.registry.get_version(name, version)
            await self.models.manager.get(info)
        previous = await self._current(name, alias)
        await self.registry.set_alias(name, alias, policy.primary)  # validates the alias name
        async with self.sessions() as session:
            row = await session.get(AliasPolicyRow, (name, alias))
            plain = policy == TrafficPolicy.single(policy.primary)
            stored = None if plain else policy.model_dump(mode="json")
            if stored is None:
                if row is not None:
                    await session.delete(row)
            elif row is None:
                session.add(AliasPolicyRow(name=name, alias=alias, policy=stored, updated_at=utcnow()))
            else:
                row.policy = stored
                row.updated_at = utcnow()
            session.add(AliasEventRow(
                name=name, alias=alias, action=action, actor=actor, at=utcnow(), reason=reason,
                from_policy=previous.model_dump(mode="json") if previous else None,
                to_policy=policy.model_dump(mode="json"),
            ))
            await session.commit()
        self.router.invalidate(name)
        if previous is not None:
            await self._retire(name, previous.versions() - policy.versions())
        await self._announce(action, name, alias, previous, policy, actor, reason)
        return await self.get(name, alias)

    async def point(self, name: str, alias: str, version: int, actor: str | None = None) -> AliasState:
        """Point ``alias`` at one version (a plain alias), recorded like any change."""
        return await self.apply(name, alias, TrafficPolicy.single(version), actor=actor)

    async def delete(self, name: str, alias: str, *, actor: str | None) -> None:
        previous = await self._current(name, alias)
        if previous is None:
            raise VersionNotFound(f"model {name!r} has no alias {alias[:64]!r}")
        await self.models.delete_alias(name, alias)
        async with self.sessions() as session:
            await session.execute(delete(AliasPolicyRow).where(
                AliasPolicyRow.name == name, AliasPolicyRow.alias == alias))
            session.add(AliasEventRow(
                name=name, alias=alias, action="delete", actor=actor, at=utcnow(),
                from_policy=previous.model_dump(mode="json"), to_policy=None, reason="",
            ))
            await session.commit()
        self.router.invalidate(name)
        await self._retire(name, previous.versions())
        await self._announce("delete", name, alias, previous, None, actor, "")

    async def history(self, name: str, alias: str, limit: int = 100) -> list[AliasEvent]:
        check_name(name)
        async with self.sessions() as session:
            rows = (await session.execute(
                select(AliasEventRow).where(AliasEventRow.name == name, AliasEventRow.alias == alias)
                .order_by(AliasEventRow.id.desc()).limit(limit)
            )).scalars().all()
        return [_event(r) for r in rows]

    async def rollback(self, name: str, alias: str, *, actor: str | None, action: str = "rollback",
                       reason: str = "") -> AliasState:
        """Back to the policy before the latest change (a rollback of a rollback goes forward again)."""
        events = await self.history(name, alias, limit=1)
        if not events:
            raise NotFound(f"alias {alias[:64]!r} of {name!r} has no history")
        target = events[0].from_policy
        if target is None:
            raise Conflict(f"alias {alias!r} of {name!r} had no policy before its latest change; "
                           "nothing to roll back to")
        return await self.apply(name, alias, target, actor=actor, action=action, reason=reason)

    async def _retire(self, name: str, versions: set[int]) -> None:
        if not versions:
            return
        needed = await self.registry.versions_referenced(name) | await self.policy_versions(name)
        for version in versions - needed:
            await self.models.manager.retire((name, version))

    async def ensure_unrouted(self, name: str, version: int) -> None:
        """Refuse (409) to delete a version that a traffic policy still routes or mirrors to."""
        async with self.sessions() as session:
            rows = (await session.execute(select(AliasPolicyRow.alias, AliasPolicyRow.policy)
                                          .where(AliasPolicyRow.name == name))).all()
        using = sorted(alias for alias, data in rows
                       if version in TrafficPolicy.model_validate(data).versions())
        if using:
            raise Conflict(f"version {version} of {name!r} is in the traffic policy of alias(es) "
                           f"{', '.join(using)}; change the policy first")

    async def policy_versions(self, name: str) -> set[int]:
        """Versions any stored policy of ``name`` routes or mirrors to (they stay loaded)."""
        async with self.sessions() as session:
            rows = (await session.execute(
                select(AliasPolicyRow.policy).where(AliasPolicyRow.name == name))).scalars().all()
        found: set[int] = set()
        for data in rows:
            found |= TrafficPolicy.model_validate(data).versions()
        return found

    async def _announce(self, action: str, name: str, alias: str, previous: TrafficPolicy | None,
                        policy: TrafficPolicy | None, actor: str | None, reason: str) -> None:
        if self.emit is None:
            return
        kind = "alias.rolled_back" if action in ROLLBACK_ACTIONS else "alias.changed"
        data = {"model": name, "alias": alias, "action": action, "actor": actor, "reason": reason,
                "from": previous.model_dump(mode="json") if previous else None,
                "to": policy.model_dump(mode="json") if policy else None}
        try:
            await self.emit(kind, data)
        except Exception:
            log.warning("could not record the %s event of %s/%s", kind, name, alias, exc_info=True)
