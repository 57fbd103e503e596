"""Every prediction is in the record: chat completions (streamed or not) with token counts,
finish reason and the caller; search embeddings with the caller; refused (429) requests
counted in usage per key with tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from modelport.app import create_app
from modelport.bootstrap import build_services
from modelport.storage.engine import make_engine
from modelport.tracking.tables import PredictionRow
from tests.conftest import mint_admin_headers, write_fake_artifact

CHAT = {"model": "words", "messages": [{"role": "system", "content": "be brief"},
                                       {"role": "user", "content": "one two three four five"}]}


async def rows(settings: Any) -> list[PredictionRow]:
    engine = make_engine(settings.resolved_database_url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(select(PredictionRow).order_by(PredictionRow.id))).all())
    finally:
        await engine.dispose()


async def test_chat_completions_and_refusals_are_in_the_record(make_settings: Any, fake_flavors: None,
                                                               tmp_path: Path) -> None:
    settings = make_settings(cache_enabled=False, rate_limit="6/minute")
    services = build_services(settings)
    app = create_app(services=services)
    async with app.router.lifespan_context(app):
        await services.models.register_file("words", "test-words", write_fake_artifact(tmp_path, "w.json"),
                                            aliases=["production"])
        headers = await mint_admin_headers(services, ["predict"])
        key = "key:" + headers["Authorization"].split("_")[1]
        admin = await mint_admin_headers(services, ["admin"])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            r = await c.post("/v1/chat/completions", json={**CHAT, "max_tokens": 3}, headers=headers)
            assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] == 3
            async with c.stream("POST", "/v1/chat/completions", json={**CHAT, "stream": True},
                                headers={**headers, "X-Request-ID": "streamed-1"}) as streamed:
                assert streamed.status_code == 200
                assert "[DONE]" in "".join([part async for part in streamed.aiter_text()])
            r = await c.post("/v1/chat/completions", json={**CHAT, "model": "nope"}, headers=headers)
            assert r.status_code == 404
            codes = [(await c.post("/v1/chat/completions", json=CHAT, headers=headers)).status_code
                     for _ in range(6)]
            assert codes.count(429) >= 3
            await services.tracking.recorder.flush()
            usage = (await c.get("/api/v1/usage", params={"by": "key"}, headers=admin)).json()["items"]
    logged = await rows(settings)
    chats = [r for r in logged if r.model == "words"]
    first, stream = chats[0], next(r for r in chats if r.request_id == "streamed-1")
    assert (first.principal, first.protocol, first.status) == (key, "openai", "ok")
    assert (first.prompt_tokens, first.completion_tokens, first.finish_reason) == (7, 3, "length")
    assert '"one two three "' in (first.outputs or "") and "be brief" in (first.inputs or "")
    assert (stream.completion_tokens, stream.finish_reason, stream.principal) == (5, "stop", key)
    assert any(r.model == "nope" and r.error_code == "model_not_found" and r.principal == key for r in logged)
    refused = [r for r in logged if r.error_code == "rate_limited"]
    assert refused and all(r.principal == key and r.rows == 0 for r in refused)
    mine = next(u for u in usage if u["key"] == key)
    assert mine["refused"] == len(refused) and mine["errors"] >= len(refused) + 1
    assert mine["completion_tokens"] == sum(r.completion_tokens or 0 for r in chats)
    assert mine["prompt_tokens"] == sum(r.prompt_tokens or 0 for r in chats) > 0
