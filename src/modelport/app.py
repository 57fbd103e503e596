"""App factory: ``create_app(settings)`` builds a FastAPI app whose lifespan owns every resource.

Nothing here runs at import: the services (engine, models, executors) are built when the app
is created and started/stopped by the lifespan, so tests and worker processes each get their own.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from modelport import __version__
from modelport.api import problems
from modelport.api.hardening import HardeningMiddleware, check_cors
from modelport.api.middleware import RequestContextMiddleware, RequestObserver
from modelport.api.routes import (  # traffic control and webhooks (#20)
    auth,
    collections,
    datasets,
    files,
    health,
    jobs,
    models,
    monitoring,
    ner,
    predict,
    predict_asgi,
    predictions,
    text,
    traffic,
    usage,
    users,
    webhooks,
)
from modelport.api.slashes import TrimTrailingSlash
from modelport.background import BackgroundTask
from modelport.bootstrap import Services, build_services
from modelport.core.gate import Gate
from modelport.observability.looplag import LoopLagProbe
from modelport.observability.tracing import TracingMiddleware
from modelport.oip import errors as oip_errors
from modelport.oip import rest as oip_rest
from modelport.oip.grpc import start_grpc_server
from modelport.openai import errors as openai_errors
from modelport.settings import Settings
from modelport.shutdown import mark_draining_on_signal
from modelport.web.compression import NegotiatedGZip
from modelport.web.deadline import INFERENCE_PATHS, DeadlineMiddleware
from modelport.web.gate import GateMiddleware

log = logging.getLogger(__name__)

DESCRIPTION = """Serve, train and track machine-learning models behind one fast, secure API.

* `/api/v1`: JSON REST API (models, predictions, text, image uploads, search collections)
* `/api/v1/jobs`, `/api/v1/datasets`: training and batch-prediction jobs, datasets
* `/v1`: OpenAI-compatible API (models, embeddings, chat completions)
* `/v2`: Open Inference Protocol (KServe v2 / Triton) REST, binary tensor data, model repository;
  the same protocol over gRPC on `MODELPORT_GRPC_PORT`

