"""ONNX models through ONNX Runtime (CPU; CUDA with onnxruntime-gpu). ONNX files hold no code."""

from __future__ import annotations

from typing import Any

import numpy as np

from modelport.core.types import TensorDict
from modelport.registry.manifest import Signature, TensorSpec
from modelport.runtime.base import Runtime
from modelport.runtime.device import onnx_providers

_ORT_TYPES = {
    "tensor(float)": "float32", "tensor(double)": "float64", "tensor(float16)": "float16",
    "tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(int16)": "int16",
    "tensor(int8)": "int8", "tensor(uint8)": "uint8", "tensor(uint16)": "uint16",
    "tensor(uint32)": "uint32", "tensor(uint64)": "uint64", "tensor(bool)": "bool",
    "tensor(string)": "str",
}


def _shape(dims: list[Any]) -> list[int]:
    shape = [d if isinstance(d, int) and d > 0 else -1 for d in dims]
    return shape or [-1]


class OnnxRuntime(Runtime):
    flavor = "onnx"
    suffixes = (".onnx",)

    def load(self) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(self.options.get("intra_op_threads", 1))
        opts.inter_op_num_threads = 1
        providers, self.device = onnx_providers(self.options.get("device"))  # config.device (#18)
        self.session = ort.InferenceSession(str(self.artifact), sess_options=opts, providers=providers)
        self._inputs = {i.name: _ORT_TYPES.get(i.type, "float32") for i in self.session.get_inputs()}
        self._outputs = [o.name for o in self.session.get_outputs()]
        self.ready = True

    def predict(self, inputs: TensorDict) -> TensorDict:
        feed = {}
        for name, dtype in self._inputs.items():
            arr = inputs[name]
            feed[name] = arr.astype(dtype, copy=False) if dtype != "str" else arr.astype(object)
        results = self.session.run(self._outputs, feed)
        out: TensorDict = {}
        for name, value in zip(self._outputs, results, strict=True):
            if isinstance(value, list) and value and isinstance(value[0], dict):
                # skl2onnx ZipMap output: a list of {class: probability}
                keys = list(value[0].keys())
                value = np.array([[row[k] for k in keys] for row in value], dtype=np.float64)
            out[name] = np.asarray(value)
        return out

    def placement(self) -> str:
        return str(getattr(self, "device", "cpu"))

    def infer_signature(self) -> Signature:
        inputs = [
            TensorSpec(name=i.name, dtype=_ORT_TYPES.get(i.type, "float32"), shape=_shape(i.shape))
            for i in self.session.get_inputs()
        ]
        outputs = []
        for o in self.session.get_outputs():
            dtype = _ORT_TYPES.get(o.type, "float64")
            shape = _shape(getattr(o, "shape", None) or [-1])
            outputs.append(TensorSpec(name=o.name, dtype=dtype, shape=shape))
        return Signature(inputs=inputs, outputs=outputs)
