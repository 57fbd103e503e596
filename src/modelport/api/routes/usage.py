"""Usage per key or per model from the prediction log: admins see all, others their own."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter

from modelport.api.deps import Principal, ServicesDep, require
from modelport.web.responses import FastJSONResponse

router = APIRouter(prefix="/api/v1", tags=["tracking"])


@router.get("/usage", summary="Requests, rows, errors and latency per key or model")
async def usage(services: ServicesDep, principal: Annotated[Principal, require("predict")],
                by: Literal["key", "model"] = "key", since: datetime | None = None,
                until: datetime | None = None) -> FastJSONResponse:
    own = None if principal.has("admin") else principal.id
    rows = await services.tracking.usage.usage(by, since=since, until=until, principal=own,
                                               models=await services.registry.visible_names())
    return FastJSONResponse({"by": by, "since": since, "until": until, "items": rows})
