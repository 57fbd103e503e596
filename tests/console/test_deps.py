"""The console's gate: every page needs a session, every form a CSRF token from this site, and
the session cookie opens ``/ui`` only, never ``/api/v1``."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from modelport.bootstrap import Services
from modelport.console.session import COOKIE
from tests.console.conftest import browser, csrf_of, sign_in
from tests.fixtures.secured import admin_key

OPEN = {"/ui/", "/ui/login", "/ui/static/{path:path}"}


def console_routes(app: FastAPI) -> list[tuple[str, str]]:
    out = []
    for rc in iter_route_contexts(app.routes):
        if rc.path.startswith("/ui/") and rc.path not in OPEN:
            out.extend((method, rc.path) for method in sorted(rc.methods or {"GET"}) if method != "HEAD")
    return out


def fill(template: str) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: "sum" if m.group(1) == "name" else "x1", template)


async def test_every_console_route_sends_an_anonymous_browser_to_sign_in(app: FastAPI) -> None:
    routes = console_routes(app)
    assert len(routes) >= 20
    async with browser(app) as client:
        for method, template in routes:
            answer = await client.request(method, fill(template))
            assert answer.status_code == 303, (method, template, answer.status_code)
            assert answer.headers["location"].startswith("/ui/login?reason=none&next=/ui/"), template
            htmx = await client.request(method, fill(template), headers={"HX-Request": "true"})
            assert htmx.status_code == 401 and htmx.headers["hx-redirect"].startswith("/ui/login")


async def test_forms_need_this_sessions_csrf_token_and_this_sites_origin(
        app: FastAPI, signed_in: httpx.AsyncClient) -> None:
    services: Services = app.state.services
    await services.models.register_file("sum", "test-sum", _artifact(app), aliases=None)
    page = await signed_in.get("/ui/models/sum")
    token = csrf_of(page.text)
    move = "/ui/models/sum/aliases/production"
    assert (await signed_in.post(move, data={"version": "2"})).status_code == 403
    assert (await signed_in.post(move, data={"version": "2", "csrf": "forged"})).status_code == 403
    foreign = await signed_in.post(move, data={"version": "2", "csrf": token},
                                   headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert (await services.registry.get_model("sum")).aliases["production"] == 1
    moved = await signed_in.post(move, data={"version": "2", "csrf": token},
                                 headers={"Origin": "http://testserver"})
    assert moved.status_code == 303 and moved.headers["location"] == "/ui/models/sum"
    assert (await services.registry.get_model("sum")).aliases["production"] == 2
    header = await signed_in.post(move, data={"version": "1"}, headers={"X-CSRF-Token": token})
    assert header.status_code == 303  # htmx sends the token as a header
    assert (await services.registry.get_model("sum")).aliases["production"] == 1


def _artifact(app: FastAPI):  # type: ignore[no-untyped-def]
    from tests.conftest import write_fake_artifact

    services: Services = app.state.services
    return write_fake_artifact(services.settings.home, name="second.json", n_features=3)


async def test_the_session_cookie_is_httponly_strict_and_scoped_to_the_console(app: FastAPI) -> None:
    async with browser(app) as client:
        answer = await sign_in(client, api_key=admin_key(app))
        cookie = next(v for k, v in answer.headers.multi_items()
                      if k == "set-cookie" and v.startswith(f"{COOKIE}="))
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
        assert "Secure" not in cookie
        value = client.cookies[COOKIE]
        assert admin_key(app) not in value
        # the API never takes the cookie as a credential
        api = await client.get("/api/v1/models", headers={"Cookie": f"{COOKIE}={value}"})
        assert api.status_code == 401
    https = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver")
    async with https as client:
        answer = await sign_in(client, api_key=admin_key(app))
        cookie = next(v for k, v in answer.headers.multi_items()
                      if k == "set-cookie" and v.startswith(f"{COOKIE}="))
        assert "Secure" in cookie


async def test_revoking_the_key_ends_its_console_session(app: FastAPI) -> None:
    services: Services = app.state.services
    owner = await services.auth.users.by_username("admin")
    info, key = await services.auth.keys.create(owner.id, name="ui", scopes=["predict", "models:read"])
    async with browser(app) as client:
        assert (await sign_in(client, api_key=key)).status_code == 303
        assert (await client.get("/ui/models")).status_code == 200
        await services.auth.keys.revoke(info.id, None)
        answer = await client.get("/ui/models")
        assert answer.status_code == 303 and "reason=expired" in answer.headers["location"]


async def test_console_pages_allow_only_their_own_scripts(signed_in: httpx.AsyncClient) -> None:
    page = await signed_in.get("/ui/models")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["referrer-policy"] == "same-origin"
    assert "<script>" not in page.text and " style=" not in page.text
