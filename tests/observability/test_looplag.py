"""The loop-lag gauge shows a blocked event loop, and reads ~0 on an idle one."""

from __future__ import annotations

import asyncio
import time

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Gauge

from modelport.observability.looplag import LoopLagProbe


async def test_a_blocked_loop_shows_as_lag() -> None:
    registry = CollectorRegistry()
    probe = LoopLagProbe(Gauge("lag_seconds", "test", registry=registry), 0.05, window=1.0)
    probe.start()
    try:
        await asyncio.sleep(0.2)
        assert (registry.get_sample_value("lag_seconds") or 0) < 0.05
        time.sleep(0.3)  # block the loop, as model code run on it would
        await asyncio.sleep(0.2)  # later probes on a free loop do not hide the stall...
        assert (registry.get_sample_value("lag_seconds") or 0) >= 0.2
        await asyncio.sleep(1.2)  # ...until it leaves the window
        assert (registry.get_sample_value("lag_seconds") or 0) < 0.05
    finally:
        await probe.stop()


async def test_the_app_exports_the_gauge(app: FastAPI, client: httpx.AsyncClient) -> None:
    await asyncio.sleep(0.6)  # one probe period (MODELPORT_LOOP_LAG_INTERVAL_S = 0.5)
    text = (await client.get("/metrics")).text
    line = next(x for x in text.splitlines() if x.startswith("modelport_event_loop_lag_seconds "))
    assert 0 <= float(line.split()[-1]) < 1
