"""Owns loaded models: load once, warm up, swap without failed requests, unload by budget.

A version is loaded on first use (or at start) and kept while an alias or recent traffic
uses it. Requests hold a lease (``inflight``) on the version they resolved to, so when an
alias moves, requests already on the old version finish there while new ones go to the new
version; the old one is unloaded only once it has drained.

Each loaded version gets its own :class:`Batcher` (knobs from its ``ServingConfig``, defaults
from settings) in front of a runner: the shared thread pool, or ``workers`` processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from modelport.core.types import TensorDict
from modelport.errors import ArtifactIntegrityError, ModelportError, Unavailable
from modelport.observability.metrics import Metrics
from modelport.registry.manifest import ModelVersionInfo
from modelport.registry.store import ArtifactStore, sha256_file
from modelport.runtime.base import Runtime
from modelport.runtime.batching import BatchConfig, Batcher
from modelport.runtime.executor import Runner, ThreadRunner
from modelport.runtime.options import runtime_options
from modelport.runtime.registry import FLAVORS, runtime_class
from modelport.runtime.worker_child import WorkerSpec
from modelport.runtime.workers import ProcessRunner

log = logging.getLogger(__name__)
Key = tuple[str, int]


class LoadedModel:
    """A version ready to serve. With worker processes, ``runtime`` is not loaded in this
    process (``runtime.ready`` is False): every call goes through ``batcher`` to the workers."""

    def __init__(self, info: ModelVersionInfo, runtime: Runtime, batcher: Batcher) -> None:
        self.info = info
        self.runtime = runtime
        self.batcher = batcher
        self.inflight = 0
        self.retired = False
        self.drained = asyncio.Event()
        self.drained.set()
        self.device = "cpu"  # where the model runs (config.device resolved), see runtime/device.py

    @property
    def runner(self) -> Runner:
        return self.batcher.runner

    async def predict(self, inputs: TensorDict, deadline: float | None = None) -> TensorDict:
        """Queue ``inputs`` for a (possibly merged) model call; ``deadline`` is a monotonic time."""
        self.inflight += 1
        self.drained.clear()
        try:
            return await self.batcher.submit(inputs, deadline)
        finally:
            self.inflight -= 1
            if self.inflight == 0:
                self.drained.set()


def load_runtime(info: ModelVersionInfo, path: Path, allow_pickle: bool, *, load: bool = True,
                 allow_code: bool = False, options: dict[str, Any] | None = None) -> Runtime:
    """Verify the checksum, then load and warm up (unless workers will); runs in a thread."""
    actual = sha256_file(path)
    if actual != info.sha256:
        raise ArtifactIntegrityError(
            f"artifact of {info.name} v{info.version} fails its sha256 check; refusing to load"
        )
    options = {**(options or {}),
               **runtime_options(info.config, allow_pickle=allow_pickle, allow_code=allow_code)}
    runtime = runtime_class(info.flavor)(path, info.signature, options)
    if load:
        runtime.load()
        runtime.warmup()
    return runtime


def fetch_and_load(store: ArtifactStore, info: ModelVersionInfo, allow_pickle: bool, *,
                   load: bool = True, allow_code: bool = False,
                   options: dict[str, Any] | None = None) -> Runtime:
    """Get a local copy of the artifact and load it; a cached copy that fails its checksum is
    dropped and fetched once more (the original in the store decides). Runs in a thread."""
    try:
        return load_runtime(info, store.local_path(info.artifact_key), allow_pickle, load=load,
                            allow_code=allow_code, options=options)
    except ArtifactIntegrityError:
        if not store.evict(info.artifact_key):
            raise
        log.warning("cached artifact of %s v%s was corrupt; fetching it again", info.name, info.version)
        return load_runtime(info, store.local_path(info.artifact_key), allow_pickle, load=load,
                            allow_code=allow_code, options=options)


class ModelManager:
    def __init__(self, store: ArtifactStore, metrics: Metrics, *, threads: int = 2,
                 max_queue: int = 2048, max_loaded: int = 32, allow_pickle: bool = False,
                 max_batch_size: int = 64, max_latency_ms: float = 5.0, workers: int = 0,
                 extra_options: dict[str, Any] | None = None) -> None:
        self.store = store
        #: options every runtime gets (where archives unpack, their size cap; see runtime/archive.py)
        self.extra_options = extra_options or {}
        self.metrics = metrics
        self.max_queue = max_queue
        self.max_batch_size = max_batch_size
        self.max_latency_ms = max_latency_ms
        self.workers = workers
        self.max_loaded = max_loaded
        self.allow_pickle = allow_pickle
        self.allow_code = False  # bring your own model (#18): set from MODELPORT_ALLOW_CODE by bootstrap
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="model")
        self._loaded: OrderedDict[Key, LoadedModel] = OrderedDict()
        self._locks: dict[Key, asyncio.Lock] = {}
        self._closed = False

    def loaded(self) -> list[ModelVersionInfo]:
        return [m.info for m in self._loaded.values()]

    def is_loaded(self, key: Key) -> bool:
        return key in self._loaded

    def is_loading(self, key: Key) -> bool:
        """A load of this version is under way; a request for it waits for that load, not a second one."""
        lock = self._locks.get(key)
        return lock is not None and lock.locked()

    def loading(self) -> list[Key]:
        """The versions whose load is under way."""
        return [key for key, lock in self._locks.items() if lock.locked()]

    def device_of(self, key: Key) -> str | None:
        """The device a loaded version runs on (None when it is not loaded)."""
        model = self._loaded.get(key)
        return model.device if model is not None else None

    async def get(self, info: ModelVersionInfo) -> LoadedModel:
        key = info.key
        model = self._loaded.get(key)
        if model is not None and model.info.sha256 == info.sha256:
            self._loaded.move_to_end(key)
            return model
        return await self.load(info)

    async def load(self, info: ModelVersionInfo) -> LoadedModel:
        if self._closed:
            raise Unavailable("server is shutting down")
        key = info.key
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            model = self._loaded.get(key)
            if model is not None and model.info.sha256 == info.sha256:
                return model
            started = time.perf_counter()
            workers = info.config.workers if info.config.workers is not None else self.workers
            if info.config.workers is None and runtime_class(info.flavor).isolated:
                workers = max(workers, 1)  # user code runs in a worker process unless told otherwise
            try:
                runtime = await asyncio.get_running_loop().run_in_executor(
                    self.pool, functools.partial(fetch_and_load, self.store, info, self.allow_pickle,
                                                 load=workers == 0, allow_code=self.allow_code,
                                                 options=self.extra_options)
                )
                runner = await self._runner(info, runtime, workers)
            except ModelportError:
                log.error("loading %s v%s refused", info.name, info.version)
                raise
            elapsed = time.perf_counter() - started
            self.metrics.model_load_seconds.labels(info.name, str(info.version)).observe(elapsed)
            model = LoadedModel(info, runtime, Batcher(runner, self.batch_config(info, runtime),
                                                       model=info.name, metrics=self.metrics))
            model.device = runtime.placement() if runtime.ready else str(getattr(runner, "device", "cpu"))
            self.metrics.model_device.labels(info.name, str(info.version), model.device).set(1)
            self._loaded[key] = model
            self.metrics.models_loaded.set(len(self._loaded))
            log.info("loaded %s v%s (%s) in %.0f ms", info.name, info.version, info.flavor, elapsed * 1000)
        await self._evict()
        return model

    def batch_config(self, info: ModelVersionInfo, runtime: Runtime) -> BatchConfig:
        cfg = info.config
        return BatchConfig(
            max_batch_size=cfg.max_batch_size or self.max_batch_size,
            max_latency_ms=cfg.max_latency_ms if cfg.max_latency_ms is not None else self.max_latency_ms,
            max_queue=cfg.max_queue or self.max_queue,
            batchable=type(runtime).batchable,
        )

    async def _runner(self, info: ModelVersionInfo, runtime: Runtime, workers: int) -> Runner:
        if workers == 0:
            return ThreadRunner(runtime, self.pool)
        spec = WorkerSpec(
            target=FLAVORS[info.flavor], artifact=str(runtime.artifact),
            signature_json=info.signature.model_dump_json(), options=dict(runtime.options),
            label=f"{info.name}-v{info.version}",
            share=workers >= 2 and runtime_class(info.flavor).fork_safe,
        )
        runner = ProcessRunner(spec, workers)
        await runner.start()
        return runner

    async def _evict(self) -> None:
        while len(self._loaded) > self.max_loaded:
            key = next(iter(self._loaded))
            await self.unload(key)

    async def unload(self, key: Key, *, drain_timeout: float = 30.0) -> bool:
        """Unload a version once its in-flight requests finish; a load under way finishes first, so
        what it loads is unloaded rather than left loaded after the unload returned."""
        lock = self._locks.get(key)
        if lock is not None and lock.locked():
            async with lock:
                pass
        model = self._loaded.pop(key, None)
        self.metrics.models_loaded.set(len(self._loaded))
        if model is None:
            return False
        model.retired = True
        with contextlib.suppress(KeyError):
            self.metrics.model_device.remove(key[0], str(key[1]), model.device)
        try:
            await asyncio.wait_for(model.drained.wait(), drain_timeout)
        except TimeoutError:
            log.warning("unloading %s v%s with %d requests still running", *key, model.inflight)
        await model.batcher.close(grace=1.0)
        model.runtime.unload()
        log.info("unloaded %s v%s", *key)
        return True

    async def retire(self, key: Key) -> None:
        """Unload a version no alias uses any more, once its in-flight requests finish."""
        if key in self._loaded:
            asyncio.get_running_loop().create_task(self.unload(key))

    async def drain(self, wait_s: float) -> bool:
        """Wait (bounded) until every loaded version has no queued or running request."""
        models = list(self._loaded.values())
        results = await asyncio.gather(*(m.batcher.drain(wait_s) for m in models))
        return all(results)

    async def close(self, grace: float = 5.0) -> None:
        self._closed = True
        for key in list(self._loaded):
            await self.unload(key, drain_timeout=grace)
        self.pool.shutdown(wait=False, cancel_futures=True)
