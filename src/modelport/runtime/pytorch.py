"""PyTorch programs: ``torch.export`` archives (``.pt2``), and TorchScript (``.pt``) under pickle opt-in.

A ``.pt2`` file holds a graph and its weights, no Python code, so it loads by default.
TorchScript archives carry pickled objects and load only with ``MODELPORT_ALLOW_PICKLE=true``.
Inputs are passed positionally in the signature's order (cast to the program's dtypes);
outputs map onto the signature's outputs in order, and a single unnamed output is
``predictions``. The program runs on ``config.device`` (see :mod:`.device`). Torch comes from
the ``torch`` extra.
"""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from modelport.core.types import TensorDict
from modelport.errors import InvalidInput, UnsafeArtifact
from modelport.registry.manifest import DType, Signature, TensorSpec
from modelport.runtime.base import Runtime
from modelport.runtime.device import torch_device
from modelport.runtime.extras import require

_DTYPES: dict[str, DType] = {
    "torch.float32": "float32", "torch.float64": "float64", "torch.float16": "float16",
    "torch.int64": "int64", "torch.int32": "int32", "torch.int16": "int16", "torch.int8": "int8",
    "torch.uint8": "uint8", "torch.bool": "bool",
}


def is_torchscript(path: Path) -> bool:
    """TorchScript archives have ``code/`` and ``constants.pkl``; export archives ``archive_format``."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    return any(n.endswith("/constants.pkl") for n in names) and not any(n.endswith("/archive_format")
                                                                       for n in names)


def _spec(name: str, value: Any) -> TensorSpec:
    shape = [d if isinstance(d, int) else -1 for d in value.shape] or [-1]
    return TensorSpec(name=name, dtype=_DTYPES.get(str(value.dtype), "float32"), shape=shape)


class PyTorchRuntime(Runtime):
    flavor = "pytorch"
    suffixes = (".pt2", ".pt")

    def load(self) -> None:
        torch = require("torch")
        self.torch = torch
        self.device = torch_device(self.options.get("device"))
        self._in_specs: list[TensorSpec] = []
        self._out_specs: list[TensorSpec] = []
        if is_torchscript(self.artifact):
            if not self.options.get("allow_pickle", False):
                raise UnsafeArtifact(
                    "TorchScript archives carry pickled objects that can run code when loaded; "
                    "export a .pt2 with torch.export or set MODELPORT_ALLOW_PICKLE=true")
            with warnings.catch_warnings():  # TorchScript is deprecated upstream; still served here
                warnings.simplefilter("ignore", DeprecationWarning)
                self.module = torch.jit.load(str(self.artifact), map_location=self.device).eval()
        else:
            try:
                program = torch.export.load(str(self.artifact))
            except Exception as exc:
                raise InvalidInput(f"not a torch.export program (.pt2): {type(exc).__name__}") from exc
            if self.device != "cpu":
                program = torch.export.passes.move_to_device_pass(program, self.device)
            self._read_program_specs(program)
            self.module = program.module()
        self.ready = True

    def _read_program_specs(self, program: Any) -> None:
        user_inputs = set(program.graph_signature.user_inputs)
        for node in program.graph.nodes:
            if node.op == "placeholder" and node.name in user_inputs and node.meta.get("val") is not None:
                self._in_specs.append(_spec(node.name, node.meta["val"]))
            elif node.op == "output":
                values = [a.meta.get("val") for a in node.args[0] if hasattr(a, "meta")]
                if len(values) == 1 and values[0] is not None:
                    self._out_specs = [_spec("predictions", values[0])]
                else:
                    self._out_specs = [_spec(f"output_{i}", v) for i, v in enumerate(values) if v is not None]

    def _inputs(self, inputs: TensorDict) -> list[Any]:
        specs = self.signature.inputs if self.signature else self._in_specs
        if not specs:
            raise InvalidInput("a TorchScript model needs a signature at registration")
        torch = self.torch
        tensors = []
        for i, spec in enumerate(specs):
            arr = inputs[spec.name] if spec.name in inputs else list(inputs.values())[i]
            want = self._in_specs[i].dtype if i < len(self._in_specs) else spec.dtype
            tensors.append(torch.from_numpy(np.ascontiguousarray(arr, dtype=want)).to(self.device))
        return tensors

    def predict(self, inputs: TensorDict) -> TensorDict:
        with self.torch.inference_mode():
            result = self.module(*self._inputs(inputs))
        values = list(result) if isinstance(result, (tuple, list)) else [result]
        names = [o.name for o in self.signature.outputs] if self.signature and self.signature.outputs else []
        if len(names) != len(values):
            names = ["predictions"] if len(values) == 1 else [f"output_{i}" for i in range(len(values))]
        return {name: value.detach().cpu().numpy() for name, value in zip(names, values, strict=True)}

    def infer_signature(self) -> Signature:
        if not self._in_specs:
            raise InvalidInput("a TorchScript model needs a signature at registration")
        return Signature(inputs=self._in_specs, outputs=self._out_specs)

    def placement(self) -> str:
        return getattr(self, "device", "cpu")
