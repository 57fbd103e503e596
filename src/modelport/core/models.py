"""Model management shared by the API and the CLI: register, alias, delete.

Registration validates the artifact by loading it before anything is stored, so a broken or
unsafe file never becomes a version. Moving an alias loads and warms the target first, then
flips the alias, then retires the old version once it drains: no request fails in a swap.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, BinaryIO

from modelport.errors import InvalidInput, UnsafeArtifact
from modelport.registry.manifest import ModelVersionInfo, ServingConfig, Signature
from modelport.registry.registry import ModelRegistry, check_name
from modelport.registry.store import copy_hashing, file_digest
from modelport.runtime.archive import pack_directory
from modelport.runtime.base import Runtime
from modelport.runtime.isolation import inspect_isolated
from modelport.runtime.manager import ModelManager
from modelport.runtime.options import check_code_allowed, runtime_options
from modelport.runtime.registry import FLAVORS, runtime_class
from modelport.runtime.sklearn import is_skops_file
from modelport.security import model_access

PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")


def _inspect(flavor: str, path: Path, signature: Signature | None, options: dict[str, Any]) -> Signature:
    """Load the artifact once (in a thread) to prove it works and read its signature."""
    runtime: Runtime = runtime_class(flavor)(path, signature, options)
    try:
        runtime.load()
    except (InvalidInput, UnsafeArtifact):
        raise
    except Exception as exc:
        raise InvalidInput(f"artifact could not be loaded as {flavor}: {type(exc).__name__}") from exc
    try:
        inferred = runtime.infer_signature()
        final = signature or inferred
        runtime.signature = final
        runtime.warmup()
    except Exception as exc:
        raise InvalidInput(
            f"model does not run on inputs of its signature: {type(exc).__name__}"
        ) from exc
    finally:
        runtime.unload()
    return final


class ModelService:
    def __init__(self, registry: ModelRegistry, manager: ModelManager, *, tmp_dir: Path,
                 allow_pickle: bool = False, max_upload_bytes: int | None = None) -> None:
        self.registry = registry
        self.manager = manager
        self.tmp_dir = tmp_dir
        self.allow_pickle = allow_pickle
        self.max_upload_bytes = max_upload_bytes
        self.allow_code = False  # bring your own model (#18): set from MODELPORT_ALLOW_CODE by bootstrap
        #: webhook events (#20): set by the composition root
        self.emit: Callable[[str, dict[str, Any]], Awaitable[object]] | None = None
        #: aliases given at registration go through the traffic service (history), when set
        self.alias_setter: Callable[[str, str, int], Awaitable[object]] | None = None
        #: refuses to delete a version a traffic policy still routes to, when set
        self.before_delete: Callable[[str, int], Awaitable[None]] | None = None

    async def register_stream(self, name: str, flavor: str, stream: BinaryIO, filename: str,
                              **kwargs: object) -> ModelVersionInfo:
        check_name(name)
        model_access.check_writable(name)  # before the upload is spooled
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.tmp_dir) as tmp:
            path = Path(tmp) / "upload"
            with path.open("wb") as out:
                await asyncio.to_thread(copy_hashing, stream, out, self.max_upload_bytes)
            return await self.register_file(name, flavor, path, filename=filename, **kwargs)  # type: ignore[arg-type]

    async def register_file(
        self, name: str, flavor: str, path: Path, *, filename: str | None = None,
        signature: Signature | None = None, description: str = "",
        tags: dict[str, str] | None = None, metrics: dict[str, float] | None = None,
        config: ServingConfig | None = None, aliases: list[str] | None = None,
        job_id: str | None = None, admin: bool = True,
    ) -> ModelVersionInfo:
        check_name(name)
        model_access.check_writable(name)  # before the artifact is loaded
        cls = runtime_class(flavor)
        check_code_allowed(cls, allow_code=self.allow_code, admin=admin)  # bring your own model (#18)
        if await asyncio.to_thread(path.is_dir):
            if not cls.accepts_directory:
                raise InvalidInput(f"flavor {flavor!r} takes a single file, not a directory")
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=self.tmp_dir) as tmp:
                packed = await asyncio.to_thread(pack_directory, path, Path(tmp) / "model.zip")
                return await self.register_file(
                    name, flavor, packed, filename="model.zip", signature=signature,
                    description=description, tags=tags, metrics=metrics, config=config,
                    aliases=aliases, job_id=job_id, admin=admin,
                )
        fname = (filename or path.name).lower()
        suffix = next((s for s in cls.suffixes if fname.endswith(s)), Path(fname).suffix)
        if cls.suffixes and suffix not in cls.suffixes:
            suffix = cls.suffixes[0]
        if flavor == "sklearn":
            if is_skops_file(path):
                suffix = ".skops"
            elif not self.allow_pickle:
                raise UnsafeArtifact(
                    "pickle/joblib artifacts can run code when loaded; upload a .skops file or "
                    "set MODELPORT_ALLOW_PICKLE=true"
                )
            elif suffix not in PICKLE_SUFFIXES:
                suffix = ".joblib"
        sha256, size = await asyncio.to_thread(file_digest, path)
        options = {**self.manager.extra_options,
                   **runtime_options(config, allow_pickle=self.allow_pickle, allow_code=self.allow_code)}
        if cls.isolated:  # user code: checked in a child process (bring your own model, #18)
            final_signature = await asyncio.to_thread(inspect_isolated, FLAVORS[flavor], path, signature,
                                                      options)
        else:
            final_signature = await asyncio.to_thread(_inspect, flavor, path, signature, options)
        info = await self.registry.add_version(
            name, flavor, path, suffix, sha256, size, final_signature, description=description,
            tags=tags, metrics=metrics, config=config, job_id=job_id,
        )
        if self.emit is not None:
            await self.emit("model.version.registered", {"model": name, "version": info.version,
                                                         "flavor": flavor, "sha256": sha256})
        for alias in aliases or []:
            await (self.alias_setter or self.set_alias)(name, alias, info.version)
        return info

    async def set_alias(self, name: str, alias: str, version: int) -> ModelVersionInfo:
        info = await self.registry.get_version(name, version)
        await self.manager.get(info)  # warm the target before any request can reach it
        previous = await self.registry.set_alias(name, alias, version)
        if previous is not None and previous != version:
            await self._retire_if_unused(name, previous)
        return info

    async def delete_alias(self, name: str, alias: str) -> None:
        info = await self.registry.resolve(name, alias)
        await self.registry.delete_alias(name, alias)
        await self._retire_if_unused(name, info.version)

    async def delete_version(self, name: str, version: int) -> None:
        if self.before_delete is not None:
            await self.before_delete(name, version)
        await self.registry.delete_version(name, version)
        await self.manager.unload((name, version))

    async def _retire_if_unused(self, name: str, version: int) -> None:
        if version not in await self.registry.versions_referenced(name):
            await self.manager.retire((name, version))
