"""The body read timeout (ASGI wrapper): a body that stops arriving gets 408, one in time is untouched."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from modelport.body_timeout import BodyTimeout

SCOPE: dict[str, Any] = {"type": "http", "method": "POST", "path": "/", "headers": []}


async def echo(scope: Any, receive: Any, send: Any) -> None:
    """Reads the whole body like an app does, answers it back (200), or 499 on a disconnect."""
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            await send({"type": "http.response.start", "status": 499, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def run(chunks: list[tuple[float, bytes]], timeout_s: float) -> list[dict[str, Any]]:
    """Deliver ``(delay, bytes)`` chunks (the last one ends the body); return what was sent."""
    queue = list(chunks)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if not queue:
            await asyncio.sleep(3600)
        delay, data = queue.pop(0)
        await asyncio.sleep(delay)
        return {"type": "http.request", "body": data, "more_body": bool(queue)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asyncio.wait_for(BodyTimeout(echo, timeout_s)(SCOPE, receive, send), 5)
    return sent


async def test_a_body_in_time_passes_untouched() -> None:
    sent = await run([(0.0, b"ab"), (0.05, b"cd")], timeout_s=1.0)
    assert sent[0]["status"] == 200 and sent[1]["body"] == b"abcd"


async def test_a_gap_between_chunks_over_the_timeout_gets_408_and_close() -> None:
    sent = await run([(0.0, b"ab"), (0.5, b"cd")], timeout_s=0.2)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 408 and (b"connection", b"close") in sent[0]["headers"]
    assert orjson.loads(sent[1]["body"])["status"] == 408


async def test_the_total_is_bounded_even_when_each_chunk_is_quick() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    sent = await run([(0.08, b"x")] * 20, timeout_s=0.3)  # each gap < 0.3 s, the whole > 1.5 s
    assert sent[0]["status"] == 408
    assert loop.time() - started < 0.6


async def test_other_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    await BodyTimeout(app, 0.1)({"type": "lifespan"}, None, None)  # type: ignore[arg-type]
    assert seen == ["lifespan"]
