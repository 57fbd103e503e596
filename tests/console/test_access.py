"""The Access page over HTTP: keys shown once, the API's refusals shown, who may see the page."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from modelport.bootstrap import Services
from tests.console.conftest import browser, csrf_of, sign_in


async def test_a_new_key_is_shown_once_and_works(app: FastAPI, signed_in: httpx.AsyncClient) -> None:
    page = await signed_in.get("/ui/access")
    created = await signed_in.post("/ui/access/keys", data={
        "csrf": csrf_of(page.text), "name": "ci", "scope": ["predict", "models:read"], "expires_in": "2h"})
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    key = re.search(r'id="new-key" readonly value="(mp_[^"]+)"', created.text)
    assert key, created.text
    services: Services = app.state.services
    principal = await services.auth.resolve(f"Bearer {key.group(1)}", None)
    assert principal.scopes == frozenset({"predict", "models:read"})
    again = await signed_in.get("/ui/access")
    assert key.group(1) not in again.text and "ci" in again.text


async def test_the_apis_refusals_are_shown(app: FastAPI, signed_in: httpx.AsyncClient) -> None:
    page = await signed_in.get("/ui/access")
    bad = await signed_in.post("/ui/access/keys", data={"csrf": csrf_of(page.text), "name": "x",
                                                        "scope": ["predict"], "expires_in": "forever"})
    assert bad.status_code == 400 and "Key refused" in bad.text
    none = await signed_in.post("/ui/access/keys", data={"csrf": csrf_of(page.text), "name": "x"})
    assert none.status_code == 422 and "Key refused" in none.text


async def test_only_account_principals_see_the_access_page(app: FastAPI) -> None:
    services: Services = app.state.services
    owner = await services.auth.users.by_username("admin")
    _, key = await services.auth.keys.create(owner.id, name="app", scopes=["predict", "models:read",
                                                                          "models:write", "jobs"])
    async with browser(app) as client:
        await sign_in(client, api_key=key)
        models = await client.get("/ui/models")
        assert 'href="/ui/access"' not in models.text and 'href="/ui/jobs"' in models.text
        assert (await client.get("/ui/access")).status_code == 403
        refused = await client.post("/ui/access/keys",
                                    data={"csrf": csrf_of(models.text), "scope": "predict"})
        assert refused.status_code == 403


async def test_an_admin_disables_enables_and_deletes_a_user(app: FastAPI,
                                                           signed_in: httpx.AsyncClient) -> None:
    services: Services = app.state.services
    await services.auth.users.create("carol", "correct-horse-battery", role="user", scopes=["predict"])
    page = await signed_in.get("/ui/access")
    assert '<tr data-user="carol">' in page.text and "Disable carol" in page.text
    disabled = await signed_in.post("/ui/access/users/carol/disable", follow_redirects=True,
                                    data={"csrf": csrf_of(page.text), "disabled": "true"})
    assert "User carol disabled." in disabled.text and "Enable carol" in disabled.text
    assert (await services.auth.users.by_username("carol")).disabled  # the API did it
    enabled = await signed_in.post("/ui/access/users/carol/disable", follow_redirects=True,
                                   data={"csrf": csrf_of(page.text), "disabled": "false"})
    assert "User carol enabled." in enabled.text
    assert not (await services.auth.users.by_username("carol")).disabled
    deleted = await signed_in.post("/ui/access/users/carol/delete", follow_redirects=True,
                                   data={"csrf": csrf_of(page.text)})
    assert "User carol deleted." in deleted.text and 'data-user="carol"' not in deleted.text


async def test_the_users_apis_refusals_are_shown(signed_in: httpx.AsyncClient) -> None:
    page = await signed_in.get("/ui/access")
    self_disable = await signed_in.post("/ui/access/users/admin/disable", follow_redirects=True,
                                        data={"csrf": csrf_of(page.text), "disabled": "true"})
    assert "Refused: you cannot disable your own account" in self_disable.text  # the API's 409
    missing = await signed_in.post("/ui/access/users/nobody/delete", follow_redirects=True,
                                   data={"csrf": csrf_of(page.text)})
    assert "Refused: user &#39;nobody&#39; not found" in missing.text  # the API's 404, not "unavailable"
