"""Console fixtures: the light secured app (one fake ``sum`` model), and browsers simulated by
httpx clients that sign in through the real form."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.fixtures.secured import admin_key, sum_app

BASE = "http://testserver"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
async def app(make_settings: Any, fake_flavors: None, tmp_path: Any) -> AsyncIterator[FastAPI]:
    async with sum_app(make_settings(), tmp_path) as application:
        yield application


def browser(app: FastAPI) -> httpx.AsyncClient:
    """A cookie-keeping client with no credentials of its own (as a browser is)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    form = await client.get("/ui/login")
    return await client.post("/ui/login", data={"csrf": csrf_of(form.text), **fields})


@pytest.fixture
async def signed_in(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A browser signed in with the admin key."""
    async with browser(app) as client:
        answer = await sign_in(client, api_key=admin_key(app))
        assert answer.status_code == 303, answer.text
        yield client
