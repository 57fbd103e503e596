"""Run the HTTP server with uvicorn (uvloop + httptools), printing how to reach it."""

from __future__ import annotations

import sys

import uvicorn

from modelport.observability.logging import configure_logging
from modelport.settings import Settings
from modelport.shutdown import exit_cleanly_on_signal


def banner(settings: Settings) -> str:
    base = f"http://{settings.host}:{settings.port}"
    grpc = f" · gRPC {settings.host}:{settings.grpc_port}" if settings.grpc_enabled else ""
    key = (f"             -H \"Authorization: Bearer $(cat {settings.home}/admin.key)\" \\\n"
           if settings.auth == "enabled" else "")
    return (
        f"\n  modelport is starting on {base}\n"
        f"  docs:    {base}/docs\n"
        f"  OIP v2:  {base}/v2{grpc}\n"
        f"  try:     curl -s -X POST {base}/api/v1/models/iris/predict \\\n"
        f"{key}"
        f"             -H 'Content-Type: application/json' -d '{{\"features\": [5.1, 3.5, 1.4, 0.2]}}'\n"
    )


def tune_gil(settings: Settings) -> None:
    """Hand the GIL over sooner than Python's default 5 ms.

    A request crosses threads several times (the event loop, the model's thread pool, the
    prediction log's encoder, aiosqlite's connection thread). With the default interval a thread
    that wants the GIL back can wait up to 5 ms while another runs Python code, which showed as a
    flat ~4 ms on every request (wrk c=1, logreg: 6.5 ms p50 at 5 ms, 1.0 ms at 0.2 ms; c=64
    throughput ×3; see docs/performance.md). Only the server process is tuned, never at import.
    """
    sys.setswitchinterval(settings.gil_switch_interval_ms / 1000)


def run_server(settings: Settings, *, workers: int = 1) -> None:
    configure_logging(settings.log_level, settings.log_format)
    tune_gil(settings)
    exit_cleanly_on_signal()
    print(banner(settings), flush=True)
    if workers > 1:
        uvicorn.run("modelport.server:factory", factory=True, host=settings.host, port=settings.port,
                    workers=workers, loop="uvloop", http="httptools", log_config=None,
                    access_log=False, timeout_graceful_shutdown=int(settings.shutdown_grace_s))
        return
    from modelport.app import create_app

    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, loop="uvloop",
                http="httptools", log_config=None, access_log=False,
                timeout_graceful_shutdown=int(settings.shutdown_grace_s))


def factory():  # type: ignore[no-untyped-def]
    """Used by uvicorn's multi-worker mode: each worker builds its own app from the env."""
    from modelport.app import create_app

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    tune_gil(settings)
    return create_app(settings)
