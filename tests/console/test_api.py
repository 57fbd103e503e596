"""The console's API client: answers and API errors (status and the problem's detail)."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import Request

from modelport.console.api import ApiError, console_api
from tests.fixtures.secured import admin_key


def _request(app: FastAPI) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/ui/x", "headers": [], "query_string": b"",
                    "app": app, "client": ("203.0.113.9", 5000)})


async def test_calls_go_through_the_public_api_as_the_signed_in_credential(app: FastAPI) -> None:
    async with console_api(_request(app), admin_key(app)) as api:
        models = await api.get("/api/v1/models")
        assert [m["name"] for m in models] == ["sum"]
        _, missing_model = await api.attempt("GET", "/api/v1/models/nope")
        assert missing_model is not None and missing_model.status == 404 and "nope" in missing_model.detail
    async with console_api(_request(app), None) as anonymous:
        _, error = await anonymous.attempt("GET", "/api/v1/models")
        assert isinstance(error, ApiError) and error.status == 401 and error.detail
