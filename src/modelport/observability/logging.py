"""structlog configuration: JSON lines in production, console when a terminal is attached.

The request id, principal and trace id live in contextvars set by the request path
(:mod:`modelport.observability.context`), so every log line of a request carries them, including
lines from stdlib loggers.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson
import structlog

from modelport.observability.context import add_request_context, request_context


def _json(obj: Any, **_kw: Any) -> str:
    """orjson instead of json.dumps: the access line is written on every request."""
    return orjson.dumps(obj, default=str).decode()


ACCESS_LOGGER = "modelport.access"
_stdlib_access = logging.getLogger(ACCESS_LOGGER)


def _stdlib_access_line(method: str, path: str, status: int, elapsed_ms: float) -> None:
    if _stdlib_access.isEnabledFor(logging.INFO):
        _stdlib_access.info("%s %s %d %.1fms", method, path, status, elapsed_ms)


#: writes the access line of one finished request; configure_logging may swap in a faster one
access_line: Callable[[str, str, int, float], None] = _stdlib_access_line


class JsonAccessLog:
    """The JSON access line, built directly and written once per event-loop pass.

    Why: it is written once per request. Through structlog's processor chain (then a ``write``
    and a ``flush`` of its own) it cost a tenth of a prediction's CPU under load; here it is one
    dict and one ``orjson.dumps``, and the lines of every request answered in one pass of the
    event loop go out in one write (as nginx's buffered ``access_log`` does, but bounded by a
    loop pass, not by seconds). The line holds the same keys as every other JSON line: the
    request context (request id, principal, trace id), event, level, logger and timestamp
    (ISO 8601 UTC). Lines go to the stream of the root handler, whatever it is at write time
    (``setStream`` redirects them with every other line), under the handler's lock. Called off
    an event loop (or with more than ``MAX_PENDING`` lines waiting), it writes at once.
    """

    MAX_PENDING = 512

    def __init__(self, handler: logging.StreamHandler[Any]) -> None:
        self.handler = handler
        self._pending: list[bytes] = []
        self._second = -1
        self._prefix = ""

    def _timestamp(self) -> str:
        now = time.time()
        second = int(now)
        if second != self._second:  # formatting the date costs more than the rest of the line
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._prefix}.{int((now - second) * 1e6):06d}Z"

    def __call__(self, method: str, path: str, status: int, elapsed_ms: float) -> None:
        event: dict[str, Any] = request_context()  # first, as every other line has it
        event["event"] = f"{method} {path} {status} {elapsed_ms:.1f}ms"
        event["logger"] = ACCESS_LOGGER
        event["level"] = "info"
        event["timestamp"] = self._timestamp()
        pending = self._pending
        pending.append(orjson.dumps(event, default=str))
        if len(pending) == 1:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
                return
            except RuntimeError:  # no running loop: write now
                pass
        elif len(pending) < self.MAX_PENDING:
            return
        self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        lines, self._pending = self._pending, []
        text = b"\n".join(lines).decode() + "\n"
        handler = self.handler
        with handler.lock:  # type: ignore[union-attr]
            stream = handler.stream
            try:
                stream.write(text)
                stream.flush()
            except ValueError:  # the stream was closed under us (at exit): nowhere to write
                pass


def flush_access_log() -> None:
    """Write access lines still waiting for their loop pass (at exit, or when reconfigured)."""
    if isinstance(access_line, JsonAccessLog):
        access_line.flush()


atexit.register(flush_access_log)


def configure_logging(level: str = "info", fmt: str = "auto") -> None:
    global access_line
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        add_request_context,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_json) if use_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler()
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if use_json else _identity,
            renderer,
        ],
    ))
    # Fields no formatter here prints: skipping them takes a third off every log call (the
    # access line is written per request); see "Optimization" in the logging HOWTO.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # alembic logs every plugin it sets up and its migration context at INFO, nine lines on every
    # start even with nothing to migrate: its loggers say warnings only, unless debugging
    debug = logging.getLevelName(level.upper()) <= logging.DEBUG
    logging.getLogger("alembic").setLevel(logging.NOTSET if debug else logging.WARNING)
    flush_access_log()
    info = logging.getLevelName(level.upper()) <= logging.INFO
    access_line = (JsonAccessLog(handler) if info else _no_access_line) if use_json else _stdlib_access_line


def _no_access_line(method: str, path: str, status: int, elapsed_ms: float) -> None:
    return None


def _identity(_logger: Any, _name: str, event: Any) -> Any:
    return event