Every route but `/`, `/health/*` and the docs needs a credential: `Authorization: Bearer <JWT or API key>`
or `X-API-Key: <API key>`.
"""


def settle_heap(gen0_threshold: int) -> None:
    """Tune the cyclic garbage collector for serving (called once, after start-up).

    * Freeze what start-up left: loaded libraries (scikit-learn, torch...) leave millions of
      long-lived objects that every full collection walked, ~100 ms pauses that were the whole
      p99 of a busy server. Objects alive now live as long as the process; later garbage is
      still collected.
    * Collect the youngest generation every ``gen0_threshold`` net allocations, not CPython's
      700. A request allocates dozens of container objects (task, coroutines, futures, dicts)
      that die within milliseconds, so under load 700 was reached every ~20 requests, and
      each run walked every in-flight request and buffered prediction-log record, promoting
      them until older generations, full collections included, ran twice a second: 13 us of
      each request's CPU (logreg, 64 connections, timed with ``gc.callbacks``). What is alive
      at a collection is bounded by the requests in flight, so fewer runs walk it fewer times;
      one run then takes about 2 ms.
    """
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(gen0_threshold, gen1, gen2)


async def settle_after_preload(services: Services) -> None:
    """Freeze the heap once more when the background preload ends: the libraries it imported and
    the models it loaded live as long as the process, and unfrozen they would be walked by every
    full collection again (the pauses :func:`settle_heap` removed)."""
    await services.preloaded()
    if not services.state.draining:
        settle_heap(services.settings.server.gc_threshold)


def create_app(settings: Settings | None = None, *, services: Services | None = None,
               freeze_gc: bool = False) -> FastAPI:
    """``freeze_gc``: the serving process (not tests, which build many apps) tunes the garbage
    collector once started (:func:`settle_heap`)."""
    settings = services.settings if services is not None else (settings or Settings())
    check_cors(settings)
    services = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await services.start()
        try:
            grpc_server = await start_grpc_server(services) if settings.grpc.enabled else None
        except BaseException:
            await services.close()
            raise
        app.state.grpc_port = grpc_server.port if grpc_server else None
        restore_signals = mark_draining_on_signal(services.state)
        settle_later = BackgroundTask("settle-heap")
        if freeze_gc:
            settle_heap(settings.server.gc_threshold)
            if services.preloading:
                settle_later.start(lambda: settle_after_preload(services))
        log.info("modelport ready", extra={"models": len(services.manager.loaded()),
                                           "preloading": services.preloading})
        lag_probe = LoopLagProbe(services.metrics.loop_lag,
                                 settings.observability.loop_lag_interval_s)  # (#19)
        lag_probe.start()
        try:
            yield
        finally:
            await settle_later.close()
            await lag_probe.stop()
            restore_signals()
            if grpc_server is not None:
                await grpc_server.stop(settings.server.shutdown_grace_s)
            await services.close()

    app = FastAPI(
        title="modelport",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None, redoc_url=None,  # served offline by modelport.console.docs (#22)
        # off unless asked for: it looks up the OpenTelemetry providers on every request
        telemetry=None if settings.observability.fastapi_telemetry
        else {"tracing": False, "metrics": False, "logs": False},
    )
    app.state.services = services
    problems.install(app)
    # body limits per router, not app-wide: FastAPI's app-wide limit runs before every middleware,
    # and the gate must refuse an unknown caller before anything looks at the body (#16)
    limit = settings.server.max_body_bytes
    for router in (predict.router, health.router, models.router, predictions.router,
                   monitoring.router, usage.router, oip_rest.router, auth.router):
        app.include_router(router, max_body_size=limit)
    for router in (text.router, files.router, collections.router):
        app.include_router(router, max_body_size=limit)
    from modelport.openai.routes import router as openai_router

    app.include_router(openai_router, max_body_size=limit)
    app.include_router(models.upload_router, max_body_size=settings.server.max_upload_bytes)
    app.include_router(jobs.router, max_body_size=limit)
    app.include_router(traffic.router, max_body_size=limit)  # traffic control and webhooks (#20)
    app.include_router(webhooks.router, max_body_size=limit)
    app.include_router(users.router, max_body_size=limit)  # (#17)
    app.include_router(datasets.router, max_body_size=settings.server.max_upload_bytes)
    app.include_router(ner.router, max_body_size=limit)  # (#19)
    # --- console (#22): /ui pages and the offline /docs, /redoc
    from modelport import console

    app.include_router(console.router, max_body_size=limit)
    app.include_router(console.docs_router)
    # the hot path first, as raw ASGI endpoints inside the same middleware stack (#16)
    app.router.routes[0:0] = predict_asgi.routes()
    # innermost first: deadlines around the routes, then the gate (#16)
    renderers = [("/v2", oip_errors.error_response), ("/v1/", openai_errors.error_response)]
    app.add_middleware(DeadlineMiddleware, default_timeout=settings.inference.request_timeout_s,
                       paths=INFERENCE_PATHS, default=problems.error_response, renderers=renderers)
    # callers are admitted from the headers before any route reads the body (#16)
    app.add_middleware(GateMiddleware, gate=Gate(services), default=problems.error_response,
                       renderers=renderers)
    if settings.server.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.server.cors_origins,
            allow_credentials=settings.server.cors_allow_credentials,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining",
                            "RateLimit-Reset"],
        )
    app.add_middleware(TrimTrailingSlash)  # innermost: routes see the trimmed path (#19)
    if settings.server.gzip_min_bytes:  # (#19) negotiated by Accept-Encoding; event streams are never gzipped
        app.add_middleware(NegotiatedGZip, minimum_size=settings.server.gzip_min_bytes, compresslevel=5)
    app.add_middleware(HardeningMiddleware)
    app.add_middleware(RequestContextMiddleware, observer=RequestObserver(services.metrics))
    app.add_middleware(TracingMiddleware, tracing=services.tracing)  # outermost: spans the request
    return app
