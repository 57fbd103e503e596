"""App factory: ``create_app(settings)`` builds a FastAPI app whose lifespan owns every resource.

Nothing here runs at import: the services (engine, models, executors) are built when the app
is created and started/stopped by the lifespan, so tests and worker processes each get their own.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from modelport import __version__
from modelport.api import problems
from modelport.api.middleware import RequestContextMiddleware
from modelport.api.routes import datasets, health, jobs, models, predict
from modelport.bootstrap import Services, build_services
from modelport.settings import Settings

log = logging.getLogger(__name__)

DESCRIPTION = """Serve, train and track machine-learning models behind one fast, secure API.

* `/api/v1`: JSON REST API (models, predictions)
* `/api/v1/jobs`, `/api/v1/datasets`: training and batch-prediction jobs, datasets
"""


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    settings = services.settings if services is not None else (settings or Settings())
    services = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await services.start()
        log.info("modelport ready", extra={"models": len(services.manager.loaded())})
        try:
            yield
        finally:
            await services.close()

    app = FastAPI(
        title="modelport",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        max_body_size=settings.max_body_bytes,
    )
    app.state.services = services
    problems.install(app)
    for router in (health.router, models.router, predict.router):
        app.include_router(router)
    app.include_router(jobs.router)
    app.include_router(datasets.router, max_body_size=settings.max_upload_bytes)
    app.add_middleware(RequestContextMiddleware, metrics=services.metrics)
    return app
