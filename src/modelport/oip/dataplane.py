"""What the REST and gRPC OIP edges share besides inference: server and model metadata,
readiness, and the model repository extension.

Both edges call these and only differ in encoding, so ``GET /v2/models/iris`` and gRPC
``ModelMetadata`` cannot disagree. Inference itself goes straight to ``InferenceService``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from modelport import __version__
from modelport.bootstrap import Services
from modelport.oip.codec import SIGNATURE_DATATYPES
from modelport.registry.manifest import ModelVersionInfo, TensorSpec

SERVER_NAME = "modelport"
EXTENSIONS = ("binary_tensor_data", "model_repository")
#: flavor -> OIP platform string (Triton's names where one exists)
PLATFORMS = {"onnx": "onnxruntime_onnx"}


@dataclass(frozen=True)
class TensorMetadata:
    name: str
    datatype: str
    shape: list[int]

    @classmethod
    def of(cls, spec: TensorSpec) -> TensorMetadata:
        return cls(name=spec.name, datatype=SIGNATURE_DATATYPES[spec.dtype], shape=list(spec.shape))


@dataclass(frozen=True)
class ModelMetadata:
    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata] = field(default_factory=list)
    outputs: list[TensorMetadata] = field(default_factory=list)


@dataclass(frozen=True)
class IndexEntry:
    name: str
    version: str
    state: str  # READY | UNAVAILABLE
    reason: str = ""


def server_metadata() -> tuple[str, str, tuple[str, ...]]:
    return SERVER_NAME, __version__, EXTENSIONS


def server_ready(services: Services) -> bool:
    return services.state.ready


async def model_metadata(services: Services, name: str, version: str | None) -> ModelMetadata:
    """Metadata of the version ``version`` resolves to (a number, an alias or the default)."""
    info = await services.inference.resolve(name, version or None)
    model = await services.registry.get_model(name)
    return ModelMetadata(
        name=info.name,
        versions=[str(v.version) for v in model.versions],
        platform=PLATFORMS.get(info.flavor, info.flavor),
        inputs=[TensorMetadata.of(s) for s in info.signature.inputs],
        outputs=[TensorMetadata.of(s) for s in info.signature.outputs],
    )


async def model_ready(services: Services, name: str, version: str | None) -> bool:
    """Ready means loaded in this process (not while its load, the background preload's or a
    request's, is still running); unknown models raise NotFound."""
    info = await services.inference.resolve(name, version or None)
    return services.state.ready and services.manager.is_loaded(info.key)


async def repository_index(services: Services, *, ready_only: bool = False) -> list[IndexEntry]:
    entries = []
    for model in await services.registry.list_models():
        for v in model.versions:
            loaded = services.manager.is_loaded(v.key)
            if ready_only and not loaded:
                continue
            reason = "" if loaded else "loading" if services.manager.is_loading(v.key) else "unloaded"
            entries.append(IndexEntry(name=v.name, version=str(v.version),
                                      state="READY" if loaded else "UNAVAILABLE", reason=reason))
    return entries


async def load_model(services: Services, name: str, version: str | None = None) -> ModelVersionInfo:
    """Load (and warm) the version the name resolves to; a no-op when it is already loaded."""
    info = await services.inference.resolve(name, version)
    await services.manager.get(info)
    return info


async def unload_model(services: Services, name: str) -> list[int]:
    """Unload every loaded version of ``name`` once in-flight requests drain, and every version
    still loading once its load ends (the background preload, or a request's).

    A later inference request loads the model again on demand; unloading frees memory, it does
    not disable the model.
    """
    await services.registry.get_model(name)  # NotFound for unknown names
    keys = [info.key for info in services.manager.loaded() if info.name == name]
    keys += [key for key in services.manager.loading() if key[0] == name and key not in keys]
    for key in keys:
        await services.manager.unload(key)
    return [version for _, version in keys]
