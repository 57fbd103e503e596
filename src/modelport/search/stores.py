"""Two vector stores behind one interface: exact numpy over blobs, and pgvector (HNSW).

Both keep documents in ``search_documents``; they differ in how the vector is stored and
searched. Vectors arrive unit-length, so cosine similarity is the score either way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from sqlalchemy import delete, select, text, update

from modelport.core.types import Tensor
from modelport.search.tables import CollectionRow, DocumentRow
from modelport.storage.engine import SessionFactory


@dataclass(slots=True)
class Document:
    id: str
    text: str
    metadata: dict[str, Any]


@dataclass(slots=True)
class Hit:
    id: str
    text: str
    metadata: dict[str, Any]
    score: float


class VectorStore(Protocol):
    kind: str

    async def prepare(self, collection: CollectionRow) -> None: ...

    async def drop(self, collection: CollectionRow) -> None: ...

    async def upsert(self, collection: CollectionRow, docs: list[Document], vectors: Tensor) -> None: ...

    async def delete(self, collection: CollectionRow, doc_id: str) -> bool: ...

    async def search(self, collection: CollectionRow, query: Tensor, top_k: int,
                     where: dict[str, Any]) -> list[Hit]: ...


def matches(meta: dict[str, Any], where: dict[str, Any]) -> bool:
    return all(k in meta and meta[k] == v for k, v in where.items())


async def _bump(session: Any, collection: CollectionRow) -> None:
    await session.execute(update(CollectionRow).where(CollectionRow.id == collection.id)
                          .values(revision=CollectionRow.revision + 1))


@dataclass(slots=True)
class _Matrix:
    revision: int
    ids: list[str]
    texts: list[str]
    metas: list[dict[str, Any]]
    vectors: Tensor


class NumpyStore:
    """Vectors as float32 blobs; exact search with one matrix product, cached per revision."""

    kind = "numpy"

    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions
        self._cache: dict[int, _Matrix] = {}

    async def prepare(self, collection: CollectionRow) -> None:
        return None

    async def drop(self, collection: CollectionRow) -> None:
        self._cache.pop(collection.id, None)

    async def upsert(self, collection: CollectionRow, docs: list[Document], vectors: Tensor) -> None:
        async with self.sessions() as session:
            await session.execute(delete(DocumentRow).where(
                DocumentRow.collection_id == collection.id, DocumentRow.doc_id.in_([d.id for d in docs])
            ))
            session.add_all([
                DocumentRow(collection_id=collection.id, doc_id=d.id, text=d.text, meta=d.metadata,
                            embedding=np.asarray(v, dtype="<f4").tobytes())
                for d, v in zip(docs, vectors, strict=True)
            ])
            await _bump(session, collection)
            await session.commit()

    async def delete(self, collection: CollectionRow, doc_id: str) -> bool:
        async with self.sessions() as session:
            result = await session.execute(delete(DocumentRow).where(
                DocumentRow.collection_id == collection.id, DocumentRow.doc_id == doc_id
            ))
            found = bool(getattr(result, "rowcount", 0))
            if found:
                await _bump(session, collection)
            await session.commit()
        return found

    async def _matrix(self, collection: CollectionRow) -> _Matrix:
        cached = self._cache.get(collection.id)
        if cached is not None and cached.revision == collection.revision:
            return cached
        async with self.sessions() as session:
            rows = (await session.execute(
                select(DocumentRow.doc_id, DocumentRow.text, DocumentRow.meta, DocumentRow.embedding)
                .where(DocumentRow.collection_id == collection.id).order_by(DocumentRow.doc_id)
            )).all()
        dim = collection.dimension
        vectors = (np.frombuffer(b"".join(r[3] for r in rows), dtype="<f4").reshape(len(rows), dim)
                   if rows else np.empty((0, dim), dtype=np.float32))
        matrix = _Matrix(collection.revision, [r[0] for r in rows], [r[1] for r in rows],
                         [r[2] or {} for r in rows], vectors)
        self._cache[collection.id] = matrix
        return matrix

    async def search(self, collection: CollectionRow, query: Tensor, top_k: int,
                     where: dict[str, Any]) -> list[Hit]:
        m = await self._matrix(collection)
        if not m.ids:
            return []
        scores = m.vectors @ np.asarray(query, dtype=np.float32)
        if where:
            keep = np.fromiter((matches(meta, where) for meta in m.metas), dtype=bool, count=len(m.ids))
            scores = np.where(keep, scores, -np.inf)
        k = min(top_k, len(m.ids))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [Hit(m.ids[i], m.texts[i], m.metas[i], float(scores[i]))
                for i in top if np.isfinite(scores[i])]


def _vector_literal(vec: Tensor) -> str:
    return "[" + ",".join(repr(float(x)) for x in np.asarray(vec, dtype=np.float32)) + "]"


class PgVectorStore:
    """A ``vector`` column; each collection gets a partial HNSW index on its own dimension."""

    kind = "pgvector"

    def __init__(self, sessions: SessionFactory, version: tuple[int, ...]) -> None:
        self.sessions = sessions
        self.iterative_scan = version >= (0, 8, 0)

    @staticmethod
    def _index(collection: CollectionRow) -> str:
        return f"ix_search_hnsw_{int(collection.id)}"

    async def prepare(self, collection: CollectionRow) -> None:
        dim, cid = int(collection.dimension), int(collection.id)
        async with self.sessions() as session:
            await session.execute(text(
                f"CREATE INDEX IF NOT EXISTS {self._index(collection)} ON search_documents "  # noqa: S608
                f"USING hnsw ((embedding::vector({dim})) vector_cosine_ops) WHERE collection_id = {cid}"
            ))
            await session.commit()

    async def drop(self, collection: CollectionRow) -> None:
        async with self.sessions() as session:
            await session.execute(text(f"DROP INDEX IF EXISTS {self._index(collection)}"))
            await session.commit()

    async def upsert(self, collection: CollectionRow, docs: list[Document], vectors: Tensor) -> None:
        params = [{"cid": collection.id, "doc_id": d.id, "text": d.text, "meta": json.dumps(d.metadata),
                   "vec": _vector_literal(v)} for d, v in zip(docs, vectors, strict=True)]
        async with self.sessions() as session:
            await session.execute(text(
                "INSERT INTO search_documents (collection_id, doc_id, text, metadata, embedding) "
                "VALUES (:cid, :doc_id, :text, CAST(:meta AS jsonb), CAST(:vec AS vector)) "
                "ON CONFLICT (collection_id, doc_id) DO UPDATE SET text = EXCLUDED.text, "
                "metadata = EXCLUDED.metadata, embedding = EXCLUDED.embedding"
            ), params)
            await _bump(session, collection)
            await session.commit()

    async def delete(self, collection: CollectionRow, doc_id: str) -> bool:
        async with self.sessions() as session:
            result = await session.execute(text(
                "DELETE FROM search_documents WHERE collection_id = :cid AND doc_id = :doc_id"
            ), {"cid": collection.id, "doc_id": doc_id})
            found = bool(getattr(result, "rowcount", 0))
            if found:
                await _bump(session, collection)
            await session.commit()
        return found

    async def search(self, collection: CollectionRow, query: Tensor, top_k: int,
                     where: dict[str, Any]) -> list[Hit]:
        dim = int(collection.dimension)
        distance = f"embedding::vector({dim}) <=> CAST(:q AS vector({dim}))"
        sql = (f"SELECT doc_id, text, metadata, 1 - ({distance}) AS score FROM search_documents "  # noqa: S608
               "WHERE collection_id = :cid" + (" AND metadata @> CAST(:where AS jsonb)" if where else "")
               + f" ORDER BY {distance} LIMIT :k")
        params: dict[str, Any] = {"q": _vector_literal(query), "cid": collection.id, "k": top_k}
        if where:
            params["where"] = json.dumps(where)
        async with self.sessions() as session, session.begin():
            await session.execute(text(f"SET LOCAL hnsw.ef_search = {max(40, min(1000, top_k))}"))
            if self.iterative_scan and where:  # keep scanning the graph until enough rows pass the filter
                await session.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
            rows = (await session.execute(text(sql), params)).all()
        hits = [Hit(r[0], r[1], r[2] if isinstance(r[2], dict) else json.loads(r[2] or "{}"), float(r[3]))
                for r in rows]
        return sorted(hits, key=lambda h: -h.score)


async def detect_store(sessions: SessionFactory) -> VectorStore:
    """pgvector when ``search_documents.embedding`` is a vector column, numpy otherwise."""
    async with sessions() as session:
        bind = session.bind
        if bind is None or bind.dialect.name != "postgresql":
            return NumpyStore(sessions)
        column_type = (await session.execute(text(
            "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "WHERE a.attrelid = 'search_documents'::regclass AND a.attname = 'embedding'"
        ))).scalar()
        if column_type != "vector":
            return NumpyStore(sessions)
        version = (await session.execute(text(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
        ))).scalar() or "0"
    return PgVectorStore(sessions, tuple(int(p) for p in str(version).split(".") if p.isdigit()))
