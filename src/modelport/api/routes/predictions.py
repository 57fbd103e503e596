"""The prediction log over HTTP: list (keyset pages), export (CSV/Parquet), one request, feedback.

Visibility: a principal holding ``models:read`` (or ``admin``) sees every row and may filter by
principal; a principal with only ``predict`` sees only its own rows (other ids answer 404).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict

from modelport.api.deps import Principal, ServicesDep, require
from modelport.tracking.export import csv_stream, parquet_stream
from modelport.tracking.query import PredictionFilter
from modelport.web.responses import FastJSONResponse

router = APIRouter(prefix="/api/v1/predictions", tags=["tracking"])
ReaderDep = Annotated[Principal, require("predict")]
RequestId = Annotated[str, Path(min_length=1, max_length=128)]


def visible_principal(principal: Principal, requested: str | None = None) -> str | None:
    """The principal filter a caller may use: its own id unless it can read every row."""
    return requested if principal.has("models:read") else principal.id


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    actual: Any


@router.get("", summary="List logged predictions (newest first), or export them as CSV/Parquet")
async def list_predictions(
    services: ServicesDep,
    principal: ReaderDep,
    model: Annotated[str | None, Query(max_length=128)] = None,
    version: Annotated[int | None, Query(ge=1)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    status: Annotated[str | None, Query(max_length=64, description="ok, error or an error code")] = None,
    by: Annotated[str | None, Query(alias="principal", max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    format: Literal["json", "csv", "parquet"] = "json",  # noqa: A002 (the query parameter's name)
) -> Any:
    f = PredictionFilter(model=model, version=version, since=since, until=until, status=status,
                         principal=visible_principal(principal, by),
                         models=await services.registry.visible_names())
    query = services.tracking.predictions
    if format == "csv":
        return StreamingResponse(csv_stream(query.pages(f)), media_type="text/csv",
                                 headers={"Content-Disposition": 'attachment; filename="predictions.csv"'})
    if format == "parquet":
        return StreamingResponse(
            parquet_stream(query.pages(f)), media_type="application/vnd.apache.parquet",
            headers={"Content-Disposition": 'attachment; filename="predictions.parquet"'},
        )
    items, next_cursor = await query.page(f, limit=limit, cursor=cursor)
    return FastJSONResponse({"items": items, "next_cursor": next_cursor})


@router.get("/{request_id}", summary="One logged prediction by request id")
async def get_prediction(request_id: RequestId, services: ServicesDep,
                         principal: ReaderDep) -> FastJSONResponse:
    item = await services.tracking.predictions.get(request_id, principal=visible_principal(principal),
                                                   models=await services.registry.visible_names())
    return FastJSONResponse(item)


@router.post("/{request_id}/feedback", summary="Record the actual outcome (idempotent upsert)",
             responses={201: {"description": "Feedback stored"}, 200: {"description": "Already stored"}})
async def post_feedback(request_id: RequestId, body: FeedbackRequest, services: ServicesDep,
                        principal: ReaderDep) -> FastJSONResponse:
    result, created = await services.tracking.feedback.submit(
        request_id, body.actual, principal=visible_principal(principal)
    )
    return FastJSONResponse(result, status_code=201 if created else 200)
