"""Helpers for traffic tests: an app on a given database with three versions of a sum model.

Version N of ``m`` answers ``row sum + 100 * (N - 1)``, so every answer tells which version
computed it, independently of the version the response names.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from modelport.app import create_app
from modelport.bootstrap import Services, build_services
from modelport.settings import Settings
from tests.conftest import build_test_settings, mint_admin_headers, write_fake_artifact


def traffic_settings(home: Path, database_url: str | None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"database_url": database_url, "rate_limit": "10000000/minute",
                              "cache_enabled": False, "traffic_guard_interval_s": 3600}
    values.update(overrides)
    return build_test_settings(home, **values)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    """The app (fast lane included: no dependency overrides) and a client with an admin key."""
    services = build_services(settings)
    app = create_app(services=services)
    async with app.router.lifespan_context(app):
        headers = await mint_admin_headers(services)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                                     headers=headers) as client:
            yield services, client


async def add_versions(services: Services, tmp: Path, count: int = 3, name: str = "m",
                       flavor: str = "test-sum", **options: Any) -> None:
    for n in range(1, count + 1):
        path = write_fake_artifact(tmp, f"{name}-{n}.json", offset=100.0 * (n - 1), **options)
        await services.models.register_file(name, flavor, path, aliases=["production"] if n == 1 else [])


def served_by(body: dict[str, Any], row_sum: float = 6.0) -> int:
    """The version that computed an answer (from its value), checked against the version it names."""
    version = int(round((body["predictions"][0] - row_sum) / 100)) + 1
    assert version == body["version"], body
    return version
