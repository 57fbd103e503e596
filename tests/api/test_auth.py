"""Authentication and authorization over HTTP, each rule with its exact status."""

from __future__ import annotations

import stat
import time
from typing import Any
from unittest import mock

import httpx
import jwt
import pytest
from fastapi import FastAPI

from modelport.bootstrap import Services
from modelport.core.types import InferenceRequest
from tests.conftest import mint_admin_headers
from tests.fixtures.secured import PREDICT_BODY, PREDICT_PATH, admin_key, sum_app

PREDICT = (PREDICT_PATH, PREDICT_BODY)


def svc(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


async def make_key(app: FastAPI, *scopes: str, **kwargs: Any) -> str:
    return (await mint_admin_headers(svc(app), list(scopes), **kwargs))["Authorization"].split()[1]


@pytest.fixture
async def app(make_settings: Any, fake_flavors: None, tmp_path: Any):
    """Overrides the demo app: the light ``sum`` app starts much faster."""
    async with sum_app(make_settings(), tmp_path) as application:
        yield application


@pytest.fixture
def admin_headers(app: FastAPI) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_key(app)}"}


@pytest.fixture
async def anon(app: FastAPI):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


async def test_first_start_admin_key(app: FastAPI, anon: httpx.AsyncClient) -> None:
    path = svc(app).settings.home / "admin.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_text().strip()
    r = await anon.post(PREDICT[0], json=PREDICT[1], headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200
    r = await anon.get("/api/v1/models", headers={"X-API-Key": key})
    assert r.status_code == 200


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer"}, {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "Bearer mp_0123456789abcdef_" + "A" * 43}, {"X-API-Key": "nonsense"},
    {"Authorization": "Bearer not.a.jwt"}, {"Authorization": "Bearer " + "x" * 5000},
    {"Authorization": "Bearer mp_0123456789abcdef_" + "A" * 43, "X-API-Key": "other"},
])
async def test_no_or_bad_credential_401(anon: httpx.AsyncClient, headers: dict[str, str]) -> None:
    r = await anon.post(PREDICT[0], json=PREDICT[1], headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.headers["content-type"] == "application/problem+json"


async def test_public_routes_need_nothing(anon: httpx.AsyncClient) -> None:
    for path in ["/", "/health/live", "/health/ready", "/docs", "/openapi.json", "/redoc"]:
        assert (await anon.get(path)).status_code == 200, path
    assert (await anon.get("/metrics")).status_code == 401


async def test_wrong_scope_403(app: FastAPI, anon: httpx.AsyncClient) -> None:
    key = await make_key(app, "models:read")
    r = await anon.post(PREDICT[0], json=PREDICT[1], headers={"X-API-Key": key})
    assert r.status_code == 403 and "predict" in r.json()["detail"]
    assert (await anon.get("/api/v1/models", headers={"X-API-Key": key})).status_code == 200
    assert (await anon.get("/metrics", headers={"X-API-Key": key})).status_code == 403
    metrics_key = await make_key(app, "metrics")
    r = await anon.get("/metrics", headers={"X-API-Key": metrics_key})
    assert r.status_code == 200 and "modelport" in r.text


async def test_revoked_key_401_at_once_and_elsewhere_within_ttl(app: FastAPI, anon: httpx.AsyncClient,
                                                                 admin_headers: dict[str, str]) -> None:
    key = await make_key(app, "predict")
    key_id = key.split("_")[1]
    assert (await anon.post(*PREDICT[:1], json=PREDICT[1], headers={"X-API-Key": key})).status_code == 200
    r = await anon.delete(f"/api/v1/keys/{key_id}", headers=admin_headers)
    assert r.status_code == 204
    r = await anon.post(PREDICT[0], json=PREDICT[1], headers={"X-API-Key": key})
    assert r.status_code == 401 and r.json()["detail"] == "API key revoked"

    # another replica (its own cache) honours a revocation within key_cache_ttl_s
    services = svc(app)
    other = type(services.auth.keys)(services.sessions, cache_ttl=0.2)
    key2 = await make_key(app, "predict")
    assert (await other.verify(key2)).id == f"key:{key2.split('_')[1]}"
    await services.auth.keys.revoke(key2.split("_")[1])
    await other.verify(key2)  # still cached
    time.sleep(0.25)
    with pytest.raises(Exception, match="revoked"):
        await other.verify(key2)


async def test_expired_key_401(app: FastAPI, anon: httpx.AsyncClient) -> None:
    services = svc(app)
    owner = await services.auth.users.by_username("admin")
    from datetime import timedelta

    from modelport.storage.base import utcnow

    _, key = await services.auth.keys.create(owner.id, scopes=["predict"],
                                             expires_at=utcnow() + timedelta(seconds=1))
    assert (await anon.post(PREDICT[0], json=PREDICT[1], headers={"X-API-Key": key})).status_code == 200
    with mock.patch("modelport.security.keys.time.time", return_value=time.time() + 5):
        r = await anon.post(PREDICT[0], json=PREDICT[1], headers={"X-API-Key": key})
    assert r.status_code == 401 and r.json()["detail"] == "API key expired"


async def test_key_lookups_are_cached(app: FastAPI, anon: httpx.AsyncClient) -> None:
    key = await make_key(app, "predict")
    keys = svc(app).auth.keys
    with mock.patch.object(keys, "_fetch", wraps=keys._fetch) as fetch:
        for _ in range(20):
            r = await anon.post(PREDICT[0], json=PREDICT[1], headers={"X-API-Key": key})
            assert r.status_code == 200
    assert fetch.call_count <= 1


async def test_a_verified_key_is_not_hashed_again_and_a_forged_twin_is_not(app: FastAPI) -> None:
    """Repeat requests skip the key's hashing; a key with the same id and another secret still
    gets hashed, and refused."""
    from modelport.security import apikeys

    key = await make_key(app, "predict")
    keys = svc(app).auth.keys
    assert (await keys.verify(key)).id == f"key:{key.split('_')[1]}"
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    with mock.patch.object(apikeys, "digest", wraps=apikeys.digest) as digest:
        for _ in range(5):
            await keys.verify(key)
        assert digest.call_count == 0
        with pytest.raises(Exception, match="invalid API key"):
            await keys.verify(forged)
        assert digest.call_count == 1
    with pytest.raises(Exception, match="invalid API key"):
        await keys.verify(forged)  # and again: a refused key is never remembered


async def test_password_flow_and_jwt_checks(app: FastAPI, anon: httpx.AsyncClient,
                                            admin_headers: dict[str, str]) -> None:
    r = await anon.post("/api/v1/users", headers=admin_headers,
                        json={"username": "alice", "password": "correct horse battery",
                              "scopes": ["predict"]})
    assert r.status_code == 201
    assert set(r.json()) == {"id", "username", "role", "scopes", "created_at", "models", "disabled"}
    r = await anon.post("/api/v1/auth/token", data={"username": "alice", "password": "correct horse battery"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["scope"] == "predict"
    assert r.headers["cache-control"] == "no-store"
    token = body["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert (await anon.post(PREDICT[0], json=PREDICT[1], headers=auth)).status_code == 200
    assert (await anon.get("/api/v1/models", headers=auth)).status_code == 403

    r = await anon.post("/api/v1/auth/token", data={"username": "alice", "password": "wrong-password"})
    assert r.status_code == 401 and "www-authenticate" in r.headers
    r = await anon.post("/api/v1/auth/token",
                        data={"username": "alice", "password": "correct horse battery", "scope": "admin"})
    assert r.status_code == 401

    secret = svc(app).auth.tokens.secret
    payload = jwt.decode(token, options={"verify_signature": False})
    forged = {
        "expired": jwt.encode({**payload, "iat": payload["iat"] - 7200, "exp": payload["iat"] - 3600},
                              secret, "HS256"),
        "wrong signature": jwt.encode(payload, b"x" * 48, "HS256"),
        "alg none": jwt.encode({**payload, "scope": "admin"}, None, algorithm="none"),
        "no exp": jwt.encode({k: v for k, v in payload.items() if k != "exp"}, secret, "HS256"),
        "HS384": jwt.encode(payload, secret, "HS384"),
    }
    for what, bad in forged.items():
        r = await anon.post(PREDICT[0], json=PREDICT[1], headers={"Authorization": f"Bearer {bad}"})
        assert r.status_code == 401, what
        assert "www-authenticate" in r.headers


async def test_token_brute_force_429(make_settings: Any) -> None:
    from modelport.app import create_app

    application = create_app(make_settings(token_rate_limit="3/minute"))
    transport = httpx.ASGITransport(app=application)
    async with (application.router.lifespan_context(application),
                httpx.AsyncClient(transport=transport, base_url="http://t") as c):
        statuses = [(await c.post("/api/v1/auth/token",
                                  data={"username": "admin", "password": f"guess-{i}"})).status_code
                    for i in range(5)]
        assert statuses[:3] == [401] * 3 and statuses[3:] == [429, 429]
        r = await c.post("/api/v1/auth/token", data={"username": "admin", "password": "x" * 10})
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1
        assert r.headers["ratelimit-limit"] == "3" and r.headers["ratelimit-remaining"] == "0"
        assert int(r.headers["ratelimit-reset"]) >= 1


async def test_per_key_rate_limit(app: FastAPI, anon: httpx.AsyncClient) -> None:
    limited = await make_key(app, "predict", rate_limit="3/minute")
    other = await make_key(app, "predict")
    codes = [(await anon.post(PREDICT[0], json=PREDICT[1], headers={"X-API-Key": limited})).status_code
             for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert (await anon.post(PREDICT[0], json=PREDICT[1], headers={"X-API-Key": other})).status_code == 200


async def test_principal_reaches_the_core(app: FastAPI, anon: httpx.AsyncClient) -> None:
    key = await make_key(app, "predict")
    seen: list[InferenceRequest] = []
    inference = svc(app).inference
    original = inference.infer

    async def spy(request: InferenceRequest) -> Any:
        seen.append(request)
        return await original(request)

    with mock.patch.object(inference, "infer", spy):
        assert (await anon.post(PREDICT[0], json=PREDICT[1], headers={"X-API-Key": key})).status_code == 200
    assert seen[0].principal == f"key:{key.split('_')[1]}"


async def test_key_management(app: FastAPI, anon: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await anon.post("/api/v1/users", headers=admin_headers,
                    json={"username": "bob", "password": "bob-password-1",
                          "scopes": ["predict", "models:read"]})
    token = (await anon.post("/api/v1/auth/token",
                             data={"username": "bob", "password": "bob-password-1"})).json()["access_token"]
    bob = {"Authorization": f"Bearer {token}"}
    r = await anon.post("/api/v1/keys", headers=bob,
                        json={"name": "ci", "scopes": ["predict"], "expires_in": "30d"})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["key"].startswith("mp_") and created["owner"] == "bob" and "digest" not in created
    assert (await anon.post("/api/v1/keys", headers=bob, json={"scopes": ["admin"]})).status_code == 403
    assert (await anon.post("/api/v1/keys", headers=bob,
                            json={"scopes": ["predict"], "owner": "admin"})).status_code == 403
    # a plain API key cannot mint keys (a leaked key must not outlive its revocation)
    r = await anon.post("/api/v1/keys", headers={"X-API-Key": created["key"]}, json={"scopes": ["predict"]})
    assert r.status_code == 403
    listed = (await anon.get("/api/v1/keys", headers=bob)).json()
    assert [k["id"] for k in listed] == [created["id"]]
    everyone = (await anon.get("/api/v1/keys", headers=admin_headers)).json()
    assert {k["owner"] for k in everyone} == {"admin", "bob"}
    admin_key_id = next(k["id"] for k in everyone if k["owner"] == "admin")
    assert (await anon.get(f"/api/v1/keys/{admin_key_id}", headers=bob)).status_code == 404
    assert (await anon.delete(f"/api/v1/keys/{admin_key_id}", headers=bob)).status_code == 404
    assert (await anon.delete(f"/api/v1/keys/{created['id']}", headers=bob)).status_code == 204
    r = await anon.post(PREDICT[0], json=PREDICT[1], headers={"X-API-Key": created["key"]})
    assert r.status_code == 401
    for bad in [{"scopes": []}, {"scopes": ["root"]}, {"scopes": ["predict"], "expires_in": "forever"},
                {"scopes": ["predict"], "rate_limit": "lots"}, {"scopes": ["predict"], "extra": 1}]:
        r = await anon.post("/api/v1/keys", headers=admin_headers, json=bad)
        assert r.status_code in (400, 422), (bad, r.status_code)
    r = await anon.post("/api/v1/users", headers=admin_headers,
                        json={"username": "bob", "password": "another-pass"})
    assert r.status_code == 409
    r = await anon.post("/api/v1/users", headers=bob, json={"username": "eve", "password": "eve-password"})
    assert r.status_code == 403


async def test_auth_disabled_warns_and_allows(make_settings: Any, caplog: pytest.LogCaptureFixture,
                                              fake_flavors: None, tmp_path: Any) -> None:
    with caplog.at_level("WARNING"):
        async with sum_app(make_settings(auth="disabled"), tmp_path) as application:
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                assert (await c.post(PREDICT[0], json=PREDICT[1])).status_code == 200
    assert any("AUTHENTICATION IS DISABLED" in r.getMessage() for r in caplog.records)
    assert not (application.state.services.settings.home / "admin.key").exists()
