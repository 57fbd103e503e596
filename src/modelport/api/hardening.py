"""Pure-ASGI hardening on every response and request: security headers, NUL bytes, CORS policy.

Pure ASGI (not ``BaseHTTPMiddleware``): it sits on the hot path and must not buffer bodies.
Body size limits are FastAPI's own ``max_body_size`` (it counts chunked bodies too, which a
middleware trusting ``Content-Length`` would not).

NUL bytes in strings are refused with 400 before they reach a route: SQLite stores them but
PostgreSQL rejects them (a 500 otherwise). Path and query are checked for ``%00``; every body
but multipart and binary tensor bodies is scanned chunk by chunk as it streams in (``\\u0000``
escapes, ``%00`` in url-encoded forms, raw NUL), whatever its declared type: a route may parse
a ``text/plain`` body as JSON. A request with two Content-Type headers is refused. Multipart
bodies carry binary files and are checked field by field by their routes.
"""

from __future__ import annotations

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelport.api.problems import problem
from modelport.settings import Settings

NUL_DETAIL = "NUL characters are not allowed in strings"
SLASH_DETAIL = "an encoded '/' (%2F) is not allowed in a path segment"
API_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
]
# Swagger UI and ReDoc: their assets ship in the package (modelport.console.docs), so they may
# load only from this server; FastAPI's pages start them with an inline script.
_DOCS_HEADERS = [*API_HEADERS[:-1], (
    b"content-security-policy",
    b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'")]
# --- console (#22): its pages load their own scripts, styles and charts from /ui/static only
UI_PATH = "/ui"
# same-origin referrers: under no-referrer, browsers send ``Origin: null`` with form posts,
# and the console's CSRF check needs the real origin
_UI_HEADERS = [*(h for h in API_HEADERS[:-1] if h[0] != b"referrer-policy"),
               (b"referrer-policy", b"same-origin"), (b"content-security-policy",
               b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               b"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")]
_NO_STORE = (b"cache-control", b"no-store")
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
DOCS_PATHS = ("/docs", "/redoc")
SECRET_PATHS = ("/api/v1/auth", "/api/v1/keys", "/api/v1/users")


class InvalidCharacters(HTTPException):
    def __init__(self) -> None:
        super().__init__(status_code=400, detail=NUL_DETAIL)


class NulScanner:
    """Finds a NUL in a JSON or form body fed in chunks (escapes may straddle two chunks)."""

    __slots__ = ("form", "tail")

    def __init__(self, form: bool) -> None:
        self.form = form
        self.tail = b""

    def feed(self, chunk: bytes) -> bool:
        if b"\x00" in chunk:
            return True
        data = self.tail + chunk
        if self.form:
            self.tail = data[-2:]
            return b"%00" in data
        start = 0
        while (i := data.find(b"\\u0000", start)) >= 0:
            j = i
            while j > 0 and data[j - 1] == 0x5C:
                j -= 1
            if (i - j) % 2 == 0 or (j == 0 and self.tail):  # an escape (or unknowable: refuse)
                return True
            start = i + 1
        self.tail = data[-64:]
        return False


#: bodies that are not plain text: OIP's binary tensor extension (JSON header + raw tensor bytes,
#: where NUL is data) and compressed bodies (the edge that decompresses them validates the content)
_BINARY_MARKERS = (b"inference-header-content-length", b"content-encoding")


#: a second Content-Type header: which one a parser reads is anyone's guess, so refuse it
_TWO_TYPES = "two"


def _content_kind(scope: Scope) -> str | None:
    """How to scan the body for NUL: ``form``, ``json`` (raw NUL and ``\\u0000`` escapes: JSON,
    text and any type a route might still parse as text), None for multipart and binary
    bodies, or :data:`_TWO_TYPES` when the request has more than one Content-Type header."""
    kind: str | None = "json"
    seen = False
    for name, value in scope["headers"]:
        if name in _BINARY_MARKERS:
            return None
        if name == b"content-type":
            if seen:
                return _TWO_TYPES
            seen = True
            ctype = value.split(b";", 1)[0].strip().lower()
            if ctype == b"application/x-www-form-urlencoded":
                kind = "form"
            elif ctype.startswith(b"multipart/"):
                kind = None  # files are binary; routes check their text fields
    return kind


class HardeningMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = _DOCS_HEADERS if path.startswith(DOCS_PATHS) else API_HEADERS
        if path.startswith(UI_PATH):
            headers = _UI_HEADERS
        extra = []
        if path.startswith(SECRET_PATHS):
            extra.append(_NO_STORE)
        if scope.get("scheme") == "https":
            extra.append(HSTS)
        started = False

        async def send_secure(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *headers, *extra]
            await send(message)

        raw_path: bytes = scope.get("raw_path") or b""
        if "\x00" in path or b"%00" in raw_path or b"%00" in scope["query_string"]:
            await problem(400, "Bad Request", NUL_DETAIL, code="invalid_input")(scope, receive, send_secure)
            return
        if (b"%2f" in raw_path or b"%2F" in raw_path):  # decoded, it would be read as a separator
            await problem(400, "Bad Request", SLASH_DETAIL, code="invalid_input")(scope, receive, send_secure)
            return
        kind = _content_kind(scope) if scope["method"] in ("POST", "PUT", "PATCH") else None
        if kind == _TWO_TYPES:
            await problem(400, "Bad Request", "send one Content-Type header",
                          code="invalid_input")(scope, receive, send_secure)
            return
        if kind is None:
            await self.app(scope, receive, send_secure)
            return
        scanner = NulScanner(form=kind == "form")

        async def receive_checked() -> Message:
            message = await receive()
            if message["type"] == "http.request" and scanner.feed(message.get("body", b"")):
                raise InvalidCharacters
            return message

        try:
            await self.app(scope, receive_checked, send_secure)
        except InvalidCharacters:
            if started:
                raise
            await problem(400, "Bad Request", NUL_DETAIL, code="invalid_input")(scope, receive, send_secure)


class InsecureCors(RuntimeError):
    pass


def check_cors(settings: Settings) -> None:
    """Starlette answers any origin when ``*`` is combined with credentials: refuse that."""
    if "*" in settings.server.cors_origins and settings.server.cors_allow_credentials:
        raise InsecureCors("MODELPORT_CORS_ORIGINS='*' with credentials allowed would let any site "
                           "call the API as the user; list the allowed origins instead")
