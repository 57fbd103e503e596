"""Alias history and rollback: every change is an event (who, when, from, to); rollback restores
the policy before the latest change; deleting an alias is recorded too."""

from __future__ import annotations

from pathlib import Path

from tests.traffic.support import add_versions, running, traffic_settings

SPLIT = {"routes": [{"version": 1, "weight": 90}, {"version": 2, "weight": 10}], "sticky": "principal"}


async def test_history_and_rollback(any_database_url: str | None, tmp_path: Path, fake_flavors: None) -> None:
    async with running(traffic_settings(tmp_path / "home", any_database_url)) as (services, client):
        await add_versions(services, tmp_path)
        base = "/api/v1/models/m/aliases/production"
        assert (await client.put(base, json={"version": 2})).status_code == 200
        assert (await client.put(base, json=SPLIT)).status_code == 200
        history = (await client.get(f"{base}/history")).json()
        assert [e["action"] for e in history] == ["set", "set", "set"]  # registration set the first
        assert history[-1]["from"] is None and history[-1]["actor"] is None
        latest = history[0]
        assert latest["from"]["routes"] == [{"version": 2, "weight": 100}]
        assert latest["to"] == {**SPLIT, "shadow": None, "guard": None}
        assert latest["actor"].startswith("key:") and latest["at"].endswith(("Z", "+00:00"))

        r = await client.post(f"{base}/rollback", json={"reason": "canary looked wrong"})
        assert r.status_code == 200, r.text
        assert r.json()["version"] == 2 and r.json()["traffic"]["routes"] == [{"version": 2, "weight": 100}]
        r = await client.post("/api/v1/models/m/predict", json={"features": [1, 2, 3]})
        assert r.json()["version"] == 2
        history = (await client.get(f"{base}/history", params={"limit": 1})).json()
        assert history[0]["action"] == "rollback" and history[0]["reason"] == "canary looked wrong"
        assert history[0]["to"]["routes"] == [{"version": 2, "weight": 100}]
        # a rollback of the rollback goes forward again
        r = await client.post(f"{base}/rollback")
        assert r.json()["traffic"]["routes"] == SPLIT["routes"]

        assert (await client.delete(base)).status_code == 204
        assert (await client.get(base)).status_code == 404
        events = (await client.get(f"{base}/history")).json()
        assert events[0]["action"] == "delete" and events[0]["to"] is None
        r = await client.post(f"{base}/rollback")  # back to the split, the alias is re-created
        assert r.status_code == 200 and r.json()["traffic"]["routes"] == SPLIT["routes"]

        assert (await client.get("/api/v1/models/m/aliases/staging/history")).json() == []
        assert (await client.post("/api/v1/models/m/aliases/staging/rollback")).status_code == 404
        assert (await client.put("/api/v1/models/m/aliases/staging", json={"version": 1})).status_code == 200
        r = await client.post("/api/v1/models/m/aliases/staging/rollback")
        assert r.status_code == 409 and "nothing to roll back" in r.json()["detail"]
        assert (await client.get("/api/v1/models/m/aliases/production/history",
                                 params={"limit": 0})).status_code == 422
