"""uvicorn's httptools protocol, writing a sized response's head and body in one socket write.

Why: uvicorn writes the status line and headers when the app sends ``http.response.start`` and
the body when it sends ``http.response.body``: two ``send`` system calls per response, and on
loopback each wakes the client. For a prediction the head and body are ready together, and the
socket writes were the largest single item of the hot path's profile (``py-spy`` under
``wrk -c64``; one write fewer measured +4 % logreg req/s side by side). Here, when the response
declares a ``Content-Length`` (so no streaming, no chunked encoding) and the request is not
``HEAD``, the head is kept back until the body's first message and both go out in one write;
uvicorn's own code still builds, checks and accounts for every byte. Anything else (streamed or
chunked responses, ``HEAD``, websockets) is uvicorn's path unchanged.
``tests/unit/test_http1.py`` checks the bytes on the wire against uvicorn's own.

This leans on uvicorn's internals (``RequestResponseCycle.send`` writes through
``self.transport``): :func:`protocol_class` returns the stock protocol when they are not what this
module expects.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle


class _Capture:
    """Stands in for the transport while uvicorn writes a response head: keeps the bytes."""

    __slots__ = ("data",)

    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data


class _Prefixed:
    """The transport, with the held head put in front of the first write."""

    __slots__ = ("head", "transport")

    def __init__(self, transport: asyncio.Transport, head: bytes) -> None:
        self.transport = transport
        self.head = head

    def write(self, data: bytes) -> None:
        head, self.head = self.head, b""
        self.transport.write(head + data if head else data)

    def close(self) -> None:
        self.transport.close()


def _sized(message: Any) -> bool:
    return any(name.lower() == b"content-length" for name, _ in message.get("headers", ()))


class OneWriteCycle(RequestResponseCycle):
    """A request/response cycle whose sized responses leave in one write (see the module)."""

    _held: bytes | None = None

    async def send(self, message: Any) -> None:
        if (message["type"] == "http.response.start" and not self.response_started
                and self.scope["method"] != "HEAD" and _sized(message)):
            transport, capture = self.transport, _Capture()
            self.transport = capture  # type: ignore[assignment]
            try:
                await super().send(message)
            finally:
                self.transport = transport
            self._held = capture.data or None
            return
        head = self._held
        if head is None:
            await super().send(message)
            return
        self._held = None
        transport = self.transport
        prefixed = _Prefixed(transport, head)
        self.transport = prefixed  # type: ignore[assignment]
        try:
            await super().send(message)
        finally:
            self.transport = transport
            if prefixed.head and not self.disconnected:  # nothing was written: the head still goes
                transport.write(prefixed.head)


class OneWriteProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with :class:`OneWriteCycle` for each request."""

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        # a fresh cycle (not a websocket upgrade, not one already answering): answer it our way
        if type(cycle) is RequestResponseCycle and not cycle.response_started:
            cycle.__class__ = OneWriteCycle


def protocol_class() -> type[asyncio.Protocol] | str:
    """:class:`OneWriteProtocol`, or ``"httptools"`` if uvicorn's cycle no longer looks as expected."""
    expected = ("response_started", "transport", "disconnected", "scope")
    probe = RequestResponseCycle.__init__.__code__.co_names
    if (not all(name in probe for name in expected)
            or not asyncio.iscoroutinefunction(RequestResponseCycle.send)):
        return "httptools"
    return OneWriteProtocol
