"""Where the server's helper processes start: multiprocessing's fork server, one per process.

Why: model workers, zygotes, the registration check of user code and job workers each need the
ML stack (``import skops.io`` walks all of scikit-learn and imports torch: seconds of CPU). A
spawned process pays those imports every time it starts, and again for each replacement; the
server itself must not fork (threads, sockets, loaded models). The fork server is a clean process,
started on first use, that imports :data:`PRELOAD` once and forks each helper from there: no
threads of its own, no model loaded, so what a child loads is its own (runtimes that start thread
pools, such as ONNX Runtime or torch, start them in the child).

A forked helper inherits the fork server's environment as it was when the fork server started,
not the server's at that moment: what a helper needs comes in its arguments.
"""

from __future__ import annotations

import importlib
import multiprocessing
from multiprocessing.context import ForkServerContext

#: what the fork server imports before its first fork: the ML stack and the helpers' entry modules
PRELOAD = ("pyarrow.csv", "pyarrow.parquet", "sklearn.ensemble", "sklearn.metrics",
           "sklearn.model_selection", "skops.io", "modelport.jobs.batch", "modelport.jobs.training",
           "modelport.worker", "modelport.runtime.worker_child", "modelport.runtime.zygote",
           "modelport.runtime.isolation")


def context() -> ForkServerContext:
    """The fork-server context every helper process starts from."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(PRELOAD))
    return ctx


def preload() -> None:
    """Import :data:`PRELOAD` here (a Celery worker, before its pool forks)."""
    for module in PRELOAD:
        importlib.import_module(module)
