"""The model registry: versions and aliases in the database, artifacts in the store.

Resolving ``name`` + ``version | alias`` happens on every request, so resolutions are cached
in memory for ``cache_ttl`` seconds and dropped at once when this process changes the model;
other replicas see a change within the TTL. While the database is unreachable an expired
resolution keeps serving (predictions outlive a metadata outage).

Every read and write checks the calling principal's model limit
(:mod:`modelport.security.model_access`): outside it a model does not exist, on every protocol.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from modelport.errors import Conflict, InvalidInput, ModelNotFound, VersionNotFound
from modelport.registry.manifest import (
    ModelInfo,
    ModelVersionInfo,
    ServingConfig,
    Signature,
    is_valid_alias,
    is_valid_name,
)
from modelport.registry.store import ArtifactStore
from modelport.security import model_access
from modelport.storage.base import utcnow
from modelport.storage.engine import SessionFactory
from modelport.storage.health import DatabaseHealth
from modelport.storage.tables import AliasRow, ModelRow, ModelVersionRow

log = logging.getLogger(__name__)
LATEST = "latest"
DEFAULT_ALIAS = "production"


def check_name(name: str) -> str:
    if not is_valid_name(name):
        raise InvalidInput(
            f"invalid model name {name[:64]!r}: use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def _info(row: ModelVersionRow) -> ModelVersionInfo:
    return ModelVersionInfo(
        name=row.name, version=row.version, flavor=row.flavor, artifact_key=row.artifact_key,
        sha256=row.sha256, size_bytes=row.size_bytes, signature=Signature.model_validate(row.signature),
        description=row.description, tags=row.tags or {}, metrics=row.metrics or {},
        config=ServingConfig.model_validate(row.config or {}), created_at=row.created_at,
        job_id=row.job_id,
    )


class ModelRegistry:
    def __init__(self, sessions: SessionFactory, store: ArtifactStore, cache_ttl: float = 2.0,
                 health: DatabaseHealth | None = None) -> None:
        self.sessions = sessions
        self.store = store
        self.cache_ttl = cache_ttl
        self.health = health or DatabaseHealth()
        self._cache: dict[tuple[str, str | None], tuple[float, ModelVersionInfo]] = {}
        #: the last good resolution of each key and when it was read (answers during an outage)
        self._good: dict[tuple[str, str | None], tuple[float, ModelVersionInfo]] = {}
        self._inflight: dict[tuple[str, str | None], tuple[float, asyncio.Future[ModelVersionInfo]]] = {}
        self._generation = 0

    def invalidate(self, name: str | None = None) -> None:
        self._generation += 1  # a query still in flight must not re-fill what was dropped
        self._inflight = {k: t for k, t in self._inflight.items() if name is not None and k[0] != name}
        if name is None:
            self._cache.clear()
            self._good.clear()
        else:
            for key in [k for k in self._cache if k[0] == name]:
                del self._cache[key]
            for key in [k for k in self._good if k[0] == name]:
                del self._good[key]

    # ------------------------------------------------------------------ reads
    async def resolve(self, name: str, ref: str | None = None) -> ModelVersionInfo:
        """Version number, alias, ``latest`` or None (``production`` if set, else latest)."""
        model_access.check_visible(name)
        key = (name, ref)
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        # single flight: when the entry expires under load, one query (a task of its own, so
        # a cancelled or impatient caller cannot cancel it for the others) serves every
        # concurrent request; a sick database answers from the last good resolution
        # (see modelport.storage.health)
        flight = self._inflight.get(key)
        if flight is None:
            task = asyncio.ensure_future(self._fetch(key, name, ref, now))
            flight = self._inflight[key] = (now, task)
            task.add_done_callback(lambda t: self._fetched(key, t))
        good = self._good.get(key)
        return await self.health.wait(flight[1], flight[0], good[1] if good else None,
                                      good[0] if good else None, "model registry")

    def _fetched(self, key: tuple[str, str | None], task: asyncio.Future[ModelVersionInfo]) -> None:
        flight = self._inflight.get(key)
        if flight is not None and flight[1] is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # retrieved here: every waiter re-raises it, none may be left

    async def _fetch(self, key: tuple[str, str | None], name: str, ref: str | None,
                     now: float) -> ModelVersionInfo:
        generation = self._generation
        info = await self._resolve(name, ref)
        if self.cache_ttl > 0 and generation == self._generation:
            self._cache[key] = (now + self.cache_ttl, info)
            self._good[key] = (time.monotonic(), info)
        return info

    async def _resolve(self, name: str, ref: str | None) -> ModelVersionInfo:
        async with self.sessions() as session:
            model = await session.get(ModelRow, name) if is_valid_name(name) else None
            if model is None:
                raise ModelNotFound(f"model {name[:128]!r} not found")
            stmt = select(ModelVersionRow).where(ModelVersionRow.name == name)
            if ref is None or ref in (LATEST, DEFAULT_ALIAS) or not ref.isdigit():
                alias = DEFAULT_ALIAS if ref is None else ref
                row_alias = None
                if alias != LATEST and not is_valid_alias(alias):  # never query with it (NUL: PG refuses)
                    raise VersionNotFound(f"model {name!r} has no version or alias {alias[:64]!r}")
                if alias != LATEST:
                    row_alias = await session.get(AliasRow, (name, alias))
                    if row_alias is None and ref is not None:
                        raise VersionNotFound(f"model {name!r} has no version or alias {ref[:64]!r}")
                if row_alias is not None:
                    stmt = stmt.where(ModelVersionRow.version == row_alias.version)
                else:
                    stmt = stmt.order_by(ModelVersionRow.version.desc()).limit(1)
            else:
                stmt = stmt.where(ModelVersionRow.version == int(ref))
            row = (await session.execute(stmt)).scalars().first()
            if row is None:
                raise VersionNotFound(f"model {name!r} has no version {ref or LATEST!r}")
            return _info(row)

    async def list_models(self) -> list[ModelInfo]:
        async with self.sessions() as session:
            models = (await session.execute(select(ModelRow).order_by(ModelRow.name))).scalars().all()
            versions = (await session.execute(
                select(ModelVersionRow).order_by(ModelVersionRow.name, ModelVersionRow.version)
            )).scalars().all()
            aliases = (await session.execute(select(AliasRow))).scalars().all()
        by_name: dict[str, ModelInfo] = {
            m.name: ModelInfo(name=m.name, description=m.description, created_at=m.created_at)
            for m in models
        }
        for v in versions:
            by_name[v.name].versions.append(_info(v))
        for a in aliases:
            by_name[a.name].aliases[a.alias] = a.version
        for info in by_name.values():
            if info.versions:
                info.aliases[LATEST] = info.versions[-1].version
        return [by_name[name] for name in model_access.visible(by_name)]

    async def visible_names(self) -> tuple[str, ...] | None:
        """The models the current caller may see, or None when it is not limited (filters for
        the prediction log and usage, which also keep rows of models deleted since)."""
        if not model_access.current():
            return None
        return tuple(m.name for m in await self.list_models())

    async def get_model(self, name: str) -> ModelInfo:
        check_name(name)
        model_access.check_visible(name)
        async with self.sessions() as session:
            model = await session.get(ModelRow, name)
            if model is None:
                raise ModelNotFound(f"model {name!r} not found")
            versions = (await session.execute(
                select(ModelVersionRow).where(ModelVersionRow.name == name)
                .order_by(ModelVersionRow.version)
            )).scalars().all()
            aliases = (await session.execute(select(AliasRow).where(AliasRow.name == name))).scalars().all()
        info = ModelInfo(name=model.name, description=model.description, created_at=model.created_at,
                         versions=[_info(v) for v in versions],
                         aliases={a.alias: a.version for a in aliases})
        if info.versions:
            info.aliases[LATEST] = info.versions[-1].version
        return info

    async def get_version(self, name: str, version: int) -> ModelVersionInfo:
        check_name(name)
        model_access.check_visible(name)
        return await self._resolve(name, str(version))

    async def find_by_job(self, job_id: str) -> ModelVersionInfo | None:
        async with self.sessions() as session:
            row = (await session.execute(
                select(ModelVersionRow).where(ModelVersionRow.job_id == job_id)
            )).scalars().first()
        return _info(row) if row else None

    # ----------------------------------------------------------------- writes
    async def add_version(
        self, name: str, flavor: str, source: Path, suffix: str, sha256: str, size: int,
        signature: Signature, *, description: str = "", tags: dict[str, str] | None = None,
        metrics: dict[str, float] | None = None, config: ServingConfig | None = None,
        job_id: str | None = None,
    ) -> ModelVersionInfo:
        """Store the artifact and insert the next version number (retried on a race)."""
        check_name(name)
        model_access.check_writable(name)
        if job_id is not None and (existing := await self.find_by_job(job_id)) is not None:
            return existing
        for _attempt in range(5):
            async with self.sessions() as session:
                if await session.get(ModelRow, name) is None:
                    session.add(ModelRow(name=name, description=description))
                    try:
                        await session.flush()
                    except IntegrityError:
                        await session.rollback()
                number = (await session.execute(
                    select(func.max(ModelVersionRow.version)).where(ModelVersionRow.name == name)
                )).scalar() or 0
                version = int(number) + 1
                key = f"{name}/{version}/model{suffix}"
                await asyncio.to_thread(self.store.put_file, key, source)
                session.add(ModelVersionRow(
                    name=name, version=version, flavor=flavor, artifact_key=key, sha256=sha256,
                    size_bytes=size, signature=signature.model_dump(mode="json"),
                    description=description, tags=tags or {}, metrics=metrics or {},
                    config=(config or ServingConfig()).model_dump(mode="json", exclude_none=True),
                    created_at=utcnow(), job_id=job_id,
                ))
                try:
                    await session.commit()
                except IntegrityError:
                    await session.rollback()
                    if job_id is not None and (existing := await self.find_by_job(job_id)):
                        return existing
                    continue
            self.invalidate(name)
            return await self.get_version(name, version)
        raise Conflict(f"could not allocate a version for {name!r}; try again")

    async def set_alias(self, name: str, alias: str, version: int) -> int | None:
        """Point ``alias`` at ``version``; returns the version it pointed at before."""
        check_name(name)
        if alias == LATEST:
            raise InvalidInput("'latest' always follows the newest version and cannot be moved")
        if not is_valid_alias(alias) or alias.isdigit():
            raise InvalidInput(
                f"invalid alias {alias[:64]!r}: letters, digits, '_' or '-', starting with a letter"
            )
        await self.get_version(name, version)
        async with self.sessions() as session:
            row = await session.get(AliasRow, (name, alias))
            previous = row.version if row else None
            if row is None:
                session.add(AliasRow(name=name, alias=alias, version=version, updated_at=utcnow()))
            else:
                row.version = version
                row.updated_at = utcnow()
            await session.commit()
        self.invalidate(name)
        return previous

    async def delete_alias(self, name: str, alias: str) -> None:
        check_name(name)
        model_access.check_visible(name)
        async with self.sessions() as session:
            row = await session.get(AliasRow, (name, alias))
            if row is None:
                raise VersionNotFound(f"model {name!r} has no alias {alias[:64]!r}")
            await session.delete(row)
            await session.commit()
        self.invalidate(name)

    async def delete_version(self, name: str, version: int) -> ModelVersionInfo:
        info = await self.get_version(name, version)
        async with self.sessions() as session:
            aliases = (await session.execute(
                select(AliasRow.alias).where(AliasRow.name == name, AliasRow.version == version)
            )).scalars().all()
            if aliases:
                raise Conflict(
                    f"version {version} of {name!r} is served by alias(es) {', '.join(sorted(aliases))}; "
                    "move them first"
                )
            await session.execute(
                delete(ModelVersionRow).where(
                    ModelVersionRow.name == name, ModelVersionRow.version == version
                )
            )
            remaining = (await session.execute(
                select(func.count()).select_from(ModelVersionRow).where(ModelVersionRow.name == name)
            )).scalar()
            if not remaining:
                await session.execute(delete(ModelRow).where(ModelRow.name == name))
            await session.commit()
        await asyncio.to_thread(self.store.delete, info.artifact_key)
        self.invalidate(name)
        return info

    async def versions_referenced(self, name: str) -> set[int]:
        """Versions some alias (or ``latest``) points at: these stay loaded after a swap."""
        info = await self.get_model(name)
        return set(info.aliases.values())

    async def count(self) -> int:
        async with self.sessions() as session:
            total = await session.execute(select(func.count()).select_from(ModelVersionRow))
            return int(total.scalar() or 0)
