"""Collections bound to an embedding model: create, upsert documents, delete, search.

A collection pins the model *version* it was created with: vectors from two versions of a model
live in different spaces, so moving the model's alias later must not mix them. Documents are
embedded through ``InferenceService.infer`` in batches (batching, metrics and logging apply).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from modelport.core.embeddings import embedding_output, normalize
from modelport.core.inference import InferenceService
from modelport.core.types import InferenceRequest, Tensor
from modelport.errors import Conflict, InvalidInput, NotFound
from modelport.observability.context import current_request_id, principal_var
from modelport.registry.registry import check_name
from modelport.search.stores import Document, Hit, VectorStore, detect_store
from modelport.search.tables import CollectionRow, DocumentRow
from modelport.storage.engine import SessionFactory

log = logging.getLogger(__name__)


class CollectionNotFound(NotFound):
    code = "collection_not_found"


@dataclass(slots=True)
class CollectionInfo:
    name: str
    model: str
    model_version: int
    dimension: int
    documents: int
    created_at: datetime
    store: str


class SearchService:
    def __init__(self, sessions: SessionFactory, inference: InferenceService, *, embed_batch: int = 64,
                 max_top_k: int = 100, max_text: int = 65_536) -> None:
        self.sessions = sessions
        self.inference = inference
        self.embed_batch = embed_batch
        self.max_top_k = max_top_k
        self.max_text = max_text
        self._store: VectorStore | None = None
        self._store_lock = asyncio.Lock()

    async def store(self) -> VectorStore:
        if self._store is None:
            async with self._store_lock:
                if self._store is None:
                    self._store = await detect_store(self.sessions)
                    log.info("semantic search uses the %s vector store", self._store.kind)
        return self._store

    # ------------------------------------------------------------ collections
    async def _get(self, name: str) -> CollectionRow:
        async with self.sessions() as session:
            row = (await session.execute(
                select(CollectionRow).where(CollectionRow.name == name)
            )).scalars().first()
        if row is None:
            raise CollectionNotFound(f"collection {name[:128]!r} not found")
        return row

    async def _info(self, row: CollectionRow) -> CollectionInfo:
        async with self.sessions() as session:
            count = (await session.execute(
                select(func.count()).select_from(DocumentRow).where(DocumentRow.collection_id == row.id)
            )).scalar() or 0
        return CollectionInfo(row.name, row.model, row.model_version, row.dimension, int(count),
                              row.created_at, (await self.store()).kind)

    async def get(self, name: str) -> CollectionInfo:
        return await self._info(await self._get(name))

    async def list_collections(self) -> list[CollectionInfo]:
        async with self.sessions() as session:
            rows = (await session.execute(select(CollectionRow).order_by(CollectionRow.name))).scalars().all()
        return [await self._info(r) for r in rows]

    async def create(self, name: str, model: str, version: str | None = None) -> CollectionInfo:
        check_name(name)
        info = await self.inference.resolve(model, version)
        if info.signature.inputs[0].dtype not in ("str", "bytes"):
            raise InvalidInput(f"model {model!r} does not take text, so it cannot embed documents")
        probe = await self._embed(info.name, info.version, ["dimension probe"])
        row = CollectionRow(name=name, model=info.name, model_version=info.version,
                            dimension=int(probe.shape[1]), revision=0)
        async with self.sessions() as session:
            session.add(row)
            try:
                await session.commit()
            except IntegrityError:
                raise Conflict(f"collection {name!r} already exists") from None
        await (await self.store()).prepare(row)
        return await self._info(row)

    async def drop(self, name: str) -> None:
        row = await self._get(name)
        await (await self.store()).drop(row)
        async with self.sessions() as session:
            await session.execute(delete(DocumentRow).where(DocumentRow.collection_id == row.id))
            await session.execute(delete(CollectionRow).where(CollectionRow.id == row.id))
            await session.commit()

    # -------------------------------------------------------------- documents
    async def _embed(self, model: str, version: int, texts: list[str]) -> Tensor:
        vectors: list[Tensor] = []
        request_id = current_request_id()  # logged with the caller, like every prediction
        for start in range(0, len(texts), self.embed_batch):
            chunk = texts[start:start + self.embed_batch]
            info = await self.inference.resolve(model, str(version))
            part = request_id if start == 0 or not request_id else f"{request_id}.{start // self.embed_batch}"
            result = await self.inference.infer(InferenceRequest(
                model=model, version=str(version),
                inputs={info.signature.inputs[0].name: np.array(chunk, dtype=object)}, protocol="search",
                request_id=part, principal=principal_var.get(),
            ))
            vectors.append(embedding_output(result.outputs))
        return normalize(np.concatenate(vectors))

    async def upsert(self, name: str, documents: list[Document]) -> int:
        if not documents:
            raise InvalidInput("documents must not be empty")
        if any(len(d.text) > self.max_text for d in documents):
            raise InvalidInput(f"each document text may have at most {self.max_text} characters")
        unique = list({d.id: d for d in documents}.values())  # the last copy of an id wins
        row = await self._get(name)
        vectors = await self._embed(row.model, row.model_version, [d.text for d in unique])
        if vectors.shape[1] != row.dimension:
            raise Conflict(f"model {row.model!r} v{row.model_version} now makes {vectors.shape[1]}-d "
                           f"vectors; collection {name!r} holds {row.dimension}-d vectors")
        await (await self.store()).upsert(row, unique, vectors)
        return len(unique)

    async def delete_document(self, name: str, doc_id: str) -> None:
        row = await self._get(name)
        if not await (await self.store()).delete(row, doc_id):
            raise NotFound(f"collection {name!r} has no document {doc_id[:256]!r}")

    async def search(self, name: str, query: str, top_k: int = 5,
                     where: dict[str, Any] | None = None) -> tuple[CollectionInfo, list[Hit]]:
        if not 1 <= top_k <= self.max_top_k:
            raise InvalidInput(f"top_k must be between 1 and {self.max_top_k}")
        if len(query) > self.max_text:
            raise InvalidInput(f"query may have at most {self.max_text} characters")
        row = await self._get(name)
        vector = (await self._embed(row.model, row.model_version, [query]))[0]
        hits = await (await self.store()).search(row, vector, top_k, where or {})
        info = CollectionInfo(row.name, row.model, row.model_version, row.dimension, -1, row.created_at,
                              (await self.store()).kind)
        return info, hits
