"""Webhook deliveries end to end: a receiver started by the test gets signed events; with the
receiver down they wait in the database outbox, survive a restart of the server, and arrive
once each when it is back; redirects are re-checked, never followed blindly."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson

from modelport.webhooks.signing import HEADER, verify
from tests.traffic.support import add_versions, running, traffic_settings
from tests.webhooks.receiver import Receiver

SECRET = "webhook-test-secret-0123456789"
#: quick retries; a 2 s send timeout keeps the claim lease (a send cut off by a shutdown is retried
#: once it expires) short enough for a restart test
FAST = {"webhook_allow_private": True, "webhook_poll_s": 0.05, "webhook_retry_base_s": 0.05,
        "webhook_retry_max_s": 0.2, "webhook_timeout_s": 2.0}


async def subscribe(client: httpx.AsyncClient, url: str, events: list[str]) -> str:
    r = await client.post("/api/v1/webhooks", json={"url": url, "events": events, "secret": SECRET})
    assert r.status_code == 201, r.text
    assert r.json()["signing_secret"] == SECRET
    return str(r.json()["id"])


async def until(predicate: Any, seconds: float = 20.0) -> None:
    async with asyncio.timeout(seconds):
        while not predicate():
            await asyncio.sleep(0.05)


def events(receiver: Receiver) -> list[dict[str, Any]]:
    with receiver.lock:
        return [orjson.loads(body) for _path, _headers, body in receiver.received]


async def test_alias_change_arrives_signed(any_database_url: str | None, tmp_path: Path,
                                           fake_flavors: None) -> None:
    receiver = Receiver().start()
    try:
        settings = traffic_settings(tmp_path / "home", any_database_url, **FAST)
        async with running(settings) as (services, client):
            hook = await subscribe(client, receiver.url, ["alias.changed", "model.version.registered"])
            await add_versions(services, tmp_path, count=2)  # 2 registrations, 1 alias set on the first
            r = await client.put("/api/v1/models/m/aliases/production",
                                 json={"routes": [{"version": 1, "weight": 90},
                                                  {"version": 2, "weight": 10}]})
            assert r.status_code == 200
            await until(lambda: len(receiver.received) >= 4)
            for _path, headers, body in receiver.received:
                assert verify(SECRET, body, headers[HEADER]), "bad signature"
                assert headers[HEADER].startswith("sha256=") and headers["Content-Type"] == "application/json"
            got = events(receiver)
            assert Counter(e["type"] for e in got) == {"model.version.registered": 2, "alias.changed": 2}
            assert all(set(e) == {"id", "type", "time", "data"} for e in got)
            change = got[-1]
            assert change["data"]["model"] == "m" and change["data"]["alias"] == "production"
            assert change["data"]["to"]["routes"][1] == {"version": 2, "weight": 10}
            assert change["data"]["from"]["routes"] == [{"version": 1, "weight": 100}]
            # the receiver records a request before it answers: the last delivery may be finishing
            deliveries: list[dict[str, Any]] = []
            async with asyncio.timeout(20):
                while len(deliveries) != 4 or any(d["status"] != "delivered" for d in deliveries):
                    deliveries = (await client.get(f"/api/v1/webhooks/{hook}/deliveries")).json()
                    await asyncio.sleep(0.05)
            assert all(d["attempts"] == 1 and d["last_status_code"] == 204 for d in deliveries), deliveries
    finally:
        receiver.stop()


async def test_receiver_down_then_back_each_event_once_across_a_restart(
    any_database_url: str | None, tmp_path: Path, fake_flavors: None
) -> None:
    receiver = Receiver().start()
    receiver.stop()  # keeps its port: the target is down
    # retries every 0.05-0.2 s: enough attempts that none gives up while this machine is slow
    settings = traffic_settings(tmp_path / "home", any_database_url, **FAST, webhook_max_attempts=10_000)
    async with running(settings) as (services, client):
        hook = await subscribe(client, receiver.url, ["alias.changed", "alias.rolled_back"])
        await add_versions(services, tmp_path, count=2)
        for body in ({"version": 2}, {"version": 1}):
            assert (await client.put("/api/v1/models/m/aliases/production", json=body)).status_code == 200
        assert (await client.post("/api/v1/models/m/aliases/production/rollback")).status_code == 200


        async def tried() -> list[dict[str, Any]]:
            return list((await client.get(f"/api/v1/webhooks/{hook}/deliveries")).json())

        async with asyncio.timeout(20):
            found = await tried()
            while len(found) < 4 or not all(d["attempts"] >= 2 for d in found):
                await asyncio.sleep(0.05)
                found = await tried()
        assert all(d["status"] == "pending" and "ConnectError" in d["last_error"] for d in found)
    # the server stopped with four events undelivered; the receiver comes back, then a new server
    receiver.start()
    try:
        async with running(settings) as (_services, client):
            await until(lambda: len(receiver.received) >= 4, seconds=40)  # past a cut-off send's lease
            await asyncio.sleep(0.5)  # nothing more arrives
            got = events(receiver)
            assert len(got) == 4 and len({e["id"] for e in got}) == 4
            # retries may reorder deliveries; each carries its event's time
            assert Counter(e["type"] for e in got) == {"alias.changed": 3, "alias.rolled_back": 1}
            assert max(got, key=lambda e: e["time"])["type"] == "alias.rolled_back"
            async with asyncio.timeout(20):  # the last send may still be finishing
                while any(d["status"] != "delivered"
                          for d in (await client.get(f"/api/v1/webhooks/{hook}/deliveries")).json()):
                    await asyncio.sleep(0.05)
    finally:
        receiver.stop()


async def test_redirects_are_checked_again(tmp_path: Path, fake_flavors: None) -> None:
    receiver = Receiver().start()
    try:
        async with running(traffic_settings(tmp_path / "home", None, **FAST)) as (services, client):
            hook = await subscribe(client, receiver.url, ["alias.changed"])
            receiver.redirect = "http://169.254.169.254/latest/meta-data"
            await add_versions(services, tmp_path, count=1)

            async def last() -> dict[str, Any]:
                return dict((await client.get(f"/api/v1/webhooks/{hook}/deliveries")).json()[0])

            async with asyncio.timeout(20):
                while (delivery := await last())["attempts"] < 1 or delivery["last_error"] is None:
                    await asyncio.sleep(0.05)
            assert "non-public" in delivery["last_error"] and delivery["status"] == "pending"
            assert {path for path, _h, _b in receiver.received} == {"/hook"}  # never went to the metadata IP
            receiver.redirect = f"http://127.0.0.1:{receiver.port}/final"
            async with asyncio.timeout(20):
                while (await last())["status"] != "delivered":
                    await asyncio.sleep(0.05)
            paths = [path for path, _h, _b in receiver.received]
            assert paths[-1] == "/final" and verify(SECRET, receiver.received[-1][2],
                                                    receiver.received[-1][1][HEADER])
    finally:
        receiver.stop()
