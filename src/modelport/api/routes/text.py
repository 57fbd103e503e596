"""``/api/v1/models/{name}/embed`` and ``.../classify``: text in, vectors or labels out."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter
from pydantic import Field

from modelport.api.deps import PredictDep, Principal, ServicesDep
from modelport.api.schemas import StrictBody
from modelport.bootstrap import Services
from modelport.core.embeddings import embedding_output
from modelport.core.types import InferenceRequest, InferenceResponse
from modelport.errors import InvalidInput
from modelport.observability.context import current_request_id
from modelport.web.responses import FastJSONResponse

router = APIRouter(prefix="/api/v1/models", tags=["text"])


class TextRequest(StrictBody):
    inputs: str | list[str] = Field(description="One text or a list of texts",
                                    examples=["A cat sits on the mat."])
    version: str | None = Field(default=None, max_length=64)


class EmbedResponse(StrictBody):
    model: str
    version: int
    dimensions: int
    embeddings: list[list[float]]
    token_counts: list[int] | None = None
    latency_ms: float
    request_id: str


class ClassifyResponse(StrictBody):
    model: str
    version: int
    predictions: list[str | int | float | bool]
    probabilities: list[list[float]] | None = None
    confidence: list[float] | None = None
    latency_ms: float
    request_id: str


async def _infer_text(services: Services, name: str, body: TextRequest,
                      principal: Principal) -> InferenceResponse:
    texts = [body.inputs] if isinstance(body.inputs, str) else body.inputs
    if not texts:
        raise InvalidInput("inputs must not be empty")
    limit = services.settings.text.max_string_length
    if any(len(t) > limit for t in texts):
        raise InvalidInput(f"each text may have at most {limit} characters")
    info = await services.inference.resolve(name, body.version)
    spec = info.signature.inputs[0]
    if spec.dtype not in ("str", "bytes"):
        raise InvalidInput(f"model {name!r} does not take text")
    return await services.inference.infer(InferenceRequest(
        model=name, version=body.version, inputs={spec.name: np.array(texts, dtype=object)},
        request_id=current_request_id(), protocol="rest", principal=principal.id, resolved=info,
    ))


@router.post("/{name}/embed", response_model=EmbedResponse, summary="Embed one text or a list of texts")
async def embed(name: str, body: TextRequest, services: ServicesDep,
                principal: PredictDep) -> FastJSONResponse:
    result = await _infer_text(services, name, body, principal)
    vectors = embedding_output(result.outputs)
    out: dict[str, Any] = {
        "model": result.model, "version": result.version, "dimensions": int(vectors.shape[1]),
        "embeddings": vectors, "latency_ms": round(result.latency_ms, 3), "request_id": result.request_id,
    }
    if "token_counts" in result.outputs:
        out["token_counts"] = result.outputs["token_counts"]
    return FastJSONResponse(out)


@router.post("/{name}/classify", response_model=ClassifyResponse, summary="Classify one text or a list")
async def classify(name: str, body: TextRequest, services: ServicesDep,
                   principal: PredictDep) -> FastJSONResponse:
    result = await _infer_text(services, name, body, principal)
    outputs = result.outputs
    labels = outputs.get("predictions", outputs.get("label"))
    if labels is None:
        raise InvalidInput(f"model {name!r} is not a classifier (it has no predictions output)")
    out: dict[str, Any] = {"model": result.model, "version": result.version, "predictions": labels}
    proba = outputs.get("probabilities")
    if proba is not None and proba.ndim == 2:
        out["probabilities"] = proba
        out["confidence"] = proba.max(axis=1)
    out["latency_ms"] = round(result.latency_ms, 3)
    out["request_id"] = result.request_id
    return FastJSONResponse(out)
