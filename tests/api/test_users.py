"""User lifecycle over HTTP and gRPC, on SQLite and PostgreSQL: a disabled, deleted or
never-existing user's token gets 401 (UNAUTHENTICATED), a disabled user's keys stop, a
password change ends older tokens, ``X-API-Key`` takes API keys only."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import jwt
import pytest
from fastapi import FastAPI

from modelport.bootstrap import Services
from modelport.oip.generated import grpc_service_pb2 as pb
from modelport.oip.generated import grpc_service_pb2_grpc as pb_grpc
from modelport.security.userstate import UserStates
from tests.fixtures.secured import PREDICT_BODY, PREDICT_PATH, admin_key, sum_app

PASSWORD = "correct horse battery"


@pytest.fixture
async def app(make_settings: Any, fake_flavors: None, tmp_path: Path,
              any_database_url: str | None) -> AsyncIterator[FastAPI]:
    settings = make_settings(database_url=any_database_url, grpc_enabled=True, grpc_port=0)
    async with sum_app(settings, tmp_path) as application:
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


def svc(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


def admin(app: FastAPI) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_key(app)}"}


async def login(client: httpx.AsyncClient, name: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/v1/auth/token", data={"username": name, "password": password})


async def user_token(app: FastAPI, client: httpx.AsyncClient, name: str) -> str:
    r = await client.post("/api/v1/users", headers=admin(app),
                          json={"username": name, "password": PASSWORD, "scopes": ["predict", "models:read"]})
    assert r.status_code == 201, r.text
    r = await login(client, name)
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


async def predict(client: httpx.AsyncClient, token: str, header: str = "Authorization") -> int:
    value = f"Bearer {token}" if header == "Authorization" else token
    return (await client.post(PREDICT_PATH, json=PREDICT_BODY, headers={header: value})).status_code


async def grpc_infer(app: FastAPI, token: str) -> grpc.StatusCode:
    tensor = pb.ModelInferRequest.InferInputTensor(name="input", datatype="FP64", shape=[1, 3])
    tensor.contents.fp64_contents.extend([1.0, 2.0, 3.0])
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.state.grpc_port}") as channel:
        try:
            await pb_grpc.GRPCInferenceServiceStub(channel).ModelInfer(
                pb.ModelInferRequest(model_name="sum", inputs=[tensor]),
                metadata=(("authorization", f"Bearer {token}"),))
        except grpc.aio.AioRpcError as exc:
            return exc.code()
    return grpc.StatusCode.OK


async def test_disable_enable_and_delete(app: FastAPI, client: httpx.AsyncClient) -> None:
    token = await user_token(app, client, "alice")
    r = await client.post("/api/v1/keys", headers={"Authorization": f"Bearer {token}"},
                          json={"scopes": ["predict"]})
    assert r.status_code == 201
    key = r.json()["key"]
    assert await predict(client, token) == 200 and await predict(client, key, "X-API-Key") == 200
    assert await grpc_infer(app, token) == grpc.StatusCode.OK
    listed = (await client.get("/api/v1/users", headers=admin(app))).json()
    assert {u["username"]: u["disabled"] for u in listed} == {"admin": False, "alice": False}
    assert "token_version" not in listed[0]

    r = await client.patch("/api/v1/users/alice", headers=admin(app), json={"disabled": True})
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert await predict(client, token) == 401  # at once on this replica
    assert await predict(client, key, "X-API-Key") == 401  # the user's keys stop too
    assert await grpc_infer(app, token) == grpc.StatusCode.UNAUTHENTICATED
    assert (await login(client, "alice")).status_code == 401

    assert (await client.patch("/api/v1/users/alice", headers=admin(app),
                               json={"disabled": False})).status_code == 200
    assert await predict(client, token) == 401, "a token issued before the disable stays dead"
    assert await predict(client, key, "X-API-Key") == 200
    fresh = (await login(client, "alice")).json()["access_token"]
    assert await predict(client, fresh) == 200

    assert (await client.delete("/api/v1/users/alice", headers=admin(app))).status_code == 204
    assert await predict(client, fresh) == 401 and await predict(client, key, "X-API-Key") == 401
    assert await grpc_infer(app, fresh) == grpc.StatusCode.UNAUTHENTICATED
    assert (await client.delete("/api/v1/users/alice", headers=admin(app))).status_code == 404


async def test_another_replica_sees_a_disable_within_the_ttl(app: FastAPI, client: httpx.AsyncClient) -> None:
    token = await user_token(app, client, "bob")
    services = svc(app)
    claims = services.auth.tokens.decode(token)
    other = UserStates(services.sessions, ttl=0.2)  # a replica with its own cache
    await other.check(claims)
    await services.auth.update_user("bob", disabled=True)
    await other.check(claims)  # still cached there
    await asyncio.sleep(0.25)
    with pytest.raises(Exception, match="disabled"):
        await other.check(claims)


async def test_never_existing_user_and_jwt_in_x_api_key(app: FastAPI, client: httpx.AsyncClient) -> None:
    now = int(time.time())
    forged = jwt.encode({"sub": "mallory", "uid": "0123456789abcdef", "scope": "admin", "iat": now,
                         "exp": now + 600, "iss": "modelport"},
                        svc(app).auth.tokens.secret, algorithm="HS256")
    assert await predict(client, forged) == 401
    assert await grpc_infer(app, forged) == grpc.StatusCode.UNAUTHENTICATED
    token = await user_token(app, client, "carol")
    assert await predict(client, token) == 200
    assert await predict(client, token, "X-API-Key") == 401


async def test_password_change_ends_older_tokens(app: FastAPI, client: httpx.AsyncClient) -> None:
    token = await user_token(app, client, "dave")
    auth = {"Authorization": f"Bearer {token}"}
    r = await client.post("/api/v1/users/me/password", headers=auth,
                          json={"current_password": "wrong password", "new_password": "a new password"})
    assert r.status_code == 401
    r = await client.post("/api/v1/users/me/password", headers=auth,
                          json={"current_password": PASSWORD, "new_password": "short"})
    assert r.status_code == 422
    r = await client.post("/api/v1/users/me/password", headers=auth,
                          json={"current_password": PASSWORD, "new_password": "a new password"})
    assert r.status_code == 204
    assert await predict(client, token) == 401
    assert await grpc_infer(app, token) == grpc.StatusCode.UNAUTHENTICATED
    assert (await login(client, "dave")).status_code == 401
    fresh = (await login(client, "dave", "a new password")).json()["access_token"]
    assert await predict(client, fresh) == 200


async def test_scopes_and_admin_only(app: FastAPI, client: httpx.AsyncClient) -> None:
    token = await user_token(app, client, "erin")
    auth = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/users", headers=auth)).status_code == 403
    r = await client.patch("/api/v1/users/erin", headers=auth, json={"disabled": False})
    assert r.status_code == 403
    r = await client.patch("/api/v1/users/erin", headers=admin(app), json={"scopes": ["models:read"]})
    assert r.status_code == 200 and r.json()["scopes"] == ["models:read"]
    assert await predict(client, token) == 401  # the token's scopes were the old ones
    fresh = (await login(client, "erin")).json()["access_token"]
    assert await predict(client, fresh) == 403
    assert (await client.patch("/api/v1/users/erin", headers=admin(app), json={})).status_code == 400
    assert (await client.patch("/api/v1/users/nobody", headers=admin(app),
                               json={"disabled": True})).status_code == 404
    assert (await client.delete("/api/v1/users/admin", headers=admin(app))).status_code == 409
    assert (await client.patch("/api/v1/users/admin", headers=admin(app),
                               json={"disabled": True})).status_code == 409
