"""A trailing slash is answered like the route without it, instead of a bare 307 redirect.

Starlette redirects ``/api/v1/models/`` to ``/api/v1/models`` with an empty 307, which many
clients do not follow for a POST (curl without ``-L`` prints nothing). Every route here is
declared without a trailing slash, so the path is simply trimmed before routing.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class TrimTrailingSlash:
    """Pure ASGI: ``/a/b/`` is routed as ``/a/b`` (``/`` itself is left alone)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if len(path) > 1 and path.endswith("/"):
                scope = dict(scope)
                scope["path"] = path.rstrip("/") or "/"
                raw = scope.get("raw_path")
                if raw:
                    scope["raw_path"] = raw.rstrip(b"/") or b"/"
        await self.app(scope, receive, send)
