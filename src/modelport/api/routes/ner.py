"""``/api/v1/models/{name}/ner``: named entities with character offsets (token-classification models)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter
from pydantic import BaseModel

from modelport.api.deps import Principal, ServicesDep, require
from modelport.api.routes.text import TextRequest
from modelport.core.types import InferenceRequest
from modelport.errors import InvalidInput
from modelport.observability.context import current_request_id
from modelport.web.responses import FastJSONResponse

router = APIRouter(prefix="/api/v1/models", tags=["text"])
PredictDep = Annotated[Principal, require("predict")]


class Entity(BaseModel):
    entity: str
    start: int
    end: int
    word: str
    score: float


class NerResponse(BaseModel):
    model: str
    version: int
    entities: list[list[Entity]]
    latency_ms: float
    request_id: str


@router.post("/{name}/ner", response_model=NerResponse,
             summary="Named entities per text, with character offsets (`text[start:end] == word`)")
async def ner(name: str, body: TextRequest, services: ServicesDep, principal: PredictDep) -> FastJSONResponse:
    texts = [body.inputs] if isinstance(body.inputs, str) else body.inputs
    if not texts:
        raise InvalidInput("inputs must not be empty")
    limit = services.settings.text.max_string_length
    if any(len(t) > limit for t in texts):
        raise InvalidInput(f"each text may have at most {limit} characters")
    info = await services.inference.resolve(name, body.version)
    if "entities" not in {o.name for o in info.signature.outputs}:
        raise InvalidInput(f"model {name!r} is not a token-classification (NER) model")
    spec = info.signature.inputs[0]
    result = await services.inference.infer(InferenceRequest(
        model=name, version=body.version, inputs={spec.name: np.array(texts, dtype=object)},
        request_id=current_request_id(), protocol="rest", principal=principal.id, resolved=info,
    ))
    entities: list[Any] = [json.loads(str(e)) for e in result.outputs["entities"]]
    return FastJSONResponse({"model": result.model, "version": result.version, "entities": entities,
                             "latency_ms": round(result.latency_ms, 3), "request_id": result.request_id})
