"""Per-version monitoring: live performance from feedback, drift against the reference."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile

from modelport.api.deps import ReadDep, ServicesDep, WriteDep
from modelport.errors import PayloadTooLarge
from modelport.tracking.reference import parse_reference_file
from modelport.web.responses import FastJSONResponse

router = APIRouter(prefix="/api/v1/models", tags=["monitoring"])
Window = Annotated[str, Query(max_length=16, description="e.g. 30m, 24h, 7d")]
MAX_REFERENCE_BYTES = 64 * 1024 * 1024


@router.get("/{name}/versions/{version}/performance",
            summary="Accuracy (classifiers) or MAE/RMSE (regressors) from feedback over a window")
async def performance(name: str, version: str, services: ServicesDep, _p: ReadDep,
                      window: Window = "24h") -> FastJSONResponse:
    info = await services.registry.resolve(name, version)
    return FastJSONResponse(await services.tracking.feedback.performance(info, window))


@router.get("/{name}/versions/{version}/drift",
            summary="Per-feature PSI and KS of logged inputs against the reference, with a verdict")
async def drift(name: str, version: str, services: ServicesDep, _p: ReadDep,
                window: Window = "24h") -> FastJSONResponse:
    info = await services.registry.resolve(name, version)
    result = await services.tracking.drift.drift(info, window)
    if result.get("verdict") == "drift":  # webhook event (#20), at most once an hour per version and window
        hour = datetime.now(UTC).strftime("%Y%m%d%H")
        await services.webhooks.emit("drift.detected", {
            "model": info.name, "version": info.version, "window": window,
            "drifted_features": result.get("drifted_features", [])},
            event_id=f"drift.{info.name}.{info.version}.{window}.{hour}"[:64])
    return FastJSONResponse(result)


@router.put("/{name}/versions/{version}/reference",
            summary="Upload the reference distribution (CSV with optional header, or .npy)")
async def put_reference(name: str, version: str, services: ServicesDep, _p: WriteDep,
                        file: Annotated[UploadFile, File(description="Reference rows: .csv or .npy")],
                        ) -> FastJSONResponse:
    info = await services.registry.resolve(name, version)
    data = await file.read(MAX_REFERENCE_BYTES + 1)
    if len(data) > MAX_REFERENCE_BYTES:
        raise PayloadTooLarge("reference file: at most 64 MiB")
    matrix, labels = await asyncio.to_thread(parse_reference_file, data, file.filename or "")
    summary = await services.tracking.references.store(info.name, info.version, matrix, labels=labels,
                                                       source="upload")
    return FastJSONResponse(summary)
