"""Signing in and out over HTTP: the form's own CSRF token, refusals, rate limits, safe
redirects, and a signed-out cookie that stays dead when replayed."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from modelport.bootstrap import Services
from modelport.console.session import COOKIE
from tests.console.conftest import browser, csrf_of, sign_in
from tests.fixtures.secured import admin_key, sum_app


async def test_the_sign_in_form_needs_its_own_csrf_token(app: FastAPI) -> None:
    async with browser(app) as client:
        answer = await client.post("/ui/login", data={"csrf": "guess", "api_key": admin_key(app)})
        assert answer.status_code == 403 and "form expired" in answer.text
        assert COOKIE not in client.cookies
        form = await client.get("/ui/login")
        foreign = await client.post("/ui/login", data={"csrf": csrf_of(form.text), "api_key": admin_key(app)},
                                    headers={"Origin": "https://evil.example"})
        assert foreign.status_code == 403 and COOKIE not in client.cookies


async def test_password_sign_in_goes_through_the_token_endpoint(app: FastAPI) -> None:
    services: Services = app.state.services
    await services.auth.users.create("alice", "correct-horse-battery", scopes=["predict"])
    async with browser(app) as client:
        refused = await sign_in(client, username="alice", password="wrong-horse-battery")
        assert refused.status_code == 401 and "Sign-in refused" in refused.text
        assert 'value="alice"' in refused.text  # the username stays filled in
        answer = await sign_in(client, username="alice", password="correct-horse-battery")
        assert answer.status_code == 303 and answer.headers["location"] == "/ui/models"
        page = await client.get("/ui/models")
        assert ">alice<" in page.text
        assert "needs the &#39;models:read&#39; scope" in page.text  # the API's own refusal


async def test_bad_keys_and_empty_forms_are_refused_with_a_reason(app: FastAPI) -> None:
    async with browser(app) as client:
        unknown = await sign_in(client, api_key="mp_0123456789abcdef_" + "x" * 43)
        assert unknown.status_code == 401 and "Sign-in refused" in unknown.text
        not_a_key = await sign_in(client, api_key="hello")
        assert not_a_key.status_code == 401 and "not an API key" in not_a_key.text
        empty = await sign_in(client)
        assert empty.status_code == 400 and "username and password, or an API key" in empty.text


async def test_key_attempts_are_rate_limited_per_client(make_settings: Any, fake_flavors: None,
                                                        tmp_path: Any) -> None:
    async with sum_app(make_settings(token_rate_limit="3/minute"), tmp_path) as app, browser(app) as client:
        codes = [(await sign_in(client, api_key="mp_0123456789abcdef_" + "x" * 43)).status_code
                 for _ in range(4)]
        assert codes == [401, 401, 401, 429]


async def test_next_goes_only_to_console_pages(app: FastAPI) -> None:
    for target, expected in [("/ui/jobs", "/ui/jobs"), ("//evil.example/ui/", "/ui/models"),
                             ("https://evil.example/", "/ui/models"), ("/ui/login", "/ui/models"),
                             ("/ui/\\evil", "/ui/models")]:
        async with browser(app) as client:
            answer = await sign_in(client, api_key=admin_key(app), next=target)
            assert answer.headers["location"] == expected, target


async def test_signing_out_ends_the_session_even_for_a_copied_cookie(signed_in: httpx.AsyncClient) -> None:
    value = signed_in.cookies[COOKIE]
    page = await signed_in.get("/ui/models")
    out = await signed_in.post("/ui/logout", data={"csrf": csrf_of(page.text)})
    assert out.status_code == 303 and out.headers["location"] == "/ui/login?reason=signed_out"
    assert COOKIE not in signed_in.cookies
    signed_in.cookies.set(COOKIE, value, path="/ui")
    replay = await signed_in.get("/ui/models")
    assert replay.status_code == 303 and "reason=expired" in replay.headers["location"]
    login = await signed_in.get(replay.headers["location"])
    assert "Your session has ended" in login.text
