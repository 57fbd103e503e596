"""``/api/v1`` prediction routes: translate JSON rows to the canonical request and back.

Ordinary routes in the one middleware stack: the gate admitted the caller before the body was
read (:mod:`modelport.web.gate`), the pydantic models parse the body (422 names the field).
Each request carries a deadline and is cancelled, rows and all, if its client disconnects
(:mod:`modelport.web.deadline`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from starlette.responses import Response

from modelport.api.deps import PredictDep, Principal
from modelport.api.schemas import BatchPredictRequest, PredictRequest, PredictResponse
from modelport.core.types import InferenceRequest, InferenceResponse, TensorDict
from modelport.errors import InvalidInput
from modelport.observability.context import current_request_id
from modelport.web.responses import dumps

router = APIRouter(prefix="/api/v1/models", tags=["predict"])


def rows_to_inputs(rows: list[Any] | np.ndarray[Any, Any], input_name: str) -> TensorDict:
    if isinstance(rows, np.ndarray):
        return {input_name: rows.reshape(1, -1) if rows.ndim == 1 else rows}
    try:
        arr = np.asarray(rows, dtype=np.float64)
    except ValueError:
        raise InvalidInput("features: every row must have the same number of values") from None
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    return {input_name: arr}


def encode(response: InferenceResponse) -> dict[str, Any]:
    outputs = response.outputs
    names = list(outputs)
    predictions = outputs.get("predictions", outputs[names[0]] if names else np.empty(0))
    body: dict[str, Any] = {
        "model": response.model,
        "version": response.version,
        "predictions": predictions.reshape(predictions.shape[0], -1)[:, 0]
        if predictions.ndim > 1 and predictions.shape[-1] == 1 else predictions,
    }
    proba_name = "probabilities" if "probabilities" in outputs else next(
        (n for n in names if "prob" in n.lower()), None
    )
    if proba_name is not None:
        proba = outputs[proba_name]
        body["probabilities"] = proba
        body["confidence"] = np.maximum.reduce(proba, axis=1) if proba.ndim == 2 else None
    body["latency_ms"] = round(response.latency_ms, 3)
    body["request_id"] = response.request_id
    return body


def use_cache(cache_control: str | None) -> bool:
    """``Cache-Control: no-cache`` (or ``no-store``) bypasses the prediction cache."""
    if not cache_control:
        return True
    directives = {d.strip().split("=")[0].lower() for d in cache_control.split(",")}
    return not directives & {"no-cache", "no-store"}


async def run_predict(services: Any, name: str, rows: list[Any] | np.ndarray[Any, Any], version: str | None,
                      principal: Principal, *, cache_control: str | None) -> bytes:
    """The route's work once the body is parsed and the caller known; the JSON body it answers.

    The deadline and the client's hang-up are the middleware's (:mod:`modelport.web.deadline`).
    """
    info = await services.inference.resolve(name, version)
    inference = InferenceRequest(
        model=name, version=version, inputs=rows_to_inputs(rows, info.signature.inputs[0].name),
        request_id=current_request_id(), protocol="rest", principal=principal.id,
        use_cache=use_cache(cache_control), resolved=info,
    )
    result = await services.inference.infer(inference)
    return dumps(encode(result))


async def _predict(request: Request, name: str, rows: list[Any] | np.ndarray[Any, Any],
                   version: str | None, principal: Principal) -> Response:
    headers = request.headers
    body = await run_predict(request.app.state.services, name, rows, version, principal,
                             cache_control=headers.get("cache-control"))
    return Response(body, media_type="application/json")


_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid body"}, 503: {"description": "Overloaded (Retry-After)"},
    504: {"description": "Deadline exceeded (X-Request-Timeout)"},
}


@router.post("/{name}/predict", response_model=PredictResponse, summary="Predict one row or a few rows",
             responses=_RESPONSES)
async def predict(name: str, request: Request, body: PredictRequest, principal: PredictDep) -> Response:
    return await _predict(request, name, body.features, body.version, principal)


@router.post("/{name}/predict/batch", response_model=PredictResponse, summary="Predict a batch of rows",
             responses=_RESPONSES)
async def predict_batch(name: str, request: Request, body: BatchPredictRequest,
                        principal: PredictDep) -> Response:
    return await _predict(request, name, body.samples, body.version, principal)
