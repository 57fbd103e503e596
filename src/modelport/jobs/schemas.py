"""Job request and response bodies (API, CLI and engines share them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from modelport.jobs.datasets import aware
from modelport.jobs.tables import JobRow
from modelport.registry.manifest import ALIAS_PATTERN, NAME_PATTERN

JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]
JobKind = Literal["train", "batch_predict"]
Scalar = str | int | float | bool | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class RegisterAs(_Strict):
    name: str = Field(pattern=NAME_PATTERN, max_length=128)
    alias: str | None = Field(default=None, pattern=ALIAS_PATTERN, max_length=64)
    description: str = Field(default="", max_length=4096)


class TrainRequest(_Strict):
    dataset: str = Field(min_length=1, max_length=64, examples=["builtin:iris"])
    target: str = Field(default="target", min_length=1, max_length=256)
    features: list[str] | None = Field(default=None, min_length=1, max_length=10_000)
    estimator: str = Field(min_length=1, max_length=64, examples=["RandomForestClassifier"])
    hyperparameters: dict[str, Scalar] = Field(default_factory=dict, max_length=100)
    test_size: float = Field(default=0.2, gt=0, lt=1)
    random_state: int | None = Field(default=0, ge=0, le=2**32 - 1)
    register_as: RegisterAs


class BatchPredictRequest(_Strict):
    model: str = Field(pattern=NAME_PATTERN, max_length=128)
    version: str | None = Field(default=None, max_length=64)
    dataset: str = Field(min_length=1, max_length=64)
    features: list[str] | None = Field(default=None, min_length=1, max_length=10_000)


class JobCreated(BaseModel):
    job_id: str
    state: JobState
    created: bool = Field(description="false when the Idempotency-Key matched an existing job")


class ModelRef(BaseModel):
    name: str
    version: int


_aware = aware


class JobInfo(BaseModel):
    id: str
    kind: JobKind
    state: JobState
    progress: int
    message: str
    params: dict[str, Any]
    attempts: int
    metrics: dict[str, float]
    model: ModelRef | None = None
    output_dataset: str | None = None
    result: dict[str, Any]
    error: str | None
    cancel_requested: bool
    owner: str | None = Field(default=None, description="the submitting user's id")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime

    @property
    def done(self) -> bool:
        return self.state in ("succeeded", "failed", "cancelled")

    @classmethod
    def of(cls, row: JobRow) -> JobInfo:
        result = row.result or {}
        model = None
        if row.kind == "train" and "model" in result and "version" in result:
            model = ModelRef(name=result["model"], version=int(result["version"]))
        return cls(
            id=row.id, kind=row.kind, state=row.state, progress=row.progress,
            message=row.message or "", params=row.params, attempts=row.attempts,
            metrics=row.metrics or {}, model=model, output_dataset=result.get("output_dataset"),
            result=result, error=row.error, cancel_requested=row.cancel_requested, owner=row.owner,
            created_at=_aware(row.created_at), started_at=_aware(row.started_at),
            finished_at=_aware(row.finished_at), updated_at=_aware(row.updated_at),
        )


class JobList(BaseModel):
    items: list[JobInfo]
    total: int
    limit: int
    offset: int
