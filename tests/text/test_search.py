"""Semantic search: documents on three topics, each query finds its topic first.

Runs on SQLite (numpy), on the shared PostgreSQL (no pgvector there: the numpy store over
bytea) and on a PostgreSQL with pgvector (HNSW index).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from modelport.app import create_app
from tests.conftest import build_test_settings, mint_admin_headers
from tests.text.conftest import Artifacts, requires_text

pytestmark = [pytest.mark.text, requires_text]

DOCS = [
    ("s1", "The striker scored twice and the home team won the football match.", "sports"),
    ("s2", "The tennis player won the final in three sets at Wimbledon.", "sports"),
    ("s3", "Marathon runners trained for months before the race.", "sports"),
    ("f1", "The central bank raised interest rates to fight inflation.", "finance"),
    ("f2", "Stock markets fell as investors worried about bond yields.", "finance"),
    ("f3", "The company reported record quarterly earnings and revenue.", "finance"),
    ("c1", "Whisk the eggs with sugar, then fold in the flour and bake.", "cooking"),
    ("c2", "Simmer the tomato sauce with garlic and fresh basil.", "cooking"),
    ("c3", "Knead the bread dough and let it rise for an hour.", "cooking"),
]
QUERIES = {
    "who won the game last night?": "sports",
    "what did the federal reserve do with rates?": "finance",
    "how long should I bake a cake?": "cooking",
}


@pytest.fixture(params=["sqlite", "postgres", "pgvector"])
def search_database(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    """(kind, database URL): sync, so the async database fixtures can be requested here."""
    if request.param == "sqlite":
        return "sqlite", None
    return request.param, request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
async def search_client(search_database: tuple[str, str | None], artifacts: Artifacts,
                        tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    kind, url = search_database
    settings = build_test_settings(tmp_path / "home", search_embed_batch=4, database_url=url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        services = app.state.services
        await services.models.register_file("minilm", "sentence-transformers", artifacts.minilm_zip,
                                            aliases=["production"])
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                     headers=await mint_admin_headers(services)) as client:
            client.expected_store = {"sqlite": "numpy", "postgres": "numpy",  # type: ignore[attr-defined]
                                     "pgvector": "pgvector"}[kind]
            yield client


async def test_queries_find_their_topic_first(search_client: httpx.AsyncClient) -> None:
    c = search_client
    r = await c.post("/api/v1/collections", json={"name": "news", "model": "minilm"})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["dimension"] == 384 and created["model_version"] == 1
    assert created["store"] == c.expected_store  # type: ignore[attr-defined]

    docs = [{"id": i, "text": t, "metadata": {"topic": topic, "n": k}}
            for k, (i, t, topic) in enumerate(DOCS)]
    r = await c.post("/api/v1/collections/news/documents", json={"documents": docs})
    assert r.status_code == 200, r.text
    assert r.json()["upserted"] == 9

    for query, topic in QUERIES.items():
        r = await c.post("/api/v1/collections/news/search", json={"query": query, "top_k": 3})
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert len(results) == 3
        assert results[0]["metadata"]["topic"] == topic, (query, results)
        scores = [h["score"] for h in results]
        assert scores == sorted(scores, reverse=True) and -1.0 <= scores[-1] <= scores[0] <= 1.0

    # metadata filter: only cooking documents, even for a sports query
    r = await c.post("/api/v1/collections/news/search",
                     json={"query": "who won the game last night?", "top_k": 5,
                           "filter": {"topic": "cooking"}})
    assert {h["id"] for h in r.json()["results"]} == {"c1", "c2", "c3"}

    # upsert replaces, delete removes
    r = await c.post("/api/v1/collections/news/documents",
                     json={"documents": [{"id": "c1", "text": "Goalkeepers train to save penalty kicks.",
                                          "metadata": {"topic": "sports"}}]})
    assert r.status_code == 200
    r = await c.post("/api/v1/collections/news/search",
                     json={"query": "penalty save by the goalkeeper", "top_k": 1})
    assert r.json()["results"][0]["id"] == "c1"
    assert (await c.delete("/api/v1/collections/news/documents/c1")).status_code == 204
    assert (await c.delete("/api/v1/collections/news/documents/c1")).status_code == 404
    r = await c.post("/api/v1/collections/news/search", json={"query": "goalkeeper", "top_k": 10})
    assert "c1" not in {h["id"] for h in r.json()["results"]} and len(r.json()["results"]) == 8
    assert (await c.get("/api/v1/collections/news")).json()["documents"] == 8


async def test_collection_errors(search_client: httpx.AsyncClient) -> None:
    c = search_client
    assert (await c.post("/api/v1/collections", json={"name": "x", "model": "nope"})).status_code == 404
    assert (await c.post("/api/v1/collections", json={"name": "a", "model": "minilm"})).status_code == 201
    assert (await c.post("/api/v1/collections", json={"name": "a", "model": "minilm"})).status_code == 409
    assert (await c.post("/api/v1/collections/b/search", json={"query": "q"})).status_code == 404
    r = await c.post("/api/v1/collections/a/search", json={"query": "q", "top_k": 10_000})
    assert r.status_code == 400
    r = await c.post("/api/v1/collections/a/documents", json={"documents": []})
    assert r.status_code == 422
    assert (await c.post("/api/v1/collections/a/search", json={"query": "q"})).json()["results"] == []
    assert (await c.delete("/api/v1/collections/a")).status_code == 204
    assert (await c.get("/api/v1/collections/a")).status_code == 404
