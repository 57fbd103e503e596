"""Alias traffic over HTTP: set (a version or a policy), show, delete, history, rollback, compare."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from modelport.api.deps import Principal, ServicesDep, require
from modelport.api.schemas import StrictBody, UtcDatetime, VersionOut
from modelport.bootstrap import Services
from modelport.core.traffic import AliasUpdate, TrafficPolicy
from modelport.traffic.compare import compare
from modelport.traffic.service import AliasState

router = APIRouter(prefix="/api/v1/models", tags=["traffic"])
ReadDep = Annotated[Principal, require("models:read")]
WriteDep = Annotated[Principal, require("models:write")]


class AliasOut(VersionOut):
    """The alias's primary version (as a plain alias answered before), and its whole policy."""

    alias: str
    traffic: TrafficPolicy
    updated_at: UtcDatetime


class AliasEventOut(BaseModel):
    id: int
    action: str
    actor: str | None
    at: UtcDatetime
    reason: str
    from_policy: TrafficPolicy | None = Field(serialization_alias="from")
    to_policy: TrafficPolicy | None = Field(serialization_alias="to")


class RollbackRequest(StrictBody):
    reason: str = Field(default="", max_length=1000)


async def _out(services: Services, state: AliasState) -> AliasOut:
    info = await services.registry.get_version(state.name, state.version)
    model = await services.registry.get_model(state.name)
    base = VersionOut.of(info, model.aliases).model_dump()
    return AliasOut(**base, alias=state.alias, traffic=state.policy, updated_at=state.updated_at)


@router.put("/{name}/aliases/{alias}", response_model=AliasOut,
            summary="Point an alias at a version, or give it a traffic policy "
                    "(weights, sticky, shadow, guard)")
async def set_alias(name: str, alias: str, body: AliasUpdate, services: ServicesDep,
                    principal: WriteDep) -> AliasOut:
    state = await services.traffic.apply(name, alias, body.policy(), actor=principal.id)
    return await _out(services, state)


@router.get("/{name}/aliases/{alias}", response_model=AliasOut, summary="Show an alias and its policy")
async def get_alias(name: str, alias: str, services: ServicesDep, _p: ReadDep) -> AliasOut:
    return await _out(services, await services.traffic.get(name, alias))


@router.delete("/{name}/aliases/{alias}", status_code=204, response_class=Response,
               summary="Remove an alias")
async def delete_alias(name: str, alias: str, services: ServicesDep, principal: WriteDep) -> Response:
    await services.traffic.delete(name, alias, actor=principal.id)
    return Response(status_code=204)


@router.get("/{name}/aliases/{alias}/history", response_model=list[AliasEventOut],
            response_model_by_alias=True,
            summary="Every change of an alias, newest first")
async def alias_history(name: str, alias: str, services: ServicesDep, _p: ReadDep,
                        limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[AliasEventOut]:
    events = await services.traffic.history(name, alias, limit)
    return [AliasEventOut(id=e.id, action=e.action, actor=e.actor, at=e.at, reason=e.reason,
                          from_policy=e.from_policy, to_policy=e.to_policy) for e in events]


@router.post("/{name}/aliases/{alias}/rollback", response_model=AliasOut,
             summary="Put the alias back on the policy it had before its latest change")
async def rollback_alias(name: str, alias: str, services: ServicesDep, principal: WriteDep,
                         body: RollbackRequest | None = None) -> AliasOut:
    state = await services.traffic.rollback(name, alias, actor=principal.id,
                                            reason=body.reason if body else "")
    return await _out(services, state)


@router.get("/{name}/aliases/{alias}/compare",
            summary="Per version of the alias's policy: requests, error rate, latency, accuracy, "
                    "shadow agreement")
async def compare_alias(name: str, alias: str, services: ServicesDep, _p: ReadDep,
                        since: Annotated[datetime, Query(description="RFC 3339 time")]) -> dict[str, Any]:
    await services.traffic.get(name, alias)  # 404 for an unknown model or alias
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    return await compare(services.sessions, services.registry, services.tracking.recorder, name, alias,
                         since.astimezone(UTC))
