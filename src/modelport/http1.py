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

The protocol also offers an ASGI extension, :data:`WHOLE_RESPONSE` (advertised in
``scope["extensions"]``): an app that has a response's status, headers and body at once sends it
as one message, its headers already rendered as ``name: value\r\n`` lines, and the cycle writes
status line, uvicorn's default headers (``date``), those lines, ``content-length`` and the body
with one ``join`` and one write. The prediction fast lane uses it: its headers are constants but
for the request id, and uvicorn's per-message path (a header list per response, two regular
expressions per header, the message checks) was about a tenth of a prediction's CPU under load.
Where the shortcut does not apply (a response already started, uvicorn's access log on, ``HEAD``)
the message is sent as the usual start and body messages instead.

This leans on uvicorn's internals (``RequestResponseCycle.send`` writes through
``self.transport``): :func:`protocol_class` returns the stock protocol when they are not what this
module expects.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle

#: ASGI extension and message type: ``{"type": WHOLE_RESPONSE, "status": int, "headers": bytes,
#: "body": bytes}``, the headers rendered ``name: value\r\n`` (lower-case names, values checked
#: by the app; no ``content-length``, ``connection`` or ``transfer-encoding``: the cycle adds what
#: is needed)
WHOLE_RESPONSE = "modelport.http.response.whole"


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


class _Rendered:
    """uvicorn's default headers (``date``, configured ones) as bytes: rendered once per list.

    uvicorn's server replaces the list every second (a new ``date``); the one rendered is kept
    referenced, so an identity check tells whether it is still current.
    """

    __slots__ = ("block", "source")

    def __init__(self) -> None:
        self.source: list[tuple[bytes, bytes]] | None = None
        self.block = b""

    def of(self, headers: list[tuple[bytes, bytes]]) -> bytes:
        if headers is not self.source:
            self.block = b"".join(b"%s: %s\r\n" % (name, value) for name, value in headers)
            self.source = headers
        return self.block


_DEFAULTS = _Rendered()


def _parsed(block: bytes) -> list[tuple[bytes, bytes]]:
    """Rendered header lines back to ASGI's ``(name, value)`` pairs."""
    pairs = []
    for line in block.split(b"\r\n"):
        if line:
            name, _, value = line.partition(b": ")
            pairs.append((name, value))
    return pairs


def _sized(message: Any) -> bool:
    return any(name.lower() == b"content-length" for name, _ in message.get("headers", ()))


class OneWriteCycle(RequestResponseCycle):
    """A request/response cycle whose sized responses leave in one write (see the module)."""

    _held: bytes | None = None

    async def send(self, message: Any) -> None:
        if message["type"] == WHOLE_RESPONSE:
            await self._send_whole(message["status"], message["headers"], message["body"])
            return
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

    async def _send_whole(self, status: int, headers: bytes, body: bytes) -> None:
        """A whole response in one write, with what ``send`` would have set and called."""
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        if self.disconnected:
            return
        if self.response_started or self.access_log or self.scope["method"] == "HEAD":
            await self.send({"type": "http.response.start", "status": status,
                             "headers": [*_parsed(headers), (b"content-length", b"%d" % len(body))]})
            await self.send({"type": "http.response.body", "body": body})
            return
        self.response_started = True
        self.waiting_for_100_continue = False
        self.transport.write(b"".join((
            STATUS_LINE[status], _DEFAULTS.of(self.default_headers), headers,
            b"content-length: %d\r\n" % len(body),
            b"\r\n" if self.keep_alive else b"connection: close\r\n\r\n", body,
        )))
        self.response_complete = True
        self.message_event.set()
        if not self.keep_alive:
            self.transport.close()
        self.on_response()


class OneWriteProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with :class:`OneWriteCycle` for each request."""

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        # a fresh cycle (not a websocket upgrade, not one already answering): answer it our way
        if type(cycle) is RequestResponseCycle and not cycle.response_started:
            cycle.__class__ = OneWriteCycle
            self.scope.setdefault("extensions", {})[WHOLE_RESPONSE] = {}


def protocol_class() -> type[asyncio.Protocol] | str:
    """:class:`OneWriteProtocol`, or ``"httptools"`` if uvicorn's cycle no longer looks as expected."""
    expected = ("response_started", "transport", "disconnected", "scope", "keep_alive", "flow",
                "default_headers", "message_event", "on_response", "access_log", "response_complete",
                "waiting_for_100_continue")
    probe = RequestResponseCycle.__init__.__code__.co_names
    if (not all(name in probe for name in expected)
            or not asyncio.iscoroutinefunction(RequestResponseCycle.send)):
        return "httptools"
    return OneWriteProtocol
