"""structlog configuration: JSON lines in production, console when a terminal is attached.

The request id (and, later, the principal and trace id) are bound in contextvars by the request
middleware, so every log line of a request carries them, including lines from stdlib loggers.

Formatting and writing happen off the request path: stdlib records go through a queue to one
background thread (``QueueListener``); the record carries a snapshot of the request's context
so the line still names its request id.
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import queue
import sys
from typing import Any

import orjson
import structlog

_listener: logging.handlers.QueueListener | None = None


class _ContextQueueHandler(logging.handlers.QueueHandler):
    """Queues the record as is (exc_info kept) with the caller's contextvars snapshotted."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record.structlog_context = structlog.contextvars.get_contextvars()
        return record


def _merge_record_context(_logger: Any, _name: str, event: Any) -> Any:
    record = event.get("_record")
    context = getattr(record, "structlog_context", None)
    if context:
        for key, value in context.items():
            event.setdefault(key, value)
    return event


def _json(obj: Any, **_kw: Any) -> str:
    return orjson.dumps(obj, default=str).decode()


def configure_logging(level: str = "info", fmt: str = "auto") -> None:
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
        foreign_pre_chain=[_merge_record_context, *shared],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if use_json else _identity,
            renderer,
        ],
    ))
    global _listener
    if _listener is not None:
        _listener.stop()
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    _listener = logging.handlers.QueueListener(records, handler)
    _listener.start()
    atexit.register(_listener.stop)
    root = logging.getLogger()
    root.handlers = [_ContextQueueHandler(records)]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True


def _identity(_logger: Any, _name: str, event: Any) -> Any:
    return event
