"""``python`` models: a directory with ``model.py`` defining ``class Model`` (see :mod:`.pymodel`).

The artifact is the directory packed as a zip (or an uploaded ``.zip``/``.tar.gz`` with the
files at its root or under one top folder). Loading it runs the user's code, so the runtime
refuses unless the server allows code (``MODELPORT_ALLOW_CODE``), checks ``requirements.txt``
first, and is ``isolated``: it is inspected in a child process at registration and served from
worker processes by default. The signature comes from the registration or ``signature.json``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from modelport.core.types import TensorDict
from modelport.errors import InvalidInput, UnsafeArtifact
from modelport.registry.manifest import Signature
from modelport.runtime.archive import unpack
from modelport.runtime.base import Runtime
from modelport.runtime.device import torch_device
from modelport.runtime.requirements import check_requirements, refuse_missing

ALLOW_CODE_HINT = "set MODELPORT_ALLOW_CODE=true on the server (and register with an admin key)"


def model_root(artifact: Path) -> Path:
    """The unpacked directory holding ``model.py`` (an archive is unpacked once, by sha256)."""
    root = unpack(artifact)
    if not (root / "model.py").is_file():
        raise InvalidInput("a python model needs model.py at the archive root or under one top folder")
    return root


def read_signature_file(root: Path) -> Signature | None:
    path = root / "signature.json"
    if not path.is_file():
        return None
    try:
        return Signature.model_validate_json(path.read_bytes())
    except ValueError as exc:
        raise InvalidInput(f"signature.json is not a valid signature: {str(exc)[:300]}") from None


class PythonRuntime(Runtime):
    flavor = "python"
    suffixes = (".zip", ".tar.gz", ".tgz")
    accepts_directory = True
    runs_code = True
    isolated = True

    def load(self) -> None:
        if not self.options.get("allow_code", False):
            raise UnsafeArtifact(f"python models run their own code; {ALLOW_CODE_HINT}")
        self.root = model_root(self.artifact)
        if (self.root / "requirements.txt").is_file():
            refuse_missing(check_requirements(self.root / "requirements.txt"), enforce_versions=True)
        self.signature = self.signature or read_signature_file(self.root)
        module_name = "modelport_user_" + hashlib.sha256(str(self.root).encode()).hexdigest()[:16]
        spec = importlib.util.spec_from_file_location(module_name, self.root / "model.py")
        if spec is None or spec.loader is None:
            raise InvalidInput("model.py cannot be imported")
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(self.root))  # model.py may import its sibling modules
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        model_cls = getattr(module, "Model", None)
        if not isinstance(model_cls, type) or not callable(getattr(model_cls, "predict", None)):
            raise InvalidInput("model.py must define a class Model with a predict(inputs) method")
        self.model: Any = model_cls()
        self.device = self._device()
        self.model.device = self.device
        if callable(getattr(self.model, "load", None)):
            self.model.load(self.root)
        self.ready = True

    def _device(self) -> str:
        """``config.device`` for the model to use if it wants: ``auto`` is a GPU only when torch sees one."""
        requested = str(self.options.get("device") or "auto")
        try:
            return torch_device(requested)
        except InvalidInput:
            if requested == "auto":  # no torch here: the model runs on the CPU
                return "cpu"
            raise

    def placement(self) -> str:
        return str(getattr(self, "device", "cpu"))

    def predict(self, inputs: TensorDict) -> TensorDict:
        outputs = self.model.predict(inputs)
        if not isinstance(outputs, dict) or not outputs:
            raise TypeError("Model.predict must return a non-empty dict of arrays")
        return {str(k): np.asarray(v) for k, v in outputs.items()}

    def stream(self, inputs: TensorDict, parameters: dict[str, Any]) -> Iterator[str]:
        if not callable(getattr(self.model, "stream", None)):
            raise NotImplementedError("this python model does not stream")
        for piece in self.model.stream(inputs, parameters):
            yield str(piece)

    def unload(self) -> None:
        super().unload()
        if getattr(self, "root", None) is not None and str(self.root) in sys.path:
            sys.path.remove(str(self.root))

    def infer_signature(self) -> Signature:
        if self.signature is None:
            raise InvalidInput("a python model needs a signature: the `signature` field or a signature.json")
        return self.signature
