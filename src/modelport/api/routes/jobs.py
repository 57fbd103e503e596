"""``/api/v1/jobs``: submit training and batch-prediction jobs, watch them, cancel them.

A job belongs to the user behind the submitting credential; non-admins see and cancel only
their own (others' ids are 404s) and may only use datasets they can see. See
:mod:`modelport.jobs.ownership`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status

from modelport.api.deps import Principal, ServicesDep, require
from modelport.jobs.ownership import owner_of, viewer_of
from modelport.jobs.schemas import (
    BatchPredictRequest,
    JobCreated,
    JobInfo,
    JobKind,
    JobList,
    JobState,
    TrainRequest,
)

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])
JobsDep = Annotated[Principal, require("jobs")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200,
                                              description="Resubmits with the same key return the same job")]
OwnerFilter = Annotated[str | None, Query(max_length=128,
                                          description="Admins: only this owner's (a user id)")]


def _accepted(response: Response, job: JobInfo, created: bool) -> JobCreated:
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"
    return JobCreated(job_id=job.id, state=job.state, created=created)


@router.post("/train", response_model=JobCreated, status_code=status.HTTP_202_ACCEPTED,
             summary="Train a model on a dataset and register it")
async def train(body: TrainRequest, services: ServicesDep, principal: JobsDep, response: Response,
                idempotency_key: IdempotencyKey = None) -> JobCreated:
    job, created = await services.jobs.submit_train(body, owner=owner_of(principal),
                                                    viewer=viewer_of(principal),
                                                    idempotency_key=idempotency_key)
    return _accepted(response, job, created)


@router.post("/batch-predict", response_model=JobCreated, status_code=status.HTTP_202_ACCEPTED,
             summary="Predict every row of a dataset into a new dataset")
async def batch_predict(body: BatchPredictRequest, services: ServicesDep, principal: JobsDep,
                        response: Response, idempotency_key: IdempotencyKey = None) -> JobCreated:
    job, created = await services.jobs.submit_batch(body, owner=owner_of(principal),
                                                    viewer=viewer_of(principal),
                                                    idempotency_key=idempotency_key)
    return _accepted(response, job, created)


@router.get("", response_model=JobList, summary="List jobs, newest first (your own; admins: all)")
async def list_jobs(services: ServicesDep, principal: JobsDep,
                    state: Annotated[JobState | None, Query()] = None,
                    kind: Annotated[JobKind | None, Query()] = None,
                    owner: OwnerFilter = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 50,
                    offset: Annotated[int, Query(ge=0)] = 0) -> JobList:
    return await services.jobs.list(state=state, kind=kind, owner=viewer_of(principal, owner),
                                    limit=limit, offset=offset)


@router.get("/{job_id}", response_model=JobInfo, summary="A job's state, progress, metrics and result")
async def get_job(job_id: str, services: ServicesDep, principal: JobsDep) -> JobInfo:
    return await services.jobs.get(job_id, viewer=viewer_of(principal))


@router.delete("/{job_id}", response_model=JobInfo, summary="Cancel a job",
               description="Queued: cancelled at once. Running: stopped at its next step "
                           "(the embedded engine terminates its process).")
async def cancel_job(job_id: str, services: ServicesDep, principal: JobsDep) -> JobInfo:
    return await services.jobs.cancel(job_id, viewer=viewer_of(principal))
