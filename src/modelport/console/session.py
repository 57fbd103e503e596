"""The console's sign-in session: one encrypted, short-lived cookie, and its CSRF token.

The cookie holds the credential the console calls the API with (the JWT of a password sign-in,
or the pasted API key), a CSRF token and the sign-in time, encrypted and authenticated with
Fernet under a key derived from ``MODELPORT_SECRET_KEY``: the browser can neither read the
credential nor forge a session, and a cookie older than ``MODELPORT_CONSOLE_SESSION_TTL_S`` is
refused. It is ``HttpOnly``, ``SameSite=Strict``, scoped to ``/ui``, and ``Secure`` over TLS, so
the API itself never accepts it: only ``/ui`` routes read it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Literal

import orjson
from cryptography.fernet import Fernet, InvalidToken
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "mp_console"
LOGIN_CSRF_COOKIE = "mp_console_login"
PATH = "/ui"
MAX_ENDED = 100_000
SessionState = Literal["none", "expired", "invalid"]


@dataclass(frozen=True, slots=True)
class Session:
    credential: str
    csrf: str
    kind: Literal["key", "user"]
    label: str
    issued_at: float

    def csrf_ok(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token.encode(), self.csrf.encode())


class SessionCodec:
    """Encrypts sessions into cookie values and back (refusing forged or expired ones)."""

    def __init__(self, secret: bytes, ttl_s: int) -> None:
        key = hashlib.sha256(b"modelport-console-session\x00" + secret).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))
        self.ttl_s = ttl_s
        # sessions signed out before their time (by CSRF token, which is unique per session) ->
        # when they would have expired anyway. Per process: another replica honours a
        # sign-out when the cookie's lifetime ends (the browser has dropped it at once).
        self._ended: dict[str, float] = {}

    def end(self, session: Session) -> None:
        now = time.time()
        for token, until in list(self._ended.items()):
            if until < now:
                del self._ended[token]
        if len(self._ended) < MAX_ENDED:
            self._ended[session.csrf] = session.issued_at + self.ttl_s

    def new(self, credential: str, kind: Literal["key", "user"], label: str) -> Session:
        return Session(credential=credential, csrf=secrets.token_urlsafe(32), kind=kind, label=label,
                       issued_at=time.time())

    def encode(self, session: Session) -> str:
        payload = {"c": session.credential, "x": session.csrf, "k": session.kind, "l": session.label,
                   "t": session.issued_at}
        return self._fernet.encrypt(orjson.dumps(payload)).decode()

    def decode(self, value: str) -> Session | SessionState:
        """The session, or why there is none: ``expired`` (too old) or ``invalid`` (tampered)."""
        try:
            data = orjson.loads(self._fernet.decrypt(value.encode(), ttl=self.ttl_s))
        except InvalidToken:
            try:  # tell an old cookie from a forged one: the page says which
                self._fernet.decrypt(value.encode())
            except InvalidToken:
                return "invalid"
            return "expired"
        except orjson.JSONDecodeError:
            return "invalid"
        if data["x"] in self._ended:
            return "expired"
        return Session(credential=data["c"], csrf=data["x"], kind=data["k"], label=data["l"],
                       issued_at=float(data["t"]))

    def read(self, request: Request) -> Session | SessionState:
        value = request.cookies.get(COOKIE)
        return "none" if not value else self.decode(value)

    def store(self, response: Response, request: Request, session: Session) -> None:
        # a browser-session cookie (no Max-Age): the server, not the browser, decides it is too
        # old, so the sign-in page can say the session ended rather than show a bare form
        response.set_cookie(COOKIE, self.encode(session), path=PATH, httponly=True,
                            samesite="strict", secure=request.url.scheme == "https")


def clear(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")


def same_origin(request: Request) -> bool:
    """A state-changing request must come from this site's own pages (when the browser says).

    Browsers send ``Origin`` on every cross-site POST; its absence (old browsers, curl) leaves
    the CSRF token as the guard.
    """
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host
