"""The Predictions pages: the log with filters, one prediction's inputs and outputs, feedback."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from modelport.console.deps import ViewerDep, WriterDep, redirect, render

router = APIRouter()
FILTERS = ("model", "version", "status", "principal", "since", "until")
Filter = Annotated[str, Query(max_length=128)]


@router.get("/predictions")
async def predictions_page(request: Request, who: ViewerDep, model: Filter = "", version: Filter = "",
                           status: Filter = "", principal: Filter = "", since: Filter = "",
                           until: Filter = "",
                           cursor: Annotated[str, Query(max_length=512)] = "") -> Response:
    filters = {"model": model, "version": version, "status": status, "principal": principal,
               "since": since, "until": until}
    answer, error = await who.api.attempt("GET", "/api/v1/predictions",
                                          params={**filters, "cursor": cursor, "limit": 50})
    query = "&".join(f"{k}={quote(v)}" for k, v in filters.items() if v)
    return render(request, "predictions.html", who, section="predictions", filters=filters,
                  items=(answer or {}).get("items", []), next_cursor=(answer or {}).get("next_cursor"),
                  query=query, error=error.detail if error else None)


@router.get("/predictions/{request_id}")
async def prediction_page(request: Request, request_id: str, who: ViewerDep) -> Response:
    item, error = await who.api.attempt("GET", f"/api/v1/predictions/{quote(request_id, safe='')}")
    if error:
        return render(request, "message.html", who, section="predictions", status_code=error.status,
                      title="Prediction", error=error.detail)
    pretty = {k: orjson.dumps(item.get(k), option=orjson.OPT_INDENT_2).decode()
              for k in ("inputs", "outputs")}
    return render(request, "prediction.html", who, section="predictions", item=item, pretty=pretty)


@router.post("/predictions/{request_id}/feedback")
async def feedback(request: Request, request_id: str, who: WriterDep,
                   actual: Annotated[str, Form(max_length=65536)]) -> Response:
    page = f"/ui/predictions/{quote(request_id, safe='')}"
    try:  # a number, list or object as JSON; anything else is a string label
        value = orjson.loads(actual)
    except orjson.JSONDecodeError:
        value = actual
    _, error = await who.api.attempt("POST", f"/api/v1/predictions/{quote(request_id, safe='')}/feedback",
                                     json={"actual": value})
    return redirect(request, page, f"Feedback refused: {error.detail}" if error else "Feedback recorded.")
