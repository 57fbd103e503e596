"""Flavor name -> runtime class. Heavy flavors are imported only when first used."""

from __future__ import annotations

import importlib

from modelport.errors import InvalidInput
from modelport.runtime.base import Runtime

#: flavor -> "module:Class"; a new flavor is one line here and one module
FLAVORS: dict[str, str] = {
    "sklearn": "modelport.runtime.sklearn:SklearnRuntime",
    "onnx": "modelport.runtime.onnx:OnnxRuntime",
    "sentence-transformers": "modelport.runtime.sentence_transformers:SentenceTransformersRuntime",
    "transformers": "modelport.runtime.transformers:TransformersRuntime",
    # --- bring your own model (#18)
    "xgboost": "modelport.runtime.xgboost:XGBoostRuntime",
    "lightgbm": "modelport.runtime.lightgbm:LightGBMRuntime",
    "pytorch": "modelport.runtime.pytorch:PyTorchRuntime",
    "python": "modelport.runtime.python:PythonRuntime",
    "mlflow": "modelport.runtime.mlflow:MlflowRuntime",
}


def runtime_class(flavor: str) -> type[Runtime]:
    target = FLAVORS.get(flavor)
    if target is None:
        raise InvalidInput(f"unknown flavor {flavor!r}; known: {', '.join(sorted(FLAVORS))}")
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:  # an optional extra is not installed
        from modelport.runtime.extras import missing_extra

        raise missing_extra(exc.name or module_name) from exc
    cls: type[Runtime] = getattr(module, attr)
    return cls
