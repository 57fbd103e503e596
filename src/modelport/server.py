"""Run the HTTP server with uvicorn (uvloop + httptools), printing how to reach it."""

from __future__ import annotations

import uvicorn

from modelport.http1 import protocol_class
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


def run_server(settings: Settings, *, workers: int = 1) -> None:
    """uvicorn with uvloop and httptools (one write per sized response: :mod:`modelport.http1`); no
    ``Server: uvicorn`` header (it tells every client which software answers, and is one more
    header to write per response)."""
    configure_logging(settings.log_level, settings.log_format)
    exit_cleanly_on_signal()
    print(banner(settings), flush=True)
    if workers > 1:
        uvicorn.run("modelport.server:factory", factory=True, host=settings.host, port=settings.port,
                    workers=workers, loop="uvloop", http=protocol_class(), log_config=None,
                    access_log=False, server_header=False,
                    timeout_graceful_shutdown=int(settings.shutdown_grace_s))
        return
    from modelport.app import create_app

    uvicorn.run(create_app(settings, freeze_gc=True), host=settings.host, port=settings.port, loop="uvloop",
                http=protocol_class(), log_config=None, access_log=False, server_header=False,
                timeout_graceful_shutdown=int(settings.shutdown_grace_s))


def factory():  # type: ignore[no-untyped-def]
    """Used by uvicorn's multi-worker mode: each worker builds its own app from the env."""
    from modelport.app import create_app

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings, freeze_gc=True)
