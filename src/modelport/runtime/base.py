"""The runtime contract: how modelport loads and calls a model of one flavor.

A new flavor is one module with a :class:`Runtime` subclass registered in
:mod:`modelport.runtime.registry`. Runtimes are synchronous on purpose: the manager calls
them from worker threads (or processes), never on the event loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from modelport.core.types import TensorDict
from modelport.registry.manifest import Signature


class Runtime(ABC):
    """A loaded model of one flavor.

    ``predict`` receives a batch: every input has the batch as its first dimension, and every
    output it returns must too (row ``i`` of each output belongs to row ``i`` of the inputs),
    so the batcher can split a merged call back into its requests.
    """

    flavor: ClassVar[str]
    #: whether ``predict`` may be called with rows merged from several requests
    batchable: ClassVar[bool] = True
    #: file suffixes the runtime can load; a registration with another one is refused
    suffixes: ClassVar[tuple[str, ...]] = ()
    #: whether a model directory may be registered (packed into a zip artifact, see runtime/archive.py)
    accepts_directory: ClassVar[bool] = False
    # --- bring your own model (#18)
    #: the artifact is code: registering it needs the admin scope and MODELPORT_ALLOW_CODE=true
    runs_code: ClassVar[bool] = False
    #: registration checks run in a child process and serving defaults to one worker process,
    #: so a crash, hang or leak in the model's code cannot take the server down
    isolated: ClassVar[bool] = False
    #: worker processes may be forked from one loaded copy (no threads of its own at that point)
    fork_safe: ClassVar[bool] = False

    def __init__(self, artifact: Path, signature: Signature | None = None,
                 options: dict[str, Any] | None = None) -> None:
        self.artifact = artifact
        self.signature = signature
        self.options = options or {}
        self.ready = False

    @abstractmethod
    def load(self) -> None:
        """Read the artifact; after this ``predict`` may be called from any thread."""

    @abstractmethod
    def predict(self, inputs: TensorDict) -> TensorDict:
        """Run the model on one batch."""

    def stream(self, inputs: TensorDict, parameters: dict[str, Any]) -> Iterator[str]:
        """Yield pieces of output as they are produced (chat models only)."""
        raise NotImplementedError(f"{self.flavor} models do not stream")

    def unload(self) -> None:
        self.ready = False

    def placement(self) -> str:
        """The device the loaded model runs on (``cpu``, ``cuda:0``); GPU-capable runtimes override it."""
        return "cpu"

    @abstractmethod
    def infer_signature(self) -> Signature:
        """The signature read from the loaded model, used when registration gives none."""

    def warmup(self) -> None:
        """Run one call on zero-filled inputs so the first request is not the slow one."""
        if self.signature is None:
            return
        from modelport.runtime.warmup import zero_inputs

        self.predict(zero_inputs(self.signature))
