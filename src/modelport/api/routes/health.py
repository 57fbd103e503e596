"""Liveness, readiness, the service index and Prometheus metrics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response

from modelport import __version__
from modelport.api.deps import Principal, ServicesDep, require
from modelport.web.responses import FastJSONResponse

router = APIRouter(tags=["health"])


@router.get("/", summary="Service index")
async def index(request: Request) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    return {
        "service": "modelport",
        "version": __version__,
        "links": {
            "docs": f"{base}/docs",
            "openapi": f"{base}/openapi.json",
            "models": f"{base}/api/v1/models",
            "live": f"{base}/health/live",
            "ready": f"{base}/health/ready",
            "metrics": f"{base}/metrics",
        },
    }


@router.get("/health/live", summary="The process is up")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health/ready", summary="Ready to serve: started, not draining, database reachable",
            responses={503: {"description": "Not ready"}})
async def ready(services: ServicesDep) -> FastJSONResponse:
    """Ready does not wait for the models to load unless `MODELPORT_PRELOAD_BEFORE_READY` is set:
    they load in the background, `checks.preloading` says whether that is still going on, and a
    request for a version still loading waits for its load (#16)."""
    checks = {
        "started": services.state.started,
        "draining": services.state.draining,
        "database": await services.database_ok(),
        "models_loaded": len(services.manager.loaded()),
        "preloading": services.preloading,
    }
    ok = services.state.ready and checks["database"]
    return FastJSONResponse({"status": "ready" if ok else "not ready", "checks": checks},
                          status_code=200 if ok else 503)


@router.get("/metrics", summary="Prometheus metrics (scope: metrics)", response_class=Response)
async def metrics(services: ServicesDep, _p: Annotated[Principal, require("metrics")]) -> Response:
    return Response(services.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
