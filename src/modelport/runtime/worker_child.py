"""The child side of model worker processes: what a worker loads and serves, and the tensor
layout in shared memory that both sides read (:mod:`modelport.runtime.workers` is the parent
side; :mod:`modelport.runtime.zygote` forks children that run :func:`serve`)."""

from __future__ import annotations

import logging
import signal
from dataclasses import dataclass
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path
from typing import Any

import numpy as np

from modelport.core.types import TensorDict

log = logging.getLogger(__name__)
SEGMENT_BYTES = 4 * 1024 * 1024  # pages are only backed by memory once written
ALIGN = 64
START_TIMEOUT_S = 120.0
#: one tensor in a message: ("shm", dtype, shape, offset) or ("obj", array)
Slot = tuple[Any, ...]
Layout = list[tuple[str, Slot]]


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs to load the model on its own: picklable, no live objects."""

    target: str  # "module:Class" of the runtime
    artifact: str
    signature_json: str
    options: dict[str, Any]
    label: str
    #: fork the workers from one process that loaded the model (copy-on-write sharing, see zygote.py)
    share: bool = False


# ---------------------------------------------------------------------------- shared helpers
def attach(name: str) -> SharedMemory:
    """Open a segment the parent created, without registering it with the resource tracker
    (Python 3.11 would otherwise unlink or warn about it when this process exits)."""
    register = resource_tracker.register
    resource_tracker.register = lambda *_a, **_k: None
    try:
        return SharedMemory(name=name)
    finally:
        resource_tracker.register = register


def write_tensors(tensors: TensorDict, shm: SharedMemory | None) -> tuple[Layout, int]:
    """Write numeric tensors into ``shm``; returns the layout and the bytes needed.

    When ``shm`` is None or too small nothing is written and the needed size is returned, so the
    caller can grow the segment (parent) or send the tensors pickled (worker).
    """
    needed, plan = 0, []
    for name, arr in tensors.items():
        if arr.dtype.hasobject:
            continue
        plan.append((name, needed))
        needed += (arr.nbytes + ALIGN - 1) // ALIGN * ALIGN
    if shm is None or needed > shm.size:
        return [], needed
    offsets = dict(plan)
    layout: Layout = []
    for name, arr in tensors.items():
        if arr.dtype.hasobject:
            layout.append((name, ("obj", arr)))
            continue
        offset = offsets[name]
        dst: np.ndarray[Any, Any] = np.ndarray(arr.shape, dtype=arr.dtype, buffer=shm.buf, offset=offset)
        dst[...] = arr
        layout.append((name, ("shm", arr.dtype.str, arr.shape, offset)))
    return layout, needed


def read_tensors(layout: Layout, shm: SharedMemory | None, *, copy: bool) -> TensorDict:
    out: TensorDict = {}
    for name, slot in layout:
        if slot[0] == "obj":
            out[name] = slot[1]
            continue
        assert shm is not None
        _, dtype, shape, offset = slot
        arr: np.ndarray[Any, Any] = np.ndarray(shape, dtype=np.dtype(dtype), buffer=shm.buf, offset=offset)
        out[name] = arr.copy() if copy else arr
    return out


# ---------------------------------------------------------------------------- the child
def load_for_worker(spec: WorkerSpec) -> Any:  # pragma: no cover - child
    """Load and warm up the runtime ``spec`` names (in a worker, or in a zygote before it forks)."""
    import importlib

    from modelport.registry.manifest import Signature

    module_name, _, attr = spec.target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    runtime = cls(Path(spec.artifact), Signature.model_validate_json(spec.signature_json), spec.options)
    runtime.load()
    runtime.warmup()
    return runtime


def worker_main(conn: Connection, spec: WorkerSpec, out_name: str) -> None:  # pragma: no cover - child
    """Entry point of a worker process: load, say ready, then answer batches until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        runtime = load_for_worker(spec)
    except Exception as exc:
        conn.send(("error", type(exc).__name__, str(exc)[:500]))
        return
    conn.send(("ready", runtime.placement(), None))
    serve(conn, runtime, out_name)
    runtime.unload()


def serve(conn: Connection, runtime: Any, out_name: str) -> None:  # pragma: no cover - child
    """Answer ``predict`` messages on ``conn`` with ``runtime`` until told to stop or the pipe closes."""
    out = attach(out_name)
    segments: dict[str, SharedMemory] = {}
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            break
        if msg[0] != "predict":
            break
        _, in_name, layout = msg
        shm = segments.get(in_name)
        if shm is None:
            for old in segments.values():
                old.close()
            segments = {in_name: attach(in_name)}
            shm = segments[in_name]
        inputs = read_tensors(layout, shm, copy=False)
        try:
            outputs = runtime.predict(inputs)
        except Exception as exc:
            conn.send(("error", type(exc).__name__, str(exc)[:500]))
            continue
        finally:
            del inputs
        outputs = {k: np.ascontiguousarray(v) for k, v in outputs.items()}
        out_layout, _ = write_tensors(outputs, out)
        if out_layout:
            conn.send(("ok", out_layout, None))
        else:  # too big for the segment: pickled over the pipe
            conn.send(("ok", None, outputs))


# ---------------------------------------------------------------------------- the parent
