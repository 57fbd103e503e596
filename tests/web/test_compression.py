"""NegotiatedGZip: Starlette's gzip only for requests that accept it, the app untouched otherwise."""

from __future__ import annotations

import gzip

import httpx
from starlette.types import Receive, Scope, Send

from modelport.web.compression import NegotiatedGZip, accepts_gzip

BODY = b"x" * 4096


async def big(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": BODY})


def client() -> httpx.AsyncClient:
    app = NegotiatedGZip(big, minimum_size=500)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_a_client_that_accepts_gzip_gets_it() -> None:
    async with client() as c:
        r = await c.get("/", headers={"Accept-Encoding": "br, gzip"})
    assert r.headers["content-encoding"] == "gzip"
    assert r.content == BODY  # httpx decodes it
    assert len(gzip.compress(BODY)) < len(BODY)


async def test_a_client_that_does_not_gets_the_app_answer_as_is() -> None:
    async with client() as c:
        r = await c.get("/", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in r.headers
    assert "vary" not in r.headers  # the gzip middleware never saw it
    assert r.content == BODY


def test_accepts_gzip_reads_the_accept_encoding_header() -> None:
    assert accepts_gzip({"headers": [(b"accept-encoding", b"gzip, deflate")]})
    assert not accepts_gzip({"headers": [(b"accept-encoding", b"deflate")]})
    assert not accepts_gzip({"headers": []})
