"""With the [text] extra, the embedded default also serves minilm and tiny-chat."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from modelport.app import create_app
from tests.text.conftest import auth_headers, requires_text

pytestmark = [pytest.mark.text, requires_text]


async def test_demo_registers_text_models(make_settings: Any) -> None:
    settings = make_settings(demo_models=True, demo_text_models=True)
    app = create_app(settings)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=auth_headers(settings.home)
    ) as c:
        ids = {m["id"] for m in (await c.get("/v1/models")).json()["data"]}
        assert {"minilm", "tiny-chat"} <= ids and not {"iris", "digits"} & ids  # /v1 serves text only
        chat = (await c.get("/api/v1/models/tiny-chat")).json()
        assert "smoke-test" in chat["versions"][0]["description"]
        assert chat["versions"][0]["tags"]["smoke-test"] == "true"
        r = await c.post("/v1/chat/completions", json={
            "model": "tiny-chat", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3})
        assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] == 3
        r = await c.post("/v1/chat/completions", json={
            "model": "tiny-chat", "messages": [{"role": "user", "content": "Hello"}], "temperature": 0})
        answer = r.json()["choices"][0]["message"]["content"]
        assert answer.startswith("Hello!") and "tiny-chat" in answer, answer  # trained at first start
        assert r.json()["choices"][0]["finish_reason"] == "stop"
        r = await c.post("/v1/embeddings", json={"model": "minilm", "input": "hello"})
        assert len(r.json()["data"][0]["embedding"]) == 384
