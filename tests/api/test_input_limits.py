"""Input limits and hardening: body size (chunked too), NUL bytes, security headers, CORS."""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from fastapi import FastAPI

from modelport.api.hardening import InsecureCors, NulScanner
from modelport.app import create_app
from tests.fixtures.secured import PREDICT_BODY, PREDICT_PATH, admin_key, sum_app
from tests.fixtures.server import running_server

SMALL = 4096


@pytest.fixture
async def app(make_settings: Any, fake_flavors: None, tmp_path: Any):
    async with sum_app(make_settings(max_body_bytes=SMALL, max_upload_bytes=64 * 1024), tmp_path) as a:
        yield a


@pytest.fixture
async def client(app: FastAPI):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"X-API-Key": admin_key(app)}) as c:
        yield c


async def test_body_over_limit_413(client: httpx.AsyncClient) -> None:
    body = json.dumps({"samples": [[1.0, 2.0, 3.0]] * 400}).encode()
    assert len(body) > SMALL
    r = await client.post("/api/v1/models/sum/predict/batch", content=body,
                          headers={"Content-Type": "application/json"})
    assert r.status_code == 413


async def test_chunked_body_over_limit_413(client: httpx.AsyncClient) -> None:
    async def chunks():
        yield b'{"samples": ['
        for _ in range(400):
            yield b"[1.0, 2.0, 3.0],"
        yield b"[1.0, 2.0, 3.0]]}"

    r = await client.post("/api/v1/models/sum/predict/batch", content=chunks(),
                          headers={"Content-Type": "application/json"})
    assert "content-length" not in r.request.headers
    assert r.status_code == 413


def raw_http(base: str, request: bytes) -> bytes:
    url = urlparse(base)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        # no half-close: uvicorn reads EOF as a disconnect, and the gate (which answers before the
        # body is read) would race it; ``Connection: close`` ends the exchange instead
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def test_chunked_over_real_http_413(make_settings: Any, fake_flavors: None, tmp_path: Any) -> None:
    """A real server and a real ``Transfer-Encoding: chunked`` body with no Content-Length."""
    app = create_app(make_settings(max_body_bytes=SMALL))
    with running_server(app) as base:
        key = admin_key(app)
        piece = b"[1.0, 2.0, 3.0]," * 64
        body = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(8)) + b"0\r\n\r\n"
        head = (f"POST /api/v1/models/sum/predict/batch HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\n"
                "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        answer = raw_http(base, head.encode() + body)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


async def test_upload_route_has_the_larger_limit(client: httpx.AsyncClient, tmp_path: Any) -> None:
    artifact = json.dumps({"n_features": 3, "pad": "x" * 8000}).encode()  # > max_body_bytes
    files = {"file": ("m.json", artifact, "application/octet-stream")}
    r = await client.post("/api/v1/models", files=files, data={"name": "big", "flavor": "test-sum"})
    assert r.status_code == 201, r.text
    files = {"file": ("m.json", b"{}" + b" " * 70_000, "application/octet-stream")}
    r = await client.post("/api/v1/models", files=files, data={"name": "huge", "flavor": "test-sum"})
    assert r.status_code == 413


@pytest.mark.parametrize("body", [
    '{"features": [1, 2, 3], "version": "a\\u0000b"}',
    '{"features": [1, 2, 3], "version": "\\\\\\u0000"}',
])
async def test_nul_in_json_400(client: httpx.AsyncClient, body: str) -> None:
    r = await client.post(PREDICT_PATH, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "NUL" in r.json()["detail"]


async def test_escaped_backslash_is_not_nul(client: httpx.AsyncClient) -> None:
    body = '{"features": [1, 2, 3], "version": "\\\\u0000"}'  # the text \u0000, no NUL
    r = await client.post(PREDICT_PATH, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 404  # an unknown alias, not a 400


async def test_nul_in_path_query_form_and_multipart_400(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/models/a%00b")).status_code == 400
    assert (await client.get("/api/v1/models?x=%00")).status_code == 400
    r = await client.post("/api/v1/auth/token", data={"username": "a\x00b", "password": "whatever-x"})
    assert r.status_code == 400
    files = {"file": ("m.json", b'{"n_features": 3}', "application/octet-stream")}
    r = await client.post("/api/v1/models", files=files,
                          data={"name": "nul", "flavor": "test-sum", "description": "a\x00b"})
    assert r.status_code == 400
    r = await client.post("/api/v1/models", files=files,
                          data={"name": "nul", "flavor": "test-sum", "tags": '{"a": "\\u0000"}'})
    assert r.status_code == 400


def test_nul_scanner_across_chunks() -> None:
    scanner = NulScanner(form=False)
    assert not scanner.feed(b'{"a": "x\\u00')
    assert scanner.feed(b'00"}')
    scanner = NulScanner(form=False)
    assert not scanner.feed(b'{"a": "x\\\\')
    assert not scanner.feed(b'u0000"}')  # escaped backslash then the text u0000
    form = NulScanner(form=True)
    assert not form.feed(b"a=b%")
    assert form.feed(b"00")


async def test_security_headers_everywhere(client: httpx.AsyncClient) -> None:
    for method, path in [("GET", "/"), ("GET", "/health/live"), ("GET", "/api/v1/models"),
                         ("GET", "/api/v1/models/nope"), ("POST", PREDICT_PATH), ("GET", "/docs")]:
        r = await client.request(method, path, json=PREDICT_BODY if method == "POST" else None)
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["referrer-policy"] == "no-referrer"
    r = await client.get("/api/v1/keys")
    assert r.headers["cache-control"] == "no-store"


async def test_long_strings_refused(client: httpx.AsyncClient) -> None:
    r = await client.post(PREDICT_PATH, json={**PREDICT_BODY, "version": "v" * 1000})
    assert r.status_code == 422
    r = await client.post("/api/v1/keys", json={"scopes": ["predict"], "name": "n" * 1000})
    assert r.status_code == 422


def test_cors_star_with_credentials_refused(make_settings: Any) -> None:
    with pytest.raises(InsecureCors):
        create_app(make_settings(cors_origins=["*"], cors_allow_credentials=True))


async def test_cors_allow_list(make_settings: Any, fake_flavors: None, tmp_path: Any) -> None:
    settings = make_settings(cors_origins=["https://app.example"])
    async with sum_app(settings, tmp_path) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            ok = await c.options(PREDICT_PATH, headers={"Origin": "https://app.example",
                                                        "Access-Control-Request-Method": "POST"})
            assert ok.headers["access-control-allow-origin"] == "https://app.example"
            bad = await c.options(PREDICT_PATH, headers={"Origin": "https://evil.example",
                                                         "Access-Control-Request-Method": "POST"})
            assert "access-control-allow-origin" not in bad.headers
