"""Registry management: list, show, upload, alias, delete."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, File, Form, Response, UploadFile, status
from pydantic import ValidationError

from modelport.api.deps import ReadDep, ServicesDep, WriteDep
from modelport.api.schemas import ModelDetail, ModelSummary, VersionOut
from modelport.errors import InvalidInput
from modelport.registry.manifest import ServingConfig, Signature

router = APIRouter(prefix="/api/v1/models", tags=["models"])
# Uploads get their own router so the app can give them the larger MODELPORT_MAX_UPLOAD_BYTES limit.
upload_router = APIRouter(prefix="/api/v1/models", tags=["models"])


def _json_field(raw: str | None, field: str) -> object:
    if raw is None or raw == "":
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidInput(f"{field} must be a JSON document") from None


def _parse(model: type[Signature] | type[ServingConfig], raw: str | None, field: str):  # type: ignore[no-untyped-def]
    data = _json_field(raw, field)
    if data is None:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"{field}.{loc}: {first['msg']}") from None


@router.get("", response_model=list[ModelSummary], summary="List models")
async def list_models(services: ServicesDep, _p: ReadDep) -> list[ModelSummary]:
    out = []
    for m in await services.registry.list_models():
        latest = VersionOut.of(m.versions[-1], m.aliases) if m.versions else None
        out.append(ModelSummary(name=m.name, description=m.description, created_at=m.created_at,
                                versions=[v.version for v in m.versions], aliases=m.aliases,
                                latest=latest))
    return out


@router.get("/{name}", response_model=ModelDetail, summary="Show a model: versions, aliases, signature")
async def get_model(name: str, services: ServicesDep, _p: ReadDep) -> ModelDetail:
    return ModelDetail.of(await services.registry.get_model(name))


@router.get("/{name}/versions/{version}", response_model=VersionOut, summary="Show one version")
async def get_version(name: str, version: str, services: ServicesDep, _p: ReadDep) -> VersionOut:
    info = await services.registry.resolve(name, version)
    model = await services.registry.get_model(name)
    out = VersionOut.of(info, model.aliases)
    out.device = services.manager.device_of(info.key)  # bring your own model (#18)
    return out


@upload_router.post("", response_model=VersionOut, status_code=status.HTTP_201_CREATED,
                    summary="Register a new version from an uploaded artifact")
async def register_model(
    services: ServicesDep,
    principal: WriteDep,
    file: Annotated[UploadFile, File(description="Model artifact (.skops, .onnx, .joblib)")],
    name: Annotated[str, Form(min_length=1, max_length=128)],
    flavor: Annotated[str, Form(min_length=1, max_length=32)],
    signature: Annotated[str | None, Form(max_length=65536, description="JSON signature")] = None,
    description: Annotated[str, Form(max_length=4096)] = "",
    tags: Annotated[str | None, Form(max_length=65536, description="JSON object of strings")] = None,
    config: Annotated[str | None, Form(max_length=65536, description="JSON serving config")] = None,
    alias: Annotated[str | None, Form(max_length=64)] = None,
) -> VersionOut:
    texts = (name, flavor, description, alias or "", file.filename or "")
    documents = (signature or "", tags or "", config or "")
    if any("\x00" in v for v in (*texts, *documents)) or any("\\u0000" in v for v in documents):
        raise InvalidInput("NUL characters are not allowed in strings")
    sig = _parse(Signature, signature, "signature")
    cfg = _parse(ServingConfig, config, "config")
    tag_data = _json_field(tags, "tags") or {}
    if not isinstance(tag_data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in tag_data.items()
    ):
        raise InvalidInput("tags must be a JSON object of strings")
    info = await services.models.register_stream(
        name, flavor, file.file, file.filename or "upload", signature=sig, description=description,
        tags=tag_data, config=cfg, aliases=[alias] if alias else None, admin=principal.has("admin"),
    )
    return VersionOut.of(info, (await services.registry.get_model(name)).aliases)


# PUT/DELETE /{name}/aliases/{alias}: api/routes/traffic.py (an alias may carry a traffic policy, #20)


@router.delete("/{name}/versions/{version}", status_code=204, response_class=Response,
               summary="Delete a version (refused while an alias points at it)")
async def delete_version(name: str, version: int, services: ServicesDep, _p: WriteDep) -> Response:
    await services.models.delete_version(name, version)
    return Response(status_code=204)
