"""The gate on HTTP: callers are admitted from the headers, before any byte of the body is read,
and refused in the format of the edge that owns the path."""

from __future__ import annotations

import socket
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from modelport.web.gate import is_public
from tests.conftest import LiveServer, mint_admin_headers

FIFTY_MB = 50 * 1024 * 1024
CHUNK = 64 * 1024


async def _call_counting(app: FastAPI, path: str, headers: list[tuple[bytes, bytes]],
                         content_type: bytes) -> tuple[int, dict[bytes, bytes], bytes, int]:
    """POST a 50 MB body (declared, streamed on demand in 64 KiB chunks) straight through ASGI:
    (status, headers, body, bytes the app pulled from ``receive``)."""
    pulled = 0
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled >= FIFTY_MB:
            return {"type": "http.disconnect"}
        pulled += CHUNK
        return {"type": "http.request", "body": b"0" * CHUNK, "more_body": pulled < FIFTY_MB}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "server": ("testserver", 80), "client": ("127.0.0.1", 5000),
             "headers": [(b"host", b"testserver"), (b"content-type", content_type),
                         (b"content-length", str(FIFTY_MB).encode()), *headers]}
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body, pulled


@pytest.mark.parametrize(("path", "content_type", "fmt"), [
    ("/api/v1/models/iris/predict", b"application/json", "problem"),
    ("/api/v1/models", b"multipart/form-data; boundary=x", "problem"),  # the model upload
    ("/api/v1/models/iris/predict/file", b"multipart/form-data; boundary=x", "problem"),
    ("/v2/models/iris/infer", b"application/json", "oip"),
    ("/v1/embeddings", b"application/json", "openai"),
])
@pytest.mark.parametrize("credential", [None, b"Bearer mp_not_a_key"])
async def test_unauthenticated_large_body_is_refused_unread(
        app: FastAPI, path: str, content_type: bytes, fmt: str, credential: bytes | None) -> None:
    headers = [(b"authorization", credential)] if credential else []
    status, response_headers, body, pulled = await _call_counting(app, path, headers, content_type)
    assert status == 401
    assert pulled == 0  # not one chunk of the 50 MB was read
    assert response_headers[b"www-authenticate"].startswith(b"Bearer")
    assert b"x-request-id" in response_headers and b"x-content-type-options" in response_headers
    import orjson

    answer = orjson.loads(body)
    if fmt == "problem":
        assert response_headers[b"content-type"] == b"application/problem+json"
        assert answer["status"] == 401 and answer["code"] == "unauthorized"
    elif fmt == "oip":
        assert set(answer) == {"error"}
    else:
        assert answer["error"]["type"] == "authentication_error"


async def test_admitted_request_reads_its_body(app: FastAPI, admin_headers: dict[str, str]) -> None:
    """The control: with a credential the same request is read (413: over the body limit)."""
    auth = [(b"authorization", admin_headers["Authorization"].encode())]
    status, _, _, pulled = await _call_counting(app, "/api/v1/models/iris/predict", auth, b"application/json")
    assert status == 413 and pulled <= 1 + app.state.services.settings.server.max_body_bytes


async def test_rate_limit_is_counted_once_per_request(app: FastAPI) -> None:
    headers = await mint_admin_headers(app.state.services, ["predict"], rate_limit="2/minute")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers=headers) as c:
        answers = [(await c.post("/api/v1/models/iris/predict", json={"features": [1, 2, 3, 4]})).status_code
                   for _ in range(3)]
        oip = await c.post("/v2/models/iris/infer", json={"inputs": []})
    assert answers == [200, 200, 429]
    assert oip.status_code == 429 and "error" in oip.json() and "retry-after" in oip.headers


@pytest.mark.parametrize("path", ["/", "/health/live", "/v2", "/v2/health/live", "/openapi.json", "/docs"])
async def test_public_paths_need_no_credential(app: FastAPI, path: str) -> None:
    assert is_public(path)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get(path)).status_code == 200


@pytest.mark.parametrize("path", ["/metrics", "/api/v1/models", "/v1/models", "/v2/models/iris",
                                  "/api/v1/keys", "/api/v1/no-such-route"])
async def test_other_paths_need_one(app: FastAPI, path: str) -> None:
    assert not is_public(path)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get(path)).status_code == 401


def test_live_server_answers_401_before_the_body_arrives(live_server: LiveServer) -> None:
    """Over a real socket: headers announcing 50 MB and one 64 KiB chunk get their 401 at once;
    a server that read the body first would wait for the other 49.9 MB."""
    with socket.create_connection((live_server.host, live_server.port), timeout=10) as sock:
        sock.sendall(b"POST /api/v1/models/iris/predict HTTP/1.1\r\nHost: t\r\n"
                     b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % FIFTY_MB)
        sock.sendall(b"0" * CHUNK)
        head = sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 401")
