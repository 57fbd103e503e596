"""Artifacts: tampered files refused while the old version keeps serving, pickle refused by
default, names that cannot escape the store."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import joblib
import pytest
from fastapi import FastAPI
from sklearn.linear_model import LinearRegression

from modelport.bootstrap import Services
from tests.conftest import mint_admin_headers
from tests.fixtures.secured import PREDICT_BODY, PREDICT_PATH, admin_key, sum_app


@pytest.fixture
async def app(make_settings: Any, fake_flavors: None, tmp_path: Path):
    async with sum_app(make_settings(registry_cache_ttl_s=0), tmp_path) as a:
        yield a


@pytest.fixture
async def client(app: FastAPI):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"X-API-Key": admin_key(app)}) as c:
        yield c


def upload(name: str, content: bytes, flavor: str = "test-sum", filename: str = "m.json") -> dict[str, Any]:
    return {"files": {"file": (filename, content, "application/octet-stream")},
            "data": {"name": name, "flavor": flavor}}


async def test_tampered_artifact_refused_old_version_serves(app: FastAPI, client: httpx.AsyncClient,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    services: Services = app.state.services
    assert (await client.post(PREDICT_PATH, json=PREDICT_BODY)).json()["predictions"] == [6.0]
    v2 = json.dumps({"n_features": 3, "offset": 100}).encode()
    r = await client.post("/api/v1/models", **upload("sum", v2))
    assert r.status_code == 201 and r.json()["version"] == 2
    info = await services.registry.get_version("sum", 2)
    path = services.store.local_path(info.artifact_key)
    path.write_text(json.dumps({"n_features": 3, "offset": -1e6}))  # an attacker swaps the file

    with caplog.at_level(logging.ERROR):
        r = await client.put("/api/v1/models/sum/aliases/production", json={"version": 2})
    assert r.status_code == 500
    assert r.json()["code"] == "artifact_integrity" and "offset" not in r.text
    assert any("fails its sha256 check" in rec.getMessage() for rec in caplog.records) or \
        "sha256" in caplog.text
    r = await client.post(PREDICT_PATH, json=PREDICT_BODY)
    assert r.status_code == 200 and r.json()["version"] == 1 and r.json()["predictions"] == [6.0]
    r = await client.post(PREDICT_PATH, json={**PREDICT_BODY, "version": "2"})
    assert r.status_code == 500 and r.json()["code"] == "artifact_integrity"
    assert (await services.registry.get_model("sum")).aliases["production"] == 1


async def test_pickle_upload_refused_by_default(app: FastAPI, client: httpx.AsyncClient) -> None:
    buf = io.BytesIO()
    joblib.dump(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]), buf)
    r = await client.post("/api/v1/models", **upload("pickled", buf.getvalue(), "sklearn", "m.joblib"))
    assert r.status_code == 400 and r.json()["code"] == "unsafe_artifact"
    assert "MODELPORT_ALLOW_PICKLE" in r.json()["detail"]
    reader = await mint_admin_headers(app.state.services, ["models:read", "predict"])
    r = await client.post("/api/v1/models", headers={"X-API-Key": reader["Authorization"].split()[1]},
                          **upload("other", b'{"n_features": 3}'))
    assert r.status_code == 403


@pytest.mark.parametrize("name", ["../evil", "/abs", "a/../../b", "..", ".hidden", "a..b", "x" * 129])
async def test_names_cannot_escape_the_store(app: FastAPI, client: httpx.AsyncClient, name: str) -> None:
    r = await client.post("/api/v1/models", **upload(name, b'{"n_features": 3}'))
    assert r.status_code in (400, 422), r.text
    root = app.state.services.store.root
    assert sorted(p.name for p in root.parent.iterdir() if p.name.startswith(("evil", "abs", "b"))) == []
    assert not (root.parent / "evil").exists() and not Path("/abs").exists()


@pytest.mark.parametrize("path", ["/api/v1/models/..%2F..%2Fetc", "/api/v1/models/%2E%2E",
                                  "/api/v1/models/sum/versions/..%2F1"])
async def test_traversal_in_paths(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code in (400, 404, 422)
