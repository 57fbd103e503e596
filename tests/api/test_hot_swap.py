"""Moving an alias while clients send requests in a loop: zero failed requests.

Every request sends a row no other request sent, so each one reaches the model (identical rows
were answered from the response cache after the first of each version). The clients run in this
event loop (ASGI transport), so each one yields to it for a millisecond after every answer:
looping without a pause starved the loop (the database's thread callbacks and the mover's PUT
waited behind the clients: each move took 4-10 s and the test 110 s); with the pause the clients
send more requests per second than before, and some are always in flight.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import httpx

from modelport.app import create_app
from tests.conftest import write_fake_artifact


async def test_alias_moves_under_load_without_failures(
    make_settings: Any, fake_flavors: None, tmp_path: Path, admin_headers: dict[str, str]
) -> None:
    # the clients loop as fast as the loop lets them: keep the rate limit out of the way
    app = create_app(make_settings(rate_limit="1000000/minute"))
    async with app.router.lifespan_context(app):
        models = app.state.services.models
        await models.register_file("swap", "test-sum", write_fake_artifact(tmp_path, "a.json", offset=0),
                                   aliases=["production"])
        await models.register_file("swap", "test-sum", write_fake_artifact(tmp_path, "b.json", offset=100))
        transport = httpx.ASGITransport(app=app)
        results: list[tuple[int, int, float, float]] = []  # status, version, prediction, row sum
        stop = asyncio.Event()
        first = itertools.count()

        async def client_loop() -> None:
            async with httpx.AsyncClient(transport=transport, base_url="http://t",
                                         headers=admin_headers) as c:
                while not stop.is_set():
                    row = [next(first), 2, 3]
                    r = await c.post("/api/v1/models/swap/predict", json={"features": row})
                    body = r.json()
                    results.append((r.status_code, body.get("version", 0), body.get("predictions", [0])[0],
                                    sum(row)))
                    await asyncio.sleep(0.001)

        async def mover() -> None:
            async with httpx.AsyncClient(transport=transport, base_url="http://t",
                                         headers=admin_headers) as c:
                for i in range(12):
                    await asyncio.sleep(0.05)
                    r = await c.put("/api/v1/models/swap/aliases/production", json={"version": 2 - i % 2})
                    assert r.status_code == 200, r.text
            stop.set()

        async with asyncio.timeout(120):
            await asyncio.gather(*(client_loop() for _ in range(8)), mover())

    assert len(results) > 100
    failures = [r for r in results if r[0] != 200]
    assert failures == []
    versions = {v for _, v, _, _ in results}
    assert versions == {1, 2}
    for _, version, prediction, row_sum in results:  # each answer comes from the version it names
        assert prediction == row_sum + (0.0 if version == 1 else 100.0)
