"""What a job worker process imports up front (the process itself is built by
:mod:`modelport.worker`, the worker entrypoint)."""

from __future__ import annotations


def preload() -> None:
    """Import the heavy modules a job needs (skops scans all of sklearn; seconds) up front."""
    import pyarrow.csv  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import sklearn.ensemble  # noqa: F401
    import sklearn.metrics  # noqa: F401
    import sklearn.model_selection  # noqa: F401
    import skops.io  # noqa: F401

    import modelport.jobs.batch  # noqa: F401
    import modelport.jobs.training  # noqa: F401
