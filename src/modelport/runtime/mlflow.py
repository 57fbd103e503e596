"""MLflow model directories (``MLmodel`` + files), served through the matching modelport runtime.

Why: teams keep models in MLflow; serving one should not need ``mlflow`` or a custom image. The
``MLmodel`` file says which flavor saved the model and where its file is; this runtime maps that
onto modelport's own runtime (sklearn, xgboost, lightgbm, onnx, pytorch, transformers,
sentence-transformers, or ``python_function`` whose ``loader_module`` is one of those) and
delegates to it, so every policy (skops, pickle opt-in, devices) applies unchanged.

Signature: MLflow tensor schemas map one-to-one (an unnamed single input is ``input``; for an ONNX
graph, whose inputs are fed by name, MLflow names that differ from the graph's are replaced by the
graph's, by position). A column schema becomes ONE tensor ``input`` of shape ``[-1, n_columns]``
in the schema's column order, not one tensor per column: the models behind it (trees, linear
models, boosters) take one feature matrix, and ``/api/v1`` rows map onto it directly. Only
numeric/boolean columns can be packed so; a schema with string or binary columns is refused.
Outputs are the delegate runtime's (e.g. a classifier also answers ``probabilities``). Text models
(transformers, sentence-transformers) keep their runtime's own signature (``text`` or
``messages`` in): MLflow describes their pipeline's columns (a string in; ``label``/``score``
out), not tensors, and every text edge (embed, classify, chat) speaks the runtime's names. MLflow
saves a transformers model's tokenizer apart from its weights (``components/tokenizer``); the
runtime is told where it is. ``requirements.txt`` is checked by package name: missing packages
are a 400, other versions are logged, not enforced; ``mlflow`` itself is not needed.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast, get_args

from modelport.core.types import TensorDict
from modelport.errors import InvalidInput, UnsafeArtifact
from modelport.registry.manifest import DType, Signature, TensorSpec
from modelport.runtime.archive import MAX_UNPACKED_BYTES, check_weights_safe, unpack
from modelport.runtime.base import Runtime
from modelport.runtime.extras import require
from modelport.runtime.requirements import check_requirements, refuse_missing

if TYPE_CHECKING:
    from modelport.core.models import ModelService
    from modelport.registry.manifest import ModelVersionInfo

log = logging.getLogger(__name__)

#: MLflow flavor key -> modelport flavor, in order of preference
NATIVE_FLAVORS = {
    "sklearn": "sklearn", "xgboost": "xgboost", "lightgbm": "lightgbm", "onnx": "onnx",
    "pytorch": "pytorch", "transformers": "transformers", "sentence_transformers": "sentence-transformers",
}
LOADER_MODULES = {f"mlflow.{key}": flavor for key, flavor in NATIVE_FLAVORS.items()}
_COLUMN_TYPES: dict[str, DType] = {"double": "float64", "float": "float32", "long": "int64",
                                   "integer": "int32", "boolean": "bool"}
_NOT_NEEDED = frozenset({"mlflow", "mlflow-skinny"})
#: delegates whose MLflow schema describes pipeline columns, not tensors (see the module docstring)
TEXT_FLAVORS = frozenset({"transformers", "sentence-transformers"})
#: MLflow transformers tasks -> the transformers runtime's task (the rest are not served)
TRANSFORMERS_TASKS = {
    "text-classification": "text-classification", "sentiment-analysis": "text-classification",
    "token-classification": "token-classification", "ner": "token-classification",
    "text-generation": "text-generation",
}


def read_mlmodel(root: Path) -> dict[str, Any]:
    path = root / "MLmodel"
    if not path.is_file():
        raise InvalidInput("not an MLflow model: no MLmodel file at the root or under one top folder")
    try:
        data = require("yaml").safe_load(path.read_text(encoding="utf-8"))
    except InvalidInput:
        raise
    except Exception as exc:
        raise InvalidInput(f"MLmodel is not valid YAML: {type(exc).__name__}") from None
    if not isinstance(data, dict) or not isinstance(data.get("flavors"), dict):
        raise InvalidInput("MLmodel has no flavors section")
    return data


def _file(root: Path, relative: Any) -> Path:
    if not isinstance(relative, str) or not relative:
        raise InvalidInput("MLmodel does not say where the model's file is")
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()) or not path.exists():
        raise InvalidInput(f"MLmodel names {relative[:100]!r}, which is not in the model directory")
    return path


def choose_delegate(root: Path, mlmodel: dict[str, Any]) -> tuple[str, Path]:
    """The modelport flavor and the file or directory it loads, from the MLmodel's flavors."""
    flavors: dict[str, Any] = mlmodel["flavors"]
    key = next((k for k in NATIVE_FLAVORS if k in flavors), None)
    conf: dict[str, Any] = flavors.get(key, {}) if key else {}
    if key is None:
        pyfunc = flavors.get("python_function") or {}
        loader = pyfunc.get("loader_module")
        if loader not in LOADER_MODULES:
            names = ", ".join(sorted(str(k) for k in flavors)) or "none"
            detail = f" (python_function loader {loader})" if loader else ""
            raise InvalidInput(
                f"unsupported MLflow model flavor: {names}{detail}; modelport serves "
                f"{', '.join(NATIVE_FLAVORS)} and python_function models loaded by one of them"
            )
        key = str(loader).removeprefix("mlflow.")
        conf = {"data": pyfunc.get("model_path") or pyfunc.get("data")}
    flavor = NATIVE_FLAVORS[key]
    if key == "sklearn":
        return flavor, _file(root, conf.get("pickled_model") or conf.get("data"))
    if key == "pytorch":
        base = _file(root, conf.get("model_data") or conf.get("data") or ".")
        programs = sorted(base.rglob("*.pt2")) if base.is_dir() else [base]
        if not programs or programs[0].suffix != ".pt2":
            raise UnsafeArtifact("this MLflow pytorch model is a pickled module, which modelport does not "
                                 "load; save the network with torch.export (.pt2) instead")
        return flavor, programs[0]
    if key == "lightgbm" and str(conf.get("data", "")).endswith((".skops", ".pkl")):
        raise InvalidInput("MLflow lightgbm models saved from the scikit-learn API are not served; "
                           "log the booster (model.booster_) instead")
    if key == "transformers":
        if not conf.get("model_binary"):
            hub = str(conf.get("source_model_name"))[:100]
            raise InvalidInput(f"this MLflow transformers model was saved with save_pretrained=False: it "
                               f"names the hub model {hub!r} instead of holding its weights, and modelport "
                               "never downloads; save it with save_pretrained=True")
        return flavor, _file(root, conf["model_binary"])
    if key == "sentence_transformers":  # the flavor's own section does not say; python_function does
        pyfunc = flavors.get("python_function") or {}
        return flavor, _file(root, conf.get("data") or pyfunc.get("data") or "model.sentence_transformer")
    return flavor, _file(root, conf.get("data"))


