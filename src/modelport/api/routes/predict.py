"""``/api/v1`` prediction routes: translate JSON rows to the canonical request and back.

Ordinary routes in the one middleware stack: the gate admitted the caller before the body was
read (:mod:`modelport.web.gate`); the body is read under the body limit and parsed by
:mod:`modelport.api.predict_body` (strict numbers, one message per bad body, the seeds' names).
Each request carries a deadline and is cancelled, rows and all, if its client disconnects
(:mod:`modelport.web.deadline`). :mod:`modelport.api.routes.predict_asgi` serves the same two
paths as raw ASGI endpoints with the same functions; these routes document them (OpenAPI).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from starlette.responses import Response
from starlette.types import Receive, Scope

from modelport.api.deps import PredictDep, Principal
from modelport.api.predict_body import PredictBody, openapi_body, parse_predict_body
from modelport.api.schemas import BatchPredictRequest, PredictRequest, PredictResponse
from modelport.core.types import InferenceRequest, InferenceResponse, TensorDict
from modelport.errors import InvalidInput, ModelportError, PayloadTooLarge, UnsupportedMediaType
from modelport.observability.context import current_request_id
from modelport.web.control import ClientClosedRequest
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


def encode(response: InferenceResponse, *, single_row: bool = False,
           confidence_threshold: float | None = None) -> dict[str, Any]:
    """The JSON answer. ``single_row`` (a flat ``features`` row) adds the scalar ``prediction``
    and makes ``confidence`` that row's scalar; a threshold adds ``low_confidence`` per row (for
    models that give probabilities)."""
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
    if single_row and len(body["predictions"]) == 1:  # the seeds' scalars: one element, no pass
        body["prediction"] = body["predictions"][0]
        if body.get("confidence") is not None:
            body["confidence"] = body["confidence"][0]
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
                      principal: Principal, *, cache_control: str | None,
                      confidence_threshold: float | None = None, single_row: bool | None = None) -> bytes:
    """The route's work once the body is parsed and the caller known; the JSON body it answers.

    The deadline and the client's hang-up are the middleware's (:mod:`modelport.web.deadline`).
    """
    try:
        info = await services.inference.resolve(name, version)
    except ModelportError as exc:  # logged like any failed prediction
        services.inference.record_failure(InferenceRequest(
            model=name, version=version, inputs={}, request_id=current_request_id(), protocol="rest",
            principal=principal.id), exc.code)
        raise
    inference = InferenceRequest(
        model=name, version=version, inputs=rows_to_inputs(rows, info.signature.inputs[0].name),
        request_id=current_request_id(), protocol="rest", principal=principal.id,
        use_cache=use_cache(cache_control), resolved=info,
    )
    result = await services.inference.infer(inference)
    if single_row is None:
        single_row = np.ndim(rows) == 1
    threshold = confidence_threshold if confidence_threshold is not None else info.config.confidence_threshold
    body = encode(result, single_row=single_row, confidence_threshold=threshold)
    if "low_confidence" in body and (flagged := int(np.count_nonzero(body["low_confidence"]))):
        services.metrics.low_confidence.labels(result.model, str(result.version)).inc(flagged)
    return dumps(body)


def is_json_type(ctype: str) -> bool:
    """``application/json`` or a ``+json`` type, parameters (charset) aside."""
    media = ctype.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def read_json_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole body, refused with 415 unread if declared as anything but JSON, and with 413
    past ``limit`` (declared or counted, chunked included)."""
    for key, value in scope["headers"]:
        if key == b"content-type":
            ctype = value.decode("latin-1")
            if not is_json_type(ctype):
                raise UnsupportedMediaType(f"send the body as application/json, not {ctype[:64]!r}")
        elif key == b"content-length" and value.isdigit() and int(value) > limit:
            raise PayloadTooLarge(f"request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientClosedRequest("client closed the connection")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body is larger than {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def predict_request(services: Any, scope: Scope, receive: Receive, principal: Principal,
                          field: str) -> bytes:
    """Read and parse the body, then :func:`run_predict`: what both the documented routes and the
    raw endpoints do once the caller is admitted."""
    raw = await read_json_body(scope, receive, services.settings.server.max_body_bytes)
    parsed: PredictBody = parse_predict_body(raw, field, flat_ok=field == "features")
    cache_control = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"cache-control"), None)
    return await run_predict(services, scope["path_params"]["name"], parsed.rows, parsed.version, principal,
                             cache_control=cache_control, confidence_threshold=parsed.confidence_threshold,
                             single_row=parsed.single_row)


_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"description": "Body too large"}, 415: {"description": "Not JSON"},
    422: {"description": "Invalid body"}, 503: {"description": "Overloaded (Retry-After)"},
    504: {"description": "Deadline exceeded (X-Request-Timeout)"},
}


@router.post("/{name}/predict", response_model=PredictResponse, summary="Predict one row or a few rows",
             openapi_extra=openapi_body(PredictRequest), responses=_RESPONSES)
async def predict(name: str, request: Request, principal: PredictDep) -> Response:
    body = await predict_request(request.app.state.services, request.scope, request.receive, principal,
                                 "features")
    return Response(body, media_type="application/json")


@router.post("/{name}/predict/batch", response_model=PredictResponse, summary="Predict a batch of rows",
             openapi_extra=openapi_body(BatchPredictRequest), responses=_RESPONSES)
async def predict_batch(name: str, request: Request, principal: PredictDep) -> Response:
    body = await predict_request(request.app.state.services, request.scope, request.receive, principal,
                                 "samples")
    return Response(body, media_type="application/json")
