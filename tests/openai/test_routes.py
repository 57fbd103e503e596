"""/v1 routes: a registry that cannot answer is a 503, never a shorter model list."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from modelport.errors import Unavailable


async def test_a_failing_registry_lookup_is_a_503_not_a_shorter_list(
        app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    assert (await client.get("/v1/models")).status_code == 200

    async def slow(name: str, version: Any) -> Any:
        raise Unavailable("database lookup (model registry) is slow; retry", retry_after=1)

    monkeypatch.setattr(app.state.services.registry, "resolve", slow)
    r = await client.get("/v1/models")
    assert r.status_code == 503, r.text
    assert "retry" in r.json()["error"]["message"]
