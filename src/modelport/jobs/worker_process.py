"""What a job worker process imports up front (the process itself is built by
:mod:`modelport.worker`, the worker entrypoint)."""

from __future__ import annotations

import importlib

#: the heavy modules a job needs (skops scans all of sklearn; seconds): imported once by the
#: embedded engine's fork server, and by a Celery worker before its pool forks
HEAVY_MODULES = ("pyarrow.csv", "pyarrow.parquet", "sklearn.ensemble", "sklearn.metrics",
                 "sklearn.model_selection", "skops.io", "modelport.jobs.batch", "modelport.jobs.training")


def preload() -> None:
    """Import :data:`HEAVY_MODULES` up front."""
    for module in HEAVY_MODULES:
        importlib.import_module(module)
