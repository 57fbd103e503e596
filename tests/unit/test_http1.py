"""One write per sized response: the same bytes on the wire as uvicorn's own protocol, fewer writes."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from modelport.http1 import WHOLE_RESPONSE, OneWriteCycle, OneWriteProtocol, protocol_class


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Every shape of response the protocol must get right, chosen by path."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    path = scope["path"]
    sized = [(b"content-type", b"text/plain"), (b"content-length", b"10")]
    if path == "/sized":
        await send({"type": "http.response.start", "status": 200, "headers": sized})
        await send({"type": "http.response.body", "body": b"0123456789"})
    elif path == "/split":  # sized, body in two messages, a pause between them
        await send({"type": "http.response.start", "status": 201, "headers": sized})
        await send({"type": "http.response.body", "body": b"01234", "more_body": True})
        await asyncio.sleep(0.02)
        await send({"type": "http.response.body", "body": b"56789"})
    elif path == "/slow-body":  # sized, the body comes a while after the head
        await send({"type": "http.response.start", "status": 200, "headers": sized})
        await asyncio.sleep(0.05)
        await send({"type": "http.response.body", "body": b"0123456789"})
    elif path == "/stream":  # no length: chunked, the head leaves at once
        plain = [(b"content-type", b"text/plain")]
        await send({"type": "http.response.start", "status": 200, "headers": plain})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        await asyncio.sleep(0.02)
        await send({"type": "http.response.body", "body": b"second"})
    elif path == "/whole":  # the whole-response extension where the server offers it
        headers = b"content-type: text/plain\r\nx-thing: 1\r\n"
        if WHOLE_RESPONSE in scope.get("extensions", {}):
            await send({"type": WHOLE_RESPONSE, "status": 201, "headers": headers, "body": b"all at once"})
        else:  # what the extension stands for, as plain ASGI
            await send({"type": "http.response.start", "status": 201, "headers": [
                (b"content-type", b"text/plain"), (b"x-thing", b"1"), (b"content-length", b"11")]})
            await send({"type": "http.response.body", "body": b"all at once"})
    elif path == "/empty":
        await send({"type": "http.response.start", "status": 204, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})
    else:
        await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body"})


@contextmanager
def serving(http: Any, asgi: Any = app) -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(asgi, http=http, loop="asyncio", lifespan="off", log_config=None,
                            access_log=False, date_header=False, server_header=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.01)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def exchange(port: int, requests: list[bytes]) -> bytes:
    """Send the requests on one keep-alive connection; everything the server sent back."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        for request in requests:
            conn.sendall(request)
            time.sleep(0.15)  # each answer complete (the slowest path sleeps 50 ms)
        conn.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


REQUESTS = [
    b"GET /sized HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /split HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
    b"GET /slow-body HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n",
    b"HEAD /sized HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /empty HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /whole HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi",
    b"HEAD /whole HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /missing HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /whole HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
]


def test_same_bytes_on_the_wire_as_uvicorns_protocol() -> None:
    with serving("httptools") as port:
        stock = exchange(port, REQUESTS)
    with serving(OneWriteProtocol) as port:
        ours = exchange(port, REQUESTS)
    assert ours == stock
    assert ours.count(b"HTTP/1.1 ") == len(REQUESTS)
    assert b"0123456789" in ours and b"first" in ours and b"second" in ours
    assert ours.count(b"all at once") == 2  # GET and POST, not HEAD
    assert ours.endswith(b"all at once")  # the connection closed after the Connection: close one


