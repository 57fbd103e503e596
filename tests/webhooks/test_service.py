"""The webhooks API: admin only, targets checked against SSRF, known events only."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import mint_admin_headers
from tests.traffic.support import running, traffic_settings


async def test_webhook_api_rules(tmp_path: Path) -> None:
    async with running(traffic_settings(tmp_path / "home", None)) as (services, client):
        body = {"url": "http://127.0.0.1:9/hook", "events": ["alias.changed"]}
        r = await client.post("/api/v1/webhooks", json=body)
        assert r.status_code == 400 and "MODELPORT_WEBHOOK_ALLOW_PRIVATE" in r.json()["detail"]
        r = await client.post("/api/v1/webhooks", json={**body, "url": "http://10.0.0.8/hook"})
        assert r.status_code == 400
        public = {**body, "url": "https://8.8.8.8/h"}
        r = await client.post("/api/v1/webhooks", json={**public, "events": ["nope"]})
        assert r.status_code == 400 and "alias.changed" in r.json()["detail"]
        r = await client.post("/api/v1/webhooks", json={**public, "secret": "short"})
        assert r.status_code == 422
        r = await client.post("/api/v1/webhooks", json=public)
        assert r.status_code == 201 and len(r.json()["signing_secret"]) >= 32  # generated, shown once
        hook = r.json()["id"]
        listed = (await client.get("/api/v1/webhooks")).json()
        assert [w["id"] for w in listed] == [hook] and "secret" not in listed[0]
        writer = await mint_admin_headers(services, ["models:write", "models:read"])
        assert (await client.get("/api/v1/webhooks", headers=writer)).status_code == 403
        assert (await client.post("/api/v1/webhooks", json=body, headers=writer)).status_code == 403
        assert (await client.get(f"/api/v1/webhooks/{hook}/deliveries")).json() == []
        assert (await client.delete(f"/api/v1/webhooks/{hook}")).status_code == 204
        assert (await client.delete(f"/api/v1/webhooks/{hook}")).status_code == 404
        assert (await client.get("/api/v1/webhooks/zzz/deliveries")).status_code == 404


async def test_loopback_allowed_when_configured(tmp_path: Path) -> None:
    settings = traffic_settings(tmp_path / "home", None, webhook_allow_private=True)
    async with running(settings) as (_services, client):
        body = {"url": "http://127.0.0.1:9/hook", "events": ["job.failed"]}
        r = await client.post("/api/v1/webhooks", json=body)
        assert r.status_code == 201
