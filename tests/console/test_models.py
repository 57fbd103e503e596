"""The Models pages over HTTP: what the page offers per scope, alias moves through the API."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from modelport.bootstrap import Services
from tests.console.conftest import browser, csrf_of, sign_in


async def test_the_models_page_lists_models_with_rates_and_offers_upload(
        app: FastAPI, signed_in: httpx.AsyncClient) -> None:
    page = await signed_in.get("/ui/models")
    assert page.status_code == 200
    assert '<a href="/ui/models/sum">sum</a>' in page.text and "production → v1" in page.text
    assert 'action="/ui/models"' in page.text  # admins may register


async def test_a_read_only_principal_gets_no_write_controls(app: FastAPI) -> None:
    services: Services = app.state.services
    owner = await services.auth.users.by_username("admin")
    _, key = await services.auth.keys.create(owner.id, name="reader", scopes=["predict", "models:read"])
    async with browser(app) as client:
        await sign_in(client, api_key=key)
        listing = await client.get("/ui/models")
        assert "sum" in listing.text and 'action="/ui/models"' not in listing.text
        page = await client.get("/ui/models/sum")
        assert page.status_code == 200 and "Move production" not in page.text and "Traffic" not in page.text
        # posting anyway: the API refuses, and the page says why
        refused = await client.post("/ui/models/sum/aliases/production", follow_redirects=True,
                                    data={"csrf": csrf_of(page.text), "version": "1"})
        assert "needs the &#39;models:write&#39; scope" in refused.text


async def test_a_missing_model_is_a_404_page(signed_in: httpx.AsyncClient) -> None:
    page = await signed_in.get("/ui/models/nope")
    assert page.status_code == 404 and 'role="alert"' in page.text


async def test_the_live_series_come_from_the_prediction_log(app: FastAPI,
                                                            signed_in: httpx.AsyncClient) -> None:
    from tests.fixtures.secured import PREDICT_BODY, PREDICT_PATH, admin_key

    services: Services = app.state.services
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"Authorization": f"Bearer {admin_key(app)}"}) as api:
        for _ in range(3):
            assert (await api.post(PREDICT_PATH, json=PREDICT_BODY)).status_code == 200
    await services.tracking.recorder.flush()
    live = (await signed_in.get("/ui/models/sum/live.json")).json()
    assert list(live["versions"]) == ["1"]
    assert round(sum(live["versions"]["1"]["rps"]) * live["bucket_s"]) == 3
    assert sum(live["versions"]["1"]["errors"]) == 0


async def test_a_split_the_api_refuses_is_shown_with_its_reason(signed_in: httpx.AsyncClient) -> None:
    page = await signed_in.get("/ui/models/sum")
    assert "Apply traffic policy" in page.text and "not available" not in page.text
    refused = await signed_in.post("/ui/models/sum/traffic", follow_redirects=True, data={
        "csrf": csrf_of(page.text), "alias": "production", "version_a": "1", "weight_a": "90",
        "version_b": "7", "weight_b": "10"})
    assert refused.status_code == 200
    assert "Refused: model &#39;sum&#39; has no version &#39;7&#39;" in refused.text  # the API's 404
    assert "not available" not in refused.text
    state = await signed_in.get("/ui/models/sum")
    assert 'data-alias="production">v1</td>' in state.text  # nothing changed


async def test_a_rollback_with_nothing_to_go_back_to_says_why(app: FastAPI,
                                                             signed_in: httpx.AsyncClient) -> None:
    services: Services = app.state.services
    page = await signed_in.get("/ui/models/sum")
    answer = await signed_in.post("/ui/models/sum/aliases/production/rollback", follow_redirects=True,
                                  data={"csrf": csrf_of(page.text)})
    assert "Refused: alias &#39;production&#39; of &#39;sum&#39; had no policy before" in answer.text  # 409
    assert "not available" not in answer.text
    assert (await services.traffic.get("sum", "production")).version == 1
