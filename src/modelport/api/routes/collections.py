"""``/api/v1/collections``: semantic search over documents embedded by a registered model."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from modelport.api.deps import PredictDep, ServicesDep, WriteDep
from modelport.api.schemas import StrictBody
from modelport.search.service import CollectionInfo
from modelport.search.stores import Document

router = APIRouter(prefix="/api/v1/collections", tags=["search"])
Scalar = str | int | float | bool | None


class CollectionCreate(StrictBody):
    name: str = Field(min_length=1, max_length=128, examples=["articles"])
    model: str = Field(min_length=1, max_length=128, examples=["minilm"])
    version: str | None = Field(default=None, max_length=64,
                                description="model version or alias to pin; default production/latest")


class CollectionOut(BaseModel):
    name: str
    model: str
    model_version: int
    dimension: int
    documents: int
    created_at: datetime
    store: str

    @classmethod
    def of(cls, info: CollectionInfo) -> CollectionOut:
        return cls(name=info.name, model=info.model, model_version=info.model_version,
                   dimension=info.dimension, documents=info.documents, created_at=info.created_at,
                   store=info.store)


class DocumentIn(StrictBody):
    id: str = Field(min_length=1, max_length=256)
    text: str = Field(max_length=65_536)
    metadata: dict[str, Scalar] = Field(default_factory=dict, max_length=64)


class DocumentsIn(StrictBody):
    documents: list[DocumentIn] = Field(min_length=1, max_length=1000)


class UpsertOut(BaseModel):
    collection: str
    upserted: int


class SearchIn(StrictBody):
    query: str = Field(min_length=1, max_length=65_536)
    top_k: int = Field(default=5, ge=1)
    filter: dict[str, Scalar] = Field(default_factory=dict, max_length=64,
                                      description="metadata equality: every key must match")


class HitOut(BaseModel):
    id: str
    score: float
    text: str
    metadata: dict[str, Any]


class SearchOut(BaseModel):
    collection: str
    model: str
    model_version: int
    results: list[HitOut]


@router.post("", response_model=CollectionOut, status_code=status.HTTP_201_CREATED,
             summary="Create a collection bound to an embedding model")
async def create_collection(body: CollectionCreate, services: ServicesDep, _p: WriteDep) -> CollectionOut:
    return CollectionOut.of(await services.search.create(body.name, body.model, body.version))


@router.get("", response_model=list[CollectionOut], summary="List collections")
async def list_collections(services: ServicesDep, _p: PredictDep) -> list[CollectionOut]:
    return [CollectionOut.of(c) for c in await services.search.list_collections()]


@router.get("/{name}", response_model=CollectionOut, summary="Show a collection")
async def get_collection(name: str, services: ServicesDep, _p: PredictDep) -> CollectionOut:
    return CollectionOut.of(await services.search.get(name))


@router.delete("/{name}", status_code=204, response_class=Response, summary="Delete a collection")
async def delete_collection(name: str, services: ServicesDep, _p: WriteDep) -> Response:
    await services.search.drop(name)
    return Response(status_code=204)


@router.post("/{name}/documents", response_model=UpsertOut, summary="Add or replace documents (batch)")
async def upsert_documents(name: str, body: DocumentsIn, services: ServicesDep, _p: WriteDep) -> UpsertOut:
    docs = [Document(d.id, d.text, dict(d.metadata)) for d in body.documents]
    return UpsertOut(collection=name, upserted=await services.search.upsert(name, docs))


@router.delete("/{name}/documents/{doc_id}", status_code=204, response_class=Response,
               summary="Delete a document")
async def delete_document(name: str, doc_id: str, services: ServicesDep, _p: WriteDep) -> Response:
    await services.search.delete_document(name, doc_id)
    return Response(status_code=204)


@router.post("/{name}/search", response_model=SearchOut, summary="Rank documents by similarity to a query")
async def search(name: str, body: SearchIn, services: ServicesDep, _p: PredictDep) -> SearchOut:
    info, hits = await services.search.search(name, body.query, body.top_k, dict(body.filter))
    return SearchOut(collection=info.name, model=info.model, model_version=info.model_version,
                     results=[HitOut(id=h.id, score=h.score, text=h.text, metadata=h.metadata) for h in hits])
