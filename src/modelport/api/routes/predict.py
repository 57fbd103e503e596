"""``/api/v1`` prediction routes: translate JSON rows to the canonical request and back.

The body is parsed by :mod:`modelport.api.predict_body` (orjson into numpy, strict numbers,
one message per bad body; the pydantic models define the OpenAPI schema). Each request carries
a deadline and is cancelled, rows and all, if its client disconnects (:mod:`modelport.api.control`).

Most requests to these two routes never reach FastAPI: :mod:`modelport.api.fastlane` answers
them in pure ASGI with the same steps (and :func:`run_predict`). The routes here document the
API and serve the requests the lane hands over (tracing, CORS, unusual bodies).
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Request
from fastapi._body_limit import get_body_limit_error
from starlette.responses import Response
from starlette.types import Receive

from modelport.api.control import TIMEOUT_HEADER, request_deadline, until_disconnect
from modelport.api.deps import Principal, require
from modelport.api.predict_body import PredictBody, openapi_body, parse_predict_body
from modelport.api.responses import dumps
from modelport.api.schemas import BatchPredictRequest, PredictRequest, PredictResponse
from modelport.core.types import InferenceRequest, InferenceResponse, TensorDict
from modelport.errors import InvalidInput, ModelportError, UnsupportedMediaType
from modelport.observability.context import current_request_id

router = APIRouter(prefix="/api/v1/models", tags=["predict"])
PredictDep = Annotated[Principal, require("predict")]


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


def encode(response: InferenceResponse, *, single_row: bool = False,
           confidence_threshold: float | None = None) -> dict[str, Any]:
    """The JSON answer. ``single_row`` (a flat ``features`` row) adds the scalar ``prediction``;
    a threshold adds ``low_confidence`` per row (for models that give probabilities)."""
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
        if confidence_threshold is not None and body["confidence"] is not None:
            body["low_confidence"] = body["confidence"] < confidence_threshold
    if single_row and len(body["predictions"]) == 1:
        body["prediction"] = body["predictions"][0]
    body["model_version"] = response.version
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
                      principal: Principal, *, timeout_header: str | None, cache_control: str | None,
                      receive: Receive, confidence_threshold: float | None = None,
                      single_row: bool | None = None) -> bytes:
    """The route's work once the body is parsed and the caller known; the JSON body it answers.

    Shared by the FastAPI route below and the pure-ASGI lane (:mod:`modelport.api.fastlane`), so
    both edges answer the same bytes. ``receive`` is watched for the client going away.
    """
    deadline = request_deadline(timeout_header, services.settings.request_timeout)
    try:
        info = await services.inference.resolve(name, version)
    except ModelportError as exc:  # logged like any failed prediction
        services.inference.record_failure(InferenceRequest(
            model=name, version=version, inputs={}, request_id=current_request_id(), protocol="rest",
            principal=principal.id), exc.code)
        raise
    inference = InferenceRequest(
        model=name, version=version, inputs=rows_to_inputs(rows, info.signature.inputs[0].name),
        request_id=current_request_id(), protocol="rest", principal=principal.id, deadline=deadline,
        use_cache=use_cache(cache_control), resolved=info,
    )
    result = await until_disconnect(receive, services.inference.infer(inference))
    if single_row is None:
        single_row = np.ndim(rows) == 1
    threshold = confidence_threshold if confidence_threshold is not None else info.config.confidence_threshold
    body = encode(result, single_row=single_row, confidence_threshold=threshold)
    if "low_confidence" in body and (flagged := int(np.count_nonzero(body["low_confidence"]))):
        services.metrics.low_confidence.labels(result.model, str(result.version)).inc(flagged)
    return dumps(body)


async def _predict(request: Request, name: str, parsed: PredictBody, principal: Principal) -> Response:
    headers = request.headers
    body = await run_predict(request.app.state.services, name, parsed.rows, parsed.version, principal,
                             timeout_header=headers.get(TIMEOUT_HEADER),
                             cache_control=headers.get("cache-control"), receive=request.receive,
                             confidence_threshold=parsed.confidence_threshold, single_row=parsed.single_row)
    return Response(body, media_type="application/json")


async def read_body(request: Request) -> bytes:
    """The raw body, read before any other dependency (as FastAPI does for a body parameter),
    so the body-size limit answers 413 however the body arrives. A body declared as anything
    but JSON is refused (415) unread: it was parsed as JSON whatever it said it was."""
    ctype = request.headers.get("content-type")
    if ctype is not None and not is_json_type(ctype):
        raise UnsupportedMediaType(f"send the body as application/json, not {ctype[:64]!r}")
    try:
        return await request.body()
    except Exception as exc:
        if (error := get_body_limit_error(exc)) is not None:
            raise error from exc
        raise


def is_json_type(ctype: str) -> bool:
    """``application/json`` or a ``+json`` type, parameters (charset) aside."""
    media = ctype.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


RawBody = Annotated[bytes, Depends(read_body)]

_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid body"}, 503: {"description": "Overloaded (Retry-After)"},
    504: {"description": "Deadline exceeded (X-Request-Timeout)"},
}


@router.post("/{name}/predict", response_model=PredictResponse, summary="Predict one row or a few rows",
             openapi_extra=openapi_body(PredictRequest), responses=_RESPONSES)
async def predict(name: str, request: Request, raw: RawBody, principal: PredictDep) -> Response:
    return await _predict(request, name, parse_predict_body(raw, "features", flat_ok=True), principal)


@router.post("/{name}/predict/batch", response_model=PredictResponse, summary="Predict a batch of rows",
             openapi_extra=openapi_body(BatchPredictRequest), responses=_RESPONSES)
async def predict_batch(name: str, request: Request, raw: RawBody,
                        principal: PredictDep) -> Response:
    return await _predict(request, name, parse_predict_body(raw, "samples", flat_ok=False), principal)
