"""``/api/v1/datasets``: upload CSV/Parquet, inspect schema and row count, download, delete.

An upload belongs to the user behind the credential; non-admins see, download and delete only
their own (others' ids are 404s). Builtins are visible to all. See :mod:`modelport.jobs.ownership`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status
from fastapi.responses import FileResponse
from pydantic import BaseModel

from modelport.api.deps import Principal, ServicesDep, require
from modelport.jobs.datasets import DatasetInfo
from modelport.jobs.ownership import owner_of, viewer_of

router = APIRouter(prefix="/api/v1/datasets", tags=["datasets"])
JobsDep = Annotated[Principal, require("jobs")]
MEDIA = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}


class DatasetList(BaseModel):
    items: list[DatasetInfo]
    builtin: list[str]
    total: int
    limit: int
    offset: int


@router.post("", response_model=DatasetInfo, status_code=status.HTTP_201_CREATED,
             summary="Upload a CSV or Parquet file (schema and row count are inferred)")
async def upload(services: ServicesDep, principal: JobsDep,
                 file: Annotated[UploadFile, File(description="A .csv or .parquet file")],
                 name: Annotated[str | None, Form(max_length=256)] = None,
                 header: Annotated[bool | None, Form(description="CSV: does the first line name the "
                                                     "columns? Default: detected (a line of numbers is "
                                                     "data; columns are then f0, f1, ...)")] = None,
                 ) -> DatasetInfo:
    return await services.datasets.upload(file.file, file.filename or "dataset", name,
                                          owner=owner_of(principal), header=header)


@router.get("", response_model=DatasetList,
            summary="List uploaded datasets (your own; admins: all) and the builtin names")
async def list_datasets(services: ServicesDep, principal: JobsDep,
                        owner: Annotated[str | None, Query(max_length=128,
                                                           description="Admins: only this owner's "
                                                                       "(a user id)")] = None,
                        limit: Annotated[int, Query(ge=1, le=500)] = 50,
                        offset: Annotated[int, Query(ge=0)] = 0) -> DatasetList:
    items, total = await services.datasets.list_datasets(owner=viewer_of(principal, owner), limit=limit,
                                                         offset=offset)
    return DatasetList(items=items, builtin=services.datasets.builtins(), total=total, limit=limit,
                       offset=offset)


@router.get("/{dataset_id}", response_model=DatasetInfo, summary="A dataset's schema and row count")
async def get_dataset(dataset_id: str, services: ServicesDep, principal: JobsDep) -> DatasetInfo:
    return await services.datasets.get(dataset_id, viewer=viewer_of(principal))


@router.get("/{dataset_id}/download", response_class=FileResponse, summary="Download a dataset's file")
async def download(dataset_id: str, services: ServicesDep, principal: JobsDep) -> FileResponse:
    info, path = await services.datasets.local_path(dataset_id, viewer=viewer_of(principal))
    return FileResponse(path, media_type=MEDIA[info.format], filename=f"{info.id}.{info.format}")


@router.delete("/{dataset_id}", status_code=204, response_class=Response, summary="Delete a dataset")
async def delete_dataset(dataset_id: str, services: ServicesDep, principal: JobsDep) -> Response:
    await services.datasets.delete(dataset_id, viewer=viewer_of(principal))
    return Response(status_code=204)
