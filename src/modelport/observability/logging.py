"""structlog configuration: JSON lines in production, console when a terminal is attached.

The request id (and, later, the principal and trace id) are bound in contextvars by the request
middleware, so every log line of a request carries them, including lines from stdlib loggers.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

import orjson
import structlog


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


class _HandlerStream:
    """A structlog output that writes to the stream of the root handler, whatever it is now
    (``setStream`` redirects access lines with every other line), under the handler's lock."""

    def __init__(self, handler: logging.StreamHandler[Any]) -> None:
        self.handler = handler

    def msg(self, message: str) -> None:
        with self.handler.lock:  # type: ignore[union-attr]
            stream = self.handler.stream
            stream.write(message + "\n")
            stream.flush()

    info = msg


AccessLine = Callable[[str, str, int, float], None]


def _native_access_line(level: str, handler: logging.StreamHandler[Any]) -> AccessLine:
    """The access line rendered by structlog directly (no stdlib LogRecord) to the root handler.

    Why: it is written once per request, and the stdlib route (a LogRecord, copied again by
    ProcessorFormatter, then rendered) costs twice as much. The line holds the same keys as every
    other JSON line (event, level, logger, timestamp and the bound request context).
    """
    logger = structlog.wrap_logger(
        _HandlerStream(handler),
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(serializer=_json),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    ).bind(logger=ACCESS_LOGGER)

    def line(method: str, path: str, status: int, elapsed_ms: float) -> None:
        logger.info(f"{method} {path} {status} {elapsed_ms:.1f}ms")

    return line


def configure_logging(level: str = "info", fmt: str = "auto") -> None:
    global access_line
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
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
    access_line = _native_access_line(level, handler) if use_json else _stdlib_access_line


def _identity(_logger: Any, _name: str, event: Any) -> Any:
    return event
