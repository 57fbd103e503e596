"""Search embeddings are predictions too: logged with the caller, one row per embedding call
(a request embedding several chunks gets one request id per chunk)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from modelport.app import create_app
from modelport.storage.engine import make_engine
from modelport.tracking.tables import PredictionRow
from tests.conftest import build_test_settings, mint_admin_headers
from tests.text.conftest import Artifacts, requires_text

pytestmark = [pytest.mark.text, requires_text]


async def test_search_calls_are_logged_with_the_caller(artifacts: Artifacts, tmp_path: Path) -> None:
    settings = build_test_settings(tmp_path / "home", search_embed_batch=4, cache_enabled=False)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        services = app.state.services
        await services.models.register_file("minilm", "sentence-transformers", artifacts.minilm_zip,
                                            aliases=["production"])
        headers = await mint_admin_headers(services, ["admin"])
        key = "key:" + headers["Authorization"].split("_")[1]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                     headers=headers) as c:
            r = await c.post("/api/v1/collections", json={"name": "n", "model": "minilm"})
            assert r.status_code == 201
            docs = [{"id": str(i), "text": f"document number {i}"} for i in range(6)]
            r = await c.post("/api/v1/collections/n/documents", json={"documents": docs},
                             headers={"X-Request-ID": "upsert-1"})
            assert r.status_code == 200
            r = await c.post("/api/v1/collections/n/search", json={"query": "number", "top_k": 2},
                             headers={"X-Request-ID": "search-1"})
            assert r.status_code == 200
        await services.tracking.recorder.flush()
    engine = make_engine(settings.resolved_database_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(PredictionRow).where(PredictionRow.protocol == "search"))).all()
    finally:
        await engine.dispose()
    assert rows and all(r.principal == key for r in rows)
    ids = {r.request_id for r in rows}
    assert {"upsert-1", "upsert-1.1", "search-1"} <= ids
