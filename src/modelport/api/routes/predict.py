"""``/api/v1`` prediction routes: translate JSON rows to the canonical request and back."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Header

from modelport.api.deps import Principal, ServicesDep, require
from modelport.api.responses import FastJSONResponse
from modelport.api.schemas import BatchPredictRequest, PredictRequest, PredictResponse
from modelport.core.types import InferenceRequest, InferenceResponse, TensorDict
from modelport.errors import InvalidInput
from modelport.observability.context import current_request_id

router = APIRouter(prefix="/api/v1/models", tags=["predict"])
PredictDep = Annotated[Principal, require("predict")]


def rows_to_inputs(rows: list[Any], input_name: str) -> TensorDict:
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
        body["confidence"] = proba.max(axis=1) if proba.ndim == 2 else None
    body["latency_ms"] = round(response.latency_ms, 3)
    body["request_id"] = response.request_id
    return body


def use_cache(cache_control: str | None) -> bool:
    """``Cache-Control: no-cache`` (or ``no-store``) bypasses the prediction cache."""
    if not cache_control:
        return True
    directives = {d.strip().split("=")[0].lower() for d in cache_control.split(",")}
    return not directives & {"no-cache", "no-store"}


CacheControl = Annotated[str | None, Header(include_in_schema=False)]


async def _predict(services: Any, name: str, rows: list[Any], version: str | None,
                   principal: Principal, cache_control: str | None = None) -> FastJSONResponse:
    info = await services.inference.resolve(name, version)
    request = InferenceRequest(
        model=name, version=version, inputs=rows_to_inputs(rows, info.signature.inputs[0].name),
        request_id=current_request_id(), protocol="rest", principal=principal.id,
        use_cache=use_cache(cache_control),
    )
    result = await services.inference.infer(request)
    return FastJSONResponse(encode(result))


@router.post("/{name}/predict", response_model=PredictResponse, summary="Predict one row or a few rows")
async def predict(name: str, body: PredictRequest, services: ServicesDep,
                  principal: PredictDep, cache_control: CacheControl = None) -> FastJSONResponse:
    return await _predict(services, name, body.features, body.version, principal, cache_control)


@router.post("/{name}/predict/batch", response_model=PredictResponse, summary="Predict a batch of rows")
async def predict_batch(name: str, body: BatchPredictRequest, services: ServicesDep,
                        principal: PredictDep, cache_control: CacheControl = None) -> FastJSONResponse:
    return await _predict(services, name, body.samples, body.version, principal, cache_control)
