"""Run the HTTP server: Granian (a Rust HTTP core) serving the ASGI app; the one place that knows.

Why Granian: it has, as public options, what a server facing the internet needs and uvicorn
lacks (a header read timeout, a header size limit answered with 431, a connection limit, TLS with
client certificates), and it served the logreg predict route as fast or faster than uvicorn with
httptools side by side (``docs/server.md``). What it lacks, a body read timeout, is an ASGI
wrapper here (:mod:`modelport.body_timeout`).

The main process only supervises: it exports the settings to the environment, starts the worker
processes (each builds its app with :func:`factory`), prints the banner once every worker is
ready (:mod:`modelport.ready`) and drains on SIGTERM (:mod:`modelport.shutdown`).
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path

from granian.constants import HTTPModes, Interfaces, Loops, RuntimeModes
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server import MPServer
from pydantic import SecretStr
from starlette.types import ASGIApp

from modelport.body_timeout import BodyTimeout
from modelport.observability.logging import configure_logging
from modelport.paths import keep_caches_in
from modelport.ready import MarkReady, failed_flag, ready_dir, reset, wait_listening, wait_ready
from modelport.settings import Group, Settings, env_name, nested_env_name
from modelport.shutdown import drain_then_stop, drain_workers, ignore_drain_signal_until_ready

log = logging.getLogger(__name__)
FACTORY = "modelport.server:factory"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def local_host(settings: Settings) -> str:
    """The address a local client connects to (a wildcard bind address is reached on loopback)."""
    host = settings.server.host
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104


def public_base(settings: Settings) -> str:
    """The URL a local client uses."""
    host = local_host(settings)
    if ":" in host:
        host = f"[{host}]"
    scheme = "https" if settings.tls.cert_file else "http"
    return f"{scheme}://{host}:{settings.server.port}"


def banner(settings: Settings) -> str:
    """How to reach the server, with a curl that works as printed (the admin key read from its file)."""
    base = public_base(settings)
    grpc = f" · gRPC {settings.server.host}:{settings.grpc.port}" if settings.grpc.enabled else ""
    key_file = (settings.home / "admin.key").resolve()
    key = (f"             -H \"Authorization: Bearer $(cat {key_file})\" \\\n"
           if settings.security.auth == "enabled" else "")
    trust = (f"             --cacert {settings.tls.cert_file.resolve()} \\\n"
             if settings.tls.cert_file is not None else "")
    return (
        f"\n  modelport is ready on {base}\n"
        f"  docs:    {base}/docs\n"
        f"  OIP v2:  {base}/v2{grpc}\n"
        f"  try:     curl -s -X POST {base}/api/v1/models/iris/predict \\\n"
        f"{trust}{key}"
        f"             -H 'Content-Type: application/json' -d '{{\"features\": [5.1, 3.5, 1.4, 0.2]}}'\n"
    )


def check_tls(settings: Settings) -> None:
    tls = settings.tls
    if (tls.cert_file is None) != (tls.key_file is None):
        raise SystemExit("TLS needs both MODELPORT_TLS_CERT_FILE and MODELPORT_TLS_KEY_FILE")
    if tls.client_ca_file is not None and tls.cert_file is None:
        raise SystemExit("MODELPORT_TLS_CLIENT_CA_FILE needs a certificate and key (MODELPORT_TLS_CERT_FILE)")
    for path in (tls.cert_file, tls.key_file, tls.client_ca_file):
        if path is not None and not path.is_file():
            raise SystemExit(f"TLS file not found: {path}")


def export_settings(settings: Settings) -> None:
    """Settings given in code (CLI flags) reach the worker processes, which read the environment:
    exported under their nested names (``MODELPORT_SERVER__PORT``), which win over the flat ones."""
    for name in sorted(settings.model_fields_set):
        value = getattr(settings, name)
        if isinstance(value, Group):
            for field in sorted(value.model_fields_set):
                _export(nested_env_name(name, field), getattr(value, field))
        else:
            _export(env_name(None, name), value)


def _export(variable: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, list | dict):
        text = json.dumps(value)
    else:
        text = str(value)
    os.environ[variable] = text


def prepare_home(settings: Settings, workers: int) -> Path:
    """Temporary files (multipart spooling) under ``home/tmp`` and the libraries' caches under
    ``home/cache`` (:func:`~modelport.paths.keep_caches_in`); with several workers, Prometheus'
    multi-process directory under ``home/run``, emptied at start. Returns the ready-marks directory."""
    home = settings.home.resolve()
    keep_caches_in(home)  # before the workers start and import onnxruntime
    tmp = home / "tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True, exist_ok=True)
    os.environ["TMPDIR"] = str(tmp)
    tempfile.tempdir = str(tmp)
    if workers > 1 and not os.environ.get(MULTIPROC_ENV):
        metrics = home / "run" / "prometheus"
        shutil.rmtree(metrics, ignore_errors=True)
        metrics.mkdir(parents=True)
        os.environ[MULTIPROC_ENV] = str(metrics)
    ready = ready_dir(home)
    reset(ready)
    return ready


def build_server(settings: Settings, workers: int) -> MPServer:
    check_tls(settings)
    server, client_ca = settings.server, settings.tls.client_ca_file
    return MPServer(
        FACTORY, factory=True, address=server.host, port=server.port, interface=Interfaces.ASGI,
        workers=workers, loop=Loops.uvloop, http=HTTPModes.http1, websockets=False,
        # one Rust I/O thread per worker, run single-threaded: the Python event loop is the
        # bottleneck, and a second runtime thread only adds GIL hand-offs (docs/server.md)
        runtime_mode=RuntimeModes.st, runtime_threads=1,
        backpressure=server.max_connections,
        http1_settings=HTTP1Settings(header_read_timeout=max(1, round(server.header_timeout_s * 1000)),
                                     max_buffer_size=server.max_header_bytes),
        log_level=LogLevels.debug if settings.observability.log_level.lower() == "debug"
        else LogLevels.warning,
        log_access=False,
        ssl_cert=settings.tls.cert_file, ssl_key=settings.tls.key_file, ssl_ca=client_ca,
        ssl_client_verify=client_ca is not None,
        workers_kill_timeout=max(1, math.ceil(server.shutdown_grace_s)),
        respawn_failed_workers=True,  # a worker that dies is replaced (Granian stops on a crash loop)
    )


def run_server(settings: Settings, *, workers: int = 1) -> None:
    """Serve until SIGTERM/SIGINT, then drain (see :mod:`modelport.shutdown`) and exit 0."""
    configure_logging(settings.observability.log_level, settings.observability.log_format)
    # workers start as fresh interpreters: the environment set below (Prometheus' multi-process
    # directory among it) is read by libraries at import, and this process imported them already
    multiprocessing.set_start_method("spawn", force=True)
    server = build_server(settings, workers)
    export_settings(settings)
    ready = prepare_home(settings, workers)

    failed = failed_flag(ready)

    def up() -> bool:
        return not failed.exists()

    def announce() -> None:
        if (wait_ready(ready, workers, alive=up)
                and wait_listening(local_host(settings), settings.server.port, alive=up)):
            print(banner(settings), flush=True)
        elif failed.exists():  # rather than respawning a worker that cannot start, stop (exit 1)
            log.error("a worker failed to start: stopping")
            os.kill(os.getpid(), signal.SIGTERM)

    @server.on_startup
    def started() -> None:  # granian has installed its signal handlers: drain goes in front
        drain_then_stop(settings.server.drain_s, notify=lambda: drain_workers(ready))
        threading.Thread(target=announce, name="banner", daemon=True).start()

    server.serve()
    if failed.exists():
        raise SystemExit(1)


def factory() -> ASGIApp:
    """Each worker process builds its own app from the environment (see :func:`export_settings`)."""
    from modelport.app import create_app

    ignore_drain_signal_until_ready()
    settings = Settings()
    configure_logging(settings.observability.log_level, settings.observability.log_format)
    tempfile.tempdir = str(settings.home.resolve() / "tmp")
    ready = ready_dir(settings.home.resolve())
    try:
        app: ASGIApp = create_app(settings, freeze_gc=True)
    except BaseException:
        failed_flag(ready).touch()  # the main process stops instead of respawning this worker
        raise
    return MarkReady(BodyTimeout(app, settings.server.body_timeout_s), ready)