def delegate_options(root: Path, mlmodel: dict[str, Any]) -> dict[str, Any]:
    """What the transformers runtime must be told that a plain model directory would hold itself:
    where MLflow put the tokenizer, and the task MLflow recorded."""
    conf = mlmodel["flavors"].get("transformers")
    if not isinstance(conf, dict):
        return {}
    options: dict[str, Any] = {}
    if "tokenizer" in (conf.get("components") or []):
        options["tokenizer_dir"] = str(_file(root, "components/tokenizer"))
    task = conf.get("task")
    if task:
        if task not in TRANSFORMERS_TASKS:
            raise InvalidInput(f"MLflow transformers task {str(task)[:60]!r} is not served; modelport serves "
                               f"{', '.join(sorted(set(TRANSFORMERS_TASKS.values())))}")
        options["task"] = TRANSFORMERS_TASKS[task]
    return options


def _tensor_spec(entry: dict[str, Any], index: int, count: int) -> TensorSpec:
    spec = entry.get("tensor-spec") or {}
    dtype = str(spec.get("dtype", "float64"))
    if dtype not in get_args(DType):
        raise InvalidInput(f"MLflow tensor dtype {dtype!r} is not supported")
    shape = [int(d) if int(d) > 0 else -1 for d in spec.get("shape") or [-1]]
    default = "input" if count == 1 else f"input_{index}"
    return TensorSpec(name=str(entry.get("name") or default), dtype=cast(DType, dtype), shape=shape or [-1])


