"""The console's only way to data: the public ``/api/v1``, called in-process as the signed-in user.

Each page request opens an httpx client over ``ASGITransport`` on this very app and sends the
session's credential as ``Authorization: Bearer``, so every call passes the same gate (auth,
rate limit, scope, audit) and the same routes as a curl would: the console has no back door,
and what the API refuses, the console cannot do. The browser's address is passed on as the
client, so per-IP limits (the token endpoint's) still apply per browser.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.requests import Request

BASE = "http://modelport.console"
TIMEOUT_S = 60.0


class ApiError(Exception):
    """An API answer outside 2xx: its status and the problem's ``detail``."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("title")
        if isinstance(detail, str) and detail:
            return detail
    return response.reason_phrase


class ConsoleAPI:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                   json: Any = None, data: Mapping[str, Any] | None = None,
                   files: Mapping[str, Any] | None = None) -> Any:
        """The decoded JSON answer (None for 204), or :class:`ApiError`."""
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        response = await self._client.request(method, path, params=clean, json=json, data=data,
                                              files=files)
        if response.status_code >= 400:
            raise ApiError(response.status_code, _detail(response))
        if response.status_code == 204 or not response.content:
            return None
        if not response.headers.get("content-type", "").split(";")[0].endswith("json"):
            return response.content
        return response.json()

    async def get(self, path: str, **params: Any) -> Any:
        return await self.call("GET", path, params=params)

    async def attempt(self, method: str, path: str, **kwargs: Any) -> tuple[Any, ApiError | None]:
        """Like :meth:`call`, answering the error instead of raising it (pages show it)."""
        try:
            return await self.call(method, path, **kwargs), None
        except ApiError as exc:
            return None, exc


@asynccontextmanager
async def console_api(request: Request, credential: str | None) -> AsyncIterator[ConsoleAPI]:
    client = request.client
    transport = httpx.ASGITransport(app=request.app, client=(client.host, client.port) if client
                                    else ("127.0.0.1", 0))
    headers = {"Authorization": f"Bearer {credential}"} if credential else {}
    async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=headers,
                                 timeout=TIMEOUT_S) as http:
        yield ConsoleAPI(http)
