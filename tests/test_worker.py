"""The worker entrypoint builds only what jobs use, in its own loop, and runs a job id."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from modelport import worker
from modelport.bootstrap import build_services
from modelport.errors import NotFound
from modelport.jobs.context import JobServices


def test_build_runs_a_job_id_and_closes(make_settings: Any) -> None:
    settings = make_settings()
    server = build_services(settings)

    async def first_start() -> None:  # the server's first start migrates the database
        await server.start(serve=False)
        await server.close()

    asyncio.run(first_start())
    resources = worker.build(settings)
    try:
        services: JobServices = resources.services  # the narrow protocol, checked by mypy
        assert services.settings is settings and services.job_repo is not None
        assert not hasattr(services, "auth") and not hasattr(services, "jobs")  # not the server's Services
        with pytest.raises(NotFound):  # the worker's own repo asked the database
            resources.run_job("no-such-job")
    finally:
        resources.close()
    assert resources.loop.is_closed()
