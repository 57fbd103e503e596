"""The Jobs pages: the list, one job with live progress (htmx polls a fragment), cancel, a
training form, and datasets with upload and a preview of the first rows."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.responses import Response

from modelport.console.api import ApiError
from modelport.console.deps import ViewerDep, WriterDep, redirect, render
from modelport.jobs.estimators import available

router = APIRouter()
PREVIEW_ROWS = 20
PREVIEW_BYTES = 256 * 1024
Text = Annotated[str, Form(max_length=4096)]


async def _datasets(who: Any) -> tuple[list[dict[str, Any]], list[str]]:
    answer, _ = await who.api.attempt("GET", "/api/v1/datasets", params={"limit": 200})
    return (answer or {}).get("items", []), (answer or {}).get("builtin", [])


@router.get("/jobs")
async def jobs_page(request: Request, who: ViewerDep) -> Response:
    answer, error = await who.api.attempt("GET", "/api/v1/jobs", params={"limit": 100})
    datasets, builtin = await _datasets(who)
    return render(request, "jobs.html", who, section="jobs", jobs=(answer or {}).get("items", []),
                  error=error.detail if error else None, datasets=datasets, builtin=builtin,
                  estimators=sorted(available()))


@router.post("/jobs/train")
async def train(request: Request, who: WriterDep, dataset: Annotated[str, Form(max_length=64)],
                estimator: Annotated[str, Form(max_length=64)], name: Annotated[str, Form(max_length=128)],
                target: Text = "target", alias: Text = "", description: Text = "") -> Response:
    register: dict[str, Any] = {"name": name.strip(), "description": description}
    if alias.strip():
        register["alias"] = alias.strip()
    body = {"dataset": dataset, "estimator": estimator, "target": target.strip() or "target",
            "register_as": register}
    try:
        created = await who.api.call("POST", "/api/v1/jobs/train", json=body)
    except ApiError as exc:
        return redirect(request, "/ui/jobs", f"Training refused: {exc.detail}")
    return redirect(request, f"/ui/jobs/{quote(created['job_id'], safe='')}", "Training job submitted.")


@router.get("/jobs/{job_id}")
async def job_page(request: Request, job_id: str, who: ViewerDep) -> Response:
    job, error = await who.api.attempt("GET", f"/api/v1/jobs/{quote(job_id, safe='')}")
    if error:
        return render(request, "message.html", who, section="jobs", status_code=error.status,
                      title="Job", error=error.detail)
    return render(request, "job.html", who, section="jobs", job=job)


@router.get("/jobs/{job_id}/progress")
async def job_progress(request: Request, job_id: str, who: ViewerDep) -> Response:
    """The progress fragment; it keeps polling itself until the job is done."""
    job, error = await who.api.attempt("GET", f"/api/v1/jobs/{quote(job_id, safe='')}")
    if error:
        return render(request, "message.html", who, status_code=error.status, title="Job", error=error.detail)
    return render(request, "job_progress.html", who, job=job)


@router.post("/jobs/{job_id}/cancel")
async def cancel(request: Request, job_id: str, who: WriterDep) -> Response:
    _, error = await who.api.attempt("DELETE", f"/api/v1/jobs/{quote(job_id, safe='')}")
    page = f"/ui/jobs/{quote(job_id, safe='')}"
    return redirect(request, page, f"Cancel refused: {error.detail}" if error else "Cancellation requested.")


@router.get("/datasets")
async def datasets_page(request: Request, who: ViewerDep) -> Response:
    datasets, builtin = await _datasets(who)
    return render(request, "datasets.html", who, section="jobs", datasets=datasets, builtin=builtin)


@router.post("/datasets")
async def upload_dataset(request: Request, who: WriterDep, file: Annotated[UploadFile, File()],
                         name: Text = "") -> Response:
    files = {"file": (file.filename or "dataset.csv", await file.read(), file.content_type or "text/csv")}
    try:
        info = await who.api.call("POST", "/api/v1/datasets", data={"name": name} if name else {},
                                  files=files)
    except ApiError as exc:
        return redirect(request, "/ui/datasets", f"Upload refused: {exc.detail}")
    return redirect(request, f"/ui/datasets/{quote(info['id'], safe='')}", f"Uploaded {info['name']}.")


def preview_rows(content: bytes, limit: int = PREVIEW_ROWS) -> list[list[str]]:
    """The first rows of a CSV file (the header first); a cut-off last line is dropped."""
    text = content[:PREVIEW_BYTES].decode("utf-8", errors="replace")
    if len(content) > PREVIEW_BYTES:
        text = text.rsplit("\n", 1)[0]
    return [row for _, row in zip(range(limit + 1), csv.reader(io.StringIO(text)), strict=False)]


@router.get("/datasets/{dataset_id}")
async def dataset_page(request: Request, dataset_id: str, who: ViewerDep) -> Response:
    path = f"/api/v1/datasets/{quote(dataset_id, safe='')}"
    info, error = await who.api.attempt("GET", path)
    if error:
        return render(request, "message.html", who, section="jobs", status_code=error.status,
                      title="Dataset", error=error.detail)
    rows: list[list[str]] = []
    if info.get("format") == "csv" and not info.get("builtin"):
        content, _ = await who.api.attempt("GET", f"{path}/download")
        if isinstance(content, bytes):
            rows = preview_rows(content)
    return render(request, "dataset.html", who, section="jobs", info=info, rows=rows)