def test_the_whole_response_extension_is_offered_by_our_protocol_only() -> None:
    seen: dict[str, Any] = {}

    async def probe(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen["extensions"] = scope.get("extensions", {})
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body"})

    for http, offered in (("httptools", False), (OneWriteProtocol, True)):
        with serving(http, probe) as port:
            exchange(port, [b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"])
        assert (WHOLE_RESPONSE in seen["extensions"]) is offered


class Recorder:
    """A transport that records each write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass


def cycle(cls: type[RequestResponseCycle], transport: Recorder, method: str = "GET") -> RequestResponseCycle:
    return cls(scope={"method": method, "type": "http"}, transport=transport,  # type: ignore[arg-type]
               flow=FlowControl(transport), logger=logging.getLogger("test"),  # type: ignore[arg-type]
               access_logger=logging.getLogger("test.access"), access_log=False, default_headers=[],
               message_event=asyncio.Event(), expect_100_continue=False, keep_alive=True,
               on_response=lambda: None)


def respond(c: RequestResponseCycle, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    async def go() -> None:
        await c.send({"type": "http.response.start", "status": 200, "headers": headers})
        await c.send({"type": "http.response.body", "body": body})

    asyncio.run(go())


@pytest.mark.parametrize(("method", "sized", "writes"), [
    ("GET", True, 1), ("GET", False, 2), ("HEAD", True, 1),
], ids=["sized", "chunked", "head"])
def test_a_sized_response_is_one_write(method: str, sized: bool, writes: int) -> None:
    headers = [(b"content-length", b"5")] if sized else []
    stock, ours = Recorder(), Recorder()
    respond(cycle(RequestResponseCycle, stock, method), headers, b"hello")
    respond(cycle(OneWriteCycle, ours, method), headers, b"hello")
    assert b"".join(ours.writes) == b"".join(stock.writes)
    assert len(ours.writes) == writes
    if method == "GET" and sized:
        assert len(stock.writes) == 2  # what the one write replaces


def test_protocol_class_is_ours_on_this_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    assert protocol_class() is OneWriteProtocol

    class Reshaped:  # a uvicorn whose cycle no longer writes through self.transport
        def __init__(self) -> None:
            self.stream = None

        async def send(self, message: Any) -> None: ...

    monkeypatch.setattr("modelport.http1.RequestResponseCycle", Reshaped)
    assert protocol_class() == "httptools"


def whole_cycle(cls: type[RequestResponseCycle], transport: Recorder, *, keep_alive: bool = True,
                done: list[str] | None = None) -> RequestResponseCycle:
    c = cycle(cls, transport)
    c.default_headers = [(b"date", b"Sun, 22 Nov 2026 13:00:00 GMT"), (b"x-server", b"a")]
    c.keep_alive = keep_alive
    c.on_response = lambda: (done if done is not None else []).append("done")
    return c


@pytest.mark.parametrize("keep_alive", [True, False], ids=["keep-alive", "close"])
def test_a_whole_response_is_the_same_bytes_in_one_write(keep_alive: bool) -> None:
    stock, ours, done = Recorder(), Recorder(), []
    headers = [(b"content-type", b"application/json"), (b"x-request-id", b"r1"), (b"content-length", b"2")]
    respond(whole_cycle(RequestResponseCycle, stock, keep_alive=keep_alive), headers, b"{}")
    c = whole_cycle(OneWriteCycle, ours, keep_alive=keep_alive, done=done)
    asyncio.run(c.send({"type": WHOLE_RESPONSE, "status": 200, "body": b"{}",
                        "headers": b"content-type: application/json\r\nx-request-id: r1\r\n"}))
    assert ours.writes == [b"".join(stock.writes)]
    assert c.response_started and c.response_complete and c.message_event.is_set()
    assert done == ["done"]  # uvicorn's on_response: the next pipelined request, the keep-alive timer


def test_a_whole_response_after_the_start_is_refused_and_nothing_after_a_disconnect() -> None:
    transport = Recorder()
    c = whole_cycle(OneWriteCycle, transport)
    whole = {"type": WHOLE_RESPONSE, "status": 200, "headers": b"", "body": b"x"}

    async def started_then_whole() -> None:
        await c.send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]})
        await c.send(whole)

    with pytest.raises(RuntimeError):
        asyncio.run(started_then_whole())
    gone, done = Recorder(), []
    c = whole_cycle(OneWriteCycle, gone, done=done)
    c.disconnected = True
    asyncio.run(c.send(whole))
    assert gone.writes == [] and done == []
