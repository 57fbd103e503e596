"""``job.succeeded`` / ``job.failed`` come from the jobs table: each finished job once per webhook,
however many replicas notice it; ``drift.detected`` when a drift check finds drift."""

from __future__ import annotations

import asyncio
import io
from collections import Counter
from pathlib import Path

import numpy as np
import orjson

from modelport.jobs.tables import JobRow
from modelport.storage.base import utcnow
from modelport.webhooks.jobs import JobEvents
from modelport.webhooks.signing import HEADER, verify
from tests.fixtures.tracking import register_sum
from tests.traffic.support import running, traffic_settings
from tests.webhooks.receiver import Receiver

SECRET = "jobs-webhook-secret-0123456789"
FAST = {"webhook_allow_private": True, "webhook_poll_s": 0.05, "webhook_retry_base_s": 0.05}


def job(job_id: str, state: str) -> JobRow:
    stamp = utcnow()
    return JobRow(id=job_id, kind="train", state=state, progress=100, params={}, attempts=1, max_attempts=3,
                  cancel_requested=False, message="", metrics={"accuracy": 0.9}, result={"version": 4},
                  error="boom" if state == "failed" else None, created_at=stamp, updated_at=stamp,
                  finished_at=stamp if state in ("succeeded", "failed") else None)


async def test_job_events_once_each(any_database_url: str | None, tmp_path: Path) -> None:
    receiver = Receiver().start()
    try:
        settings = traffic_settings(tmp_path / "home", any_database_url, **FAST)
        async with running(settings) as (services, client):
            r = await client.post("/api/v1/webhooks", json={"url": receiver.url, "secret": SECRET,
                                                             "events": ["job.succeeded", "job.failed"]})
            assert r.status_code == 201
            async with services.sessions() as session:
                session.add_all([job("j1", "succeeded"), job("j2", "failed"), job("j3", "running")])
                await session.commit()
            other_replica = JobEvents(services.sessions, services.webhooks)
            assert await other_replica.scan_once() == 2
            assert await other_replica.scan_once() == 0
            async with asyncio.timeout(20):
                while len(receiver.received) < 2:
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # this server's own scanner saw them too: nothing more arrives
            got = [orjson.loads(body) for _p, _h, body in receiver.received]
            assert all(verify(SECRET, body, headers[HEADER]) for _p, headers, body in receiver.received)
            # one event per finished job: delivery is at least once (a send that failed on a loaded
            # host is retried, and receivers de-duplicate by event id), the events are not
            by_id = {e["id"]: e["type"] for e in got}
            assert Counter(by_id.values()) == {"job.succeeded": 1, "job.failed": 1}, got
            failed = next(e for e in got if e["type"] == "job.failed")
            assert failed["id"] == "job.failed.j2" and failed["data"]["error"] == "boom"
    finally:
        receiver.stop()


async def test_drift_detected_event(tmp_path: Path, fake_flavors: None) -> None:
    receiver = Receiver().start()
    rng = np.random.default_rng(1)
    reference = rng.normal(size=(1000, 3))
    buf = io.StringIO()
    np.savetxt(buf, reference, delimiter=",")
    try:
        async with running(traffic_settings(tmp_path / "home", None, **FAST)) as (services, client):
            r = await client.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["drift.detected"],
                                                             "secret": SECRET})
            assert r.status_code == 201
            await register_sum(services, tmp_path)
            r = await client.put("/api/v1/models/sum/versions/1/reference",
                                 files={"file": ("train.csv", buf.getvalue().encode(), "text/csv")})
            assert r.status_code == 200, r.text
            shifted = rng.normal(size=(300, 3)) + [0, 4, 0]
            for chunk in np.array_split(shifted, 30):
                assert (await client.post("/api/v1/models/sum/predict/batch",
                                          json={"samples": chunk.tolist()})).status_code == 200
            await services.tracking.recorder.flush()
            for _ in range(2):  # checked twice within the hour: one event
                assert (await client.get("/api/v1/models/sum/versions/1/drift")).json()["verdict"] == "drift"
            async with asyncio.timeout(20):
                while not receiver.received:
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            assert len(receiver.received) == 1
            event = orjson.loads(receiver.received[0][2])
            assert event["type"] == "drift.detected" and event["data"]["drifted_features"] == ["input[1]"]
    finally:
        receiver.stop()
