"""The gate on HTTP: admit a call from its headers before the app reads the body, then let
routes check only their scope.

Why a middleware: FastAPI reads a request's body before it solves the route's dependencies, so
a dependency that authenticates lets an anonymous client upload 50 MB before its 401. Here
every non-public path is authenticated and rate-limited from the headers alone; a refusal is
answered in the edge's own error format (problem+json, OIP's ``{"error"}``, OpenAI's error
object) without touching ``receive``. The admitted :class:`~modelport.core.calls.CallContext`
rides in ``scope["state"]`` for :func:`require`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from modelport.core.calls import CallContext
from modelport.core.gate import Gate
from modelport.errors import Forbidden, ModelportError
from modelport.security.principal import Principal

if TYPE_CHECKING:
    from modelport.bootstrap import Services

SCOPE_ATTR = "__modelport_scope__"
ACCOUNT = "account"  # pseudo-scope: a user's own token, or an admin credential
CALL_KEY = "modelport.call"
#: paths anyone may call: the index, health, the docs, OIP's server metadata and health, login;
#: the console (``/ui``) admits its own session cookie and calls the API, through this gate, with
#: the session's credential (:mod:`modelport.console`)
PUBLIC_PATHS = frozenset(("/", "/openapi.json", "/docs", "/redoc", "/v2", "/v2/", "/api/v1/auth/token",
                          "/ui"))
PUBLIC_PREFIXES = ("/health/", "/docs/", "/v2/health/", "/ui/")

Renderer = Callable[[ModelportError], Response]


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def context_from_scope(scope: Scope, protocol: str) -> CallContext:
    """A call context holding the request's credentials (first occurrence of each header)."""
    authorization = api_key = None
    for name, value in scope["headers"]:
        if name == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
        elif name == b"x-api-key" and api_key is None:
            api_key = value.decode("latin-1")
    return CallContext(protocol=protocol, authorization=authorization, api_key=api_key)


class GateMiddleware:
    """Pure ASGI: authenticate and rate-limit every non-public HTTP request from its headers.

    ``renderers`` maps a path prefix to the error format of the edge that owns it; other paths
    get ``default``.
    """

    def __init__(self, app: ASGIApp, gate: Gate, default: Renderer,
                 renderers: Sequence[tuple[str, Renderer]] = ()) -> None:
        self.app = app
        self.gate = gate
        self.default = default
        self.renderers = tuple(renderers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        ctx = context_from_scope(scope, "http")
        try:
            await self.gate.authenticate(ctx)
        except ModelportError as exc:
            await self._render(scope["path"], exc)(scope, receive, send)
            return
        scope.setdefault("state", {})[CALL_KEY] = ctx
        await self.app(scope, receive, send)

    def _render(self, path: str, exc: ModelportError) -> Response:
        for prefix, render in self.renderers:
            if path.startswith(prefix):
                return render(exc)
        return self.default(exc)


# ------------------------------------------------------------------------------ dependencies
async def get_services(request: Request) -> Services:
    # async on purpose: FastAPI runs a plain ``def`` dependency in a worker thread per request
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated["Services", Depends(get_services)]

# Declared for the OpenAPI document (Swagger UI's "Authorize"); the values are read from the
# headers directly so any credential kind works in either header.
_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False,
                               description="A JWT from /api/v1/auth/token, or an API key (mp_...)")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key (mp_...)")


def call_context(request: Request) -> CallContext:
    """The request's call context: the one the gate admitted, else a fresh one from the headers."""
    state = request.scope.setdefault("state", {})
    ctx: CallContext | None = state.get(CALL_KEY)
    if ctx is None:
        ctx = state[CALL_KEY] = context_from_scope(request.scope, "http")
    return ctx


async def get_principal(
    request: Request,
    services: ServicesDep,
    _token: Annotated[str | None, Depends(_bearer)],
    _key: Annotated[str | None, Depends(_api_key)],
) -> Principal:
    """The admitted principal (the middleware authenticated it; a request that bypassed it,
    e.g. an app without the middleware, is authenticated here)."""
    ctx = call_context(request)
    principal = ctx.principal
    if principal is None:
        principal = await Gate(services).authenticate(ctx)
    request.state.principal = principal
    return principal


def require(scope: str) -> Any:
    """Dependency: the caller must hold ``scope`` (``admin`` holds every scope)."""

    async def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        return Gate.check(principal, scope)

    setattr(dependency, SCOPE_ATTR, scope)
    return Depends(dependency)


def require_account() -> Any:
    """Dependency for managing one's own credentials: a user's token, or an admin credential.

    A plain API key cannot mint more keys: a leaked key must not be able to outlive its revocation.
    """

    async def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not (principal.kind in ("user", "anonymous") or principal.is_admin):
            raise Forbidden("managing keys needs a user token (POST /api/v1/auth/token) or an admin key")
        return principal

    setattr(dependency, SCOPE_ATTR, ACCOUNT)
    return Depends(dependency)


PredictDep = Annotated[Principal, require("predict")]
ReadDep = Annotated[Principal, require("models:read")]
WriteDep = Annotated[Principal, require("models:write")]
AdminDep = Annotated[Principal, require("admin")]