def signature_inputs(mlmodel: dict[str, Any]) -> list[TensorSpec] | None:
    """The inputs of the MLmodel's signature (see the module docstring for column schemas)."""
    raw = (mlmodel.get("signature") or {}).get("inputs")
    if not raw:
        return None
    entries = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(entries, list) or not entries:
        return None
    if all(e.get("type") == "tensor" for e in entries):
        return [_tensor_spec(e, i, len(entries)) for i, e in enumerate(entries)]
    kinds = [str(e.get("type")) for e in entries]
    unsupported = sorted({k for k in kinds if k not in _COLUMN_TYPES})
    if unsupported:
        raise InvalidInput(f"MLflow column types {', '.join(unsupported)} cannot be packed into one numeric "
                           "tensor; give a tensor signature at registration")
    dtypes = {_COLUMN_TYPES[k] for k in kinds}
    dtype: DType = dtypes.pop() if len(dtypes) == 1 else "float64"
    return [TensorSpec(name="input", dtype=dtype, shape=[-1, len(entries)])]


class MlflowRuntime(Runtime):
    flavor = "mlflow"
    suffixes = (".zip", ".tar.gz", ".tgz")
    accepts_directory = True

    def load(self) -> None:
        from modelport.runtime.registry import runtime_class

        cache = self.options.get("cache_dir")  # this server's unpack directory and size cap
        self.root = unpack(self.artifact, Path(cache) if cache else None,
                           max_bytes=int(self.options.get("max_unpacked_bytes", MAX_UNPACKED_BYTES)))
        mlmodel = read_mlmodel(self.root)
        if (self.root / "requirements.txt").is_file():
            report = check_requirements(self.root / "requirements.txt", ignore=_NOT_NEEDED)
            refuse_missing(report, enforce_versions=False)
            if report.mismatched:
                log.warning("MLflow model %s asks for other versions: %s", self.root.name,
                            "; ".join(report.mismatched))
        self.delegate_flavor, target = choose_delegate(self.root, mlmodel)
        extra = delegate_options(self.root, mlmodel)
        if "tokenizer_dir" in extra:
            check_weights_safe(Path(extra["tokenizer_dir"]), bool(self.options.get("allow_pickle", False)))
        self.mlflow_inputs = None if self.delegate_flavor in TEXT_FLAVORS else signature_inputs(mlmodel)
        signature = self.signature
        if signature is None and self.mlflow_inputs is not None:
            signature = Signature(inputs=self.mlflow_inputs)
        self.inner = runtime_class(self.delegate_flavor)(target, signature, {**self.options, **extra})
        self.inner.load()
        if self.delegate_flavor == "onnx" and self.mlflow_inputs is not None:
            self.mlflow_inputs = _graph_names(self.mlflow_inputs, self.inner.infer_signature().inputs)
            if self.signature is None:
                self.inner.signature = Signature(inputs=self.mlflow_inputs)
        self.ready = True

    def predict(self, inputs: TensorDict) -> TensorDict:
        return self.inner.predict(inputs)

    def warmup(self) -> None:
        """The delegate warms itself (text models know what a harmless input is; zeros are not)."""
        if self.signature is not None:
            self.inner.signature = self.signature
        self.inner.warmup()

    def stream(self, inputs: TensorDict, parameters: dict[str, Any]) -> Iterator[str]:
        return self.inner.stream(inputs, parameters)

    def unload(self) -> None:
        super().unload()
        if getattr(self, "inner", None) is not None:
            self.inner.unload()

    def infer_signature(self) -> Signature:
        inner = self.inner.infer_signature()
        if self.mlflow_inputs is None:
            return inner
        return Signature(inputs=self.mlflow_inputs, outputs=inner.outputs)

    def placement(self) -> str:
        return self.inner.placement() if getattr(self, "inner", None) is not None else "cpu"


def _graph_names(specs: list[TensorSpec], graph: list[TensorSpec]) -> list[TensorSpec]:
    """MLflow's input specs named as the ONNX graph names its inputs, by position."""
    if len(specs) != len(graph) or [s.name for s in specs] == [g.name for g in graph]:
        return specs
    return [spec.model_copy(update={"name": g.name}) for spec, g in zip(specs, graph, strict=True)]


def default_name(root: Path) -> str:
    """The model name a directory imports as: its name, with characters a name cannot hold as ``-``."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", root.resolve().name).strip(".-") or "mlflow-model"


async def import_mlflow(models: ModelService, directory: Path, *, name: str | None = None,
                        description: str = "", aliases: list[str] | None = None) -> ModelVersionInfo:
    """``modelport models import-mlflow DIR``: register a local MLflow model directory as a version.

    The name defaults to the directory's name (characters a model name cannot hold become ``-``).
    """
    root = unpack(directory)
    read_mlmodel(root)  # a clear error before anything is packed
    model_name = name or default_name(root)
    return await models.register_file(model_name, "mlflow", root, description=description,
                                      aliases=aliases or [])
