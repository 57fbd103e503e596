"""Request and response bodies of the ``/api/v1`` JSON API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from modelport.registry.manifest import ModelInfo, ModelVersionInfo, ServingConfig, Signature


def _utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored as UTC); RFC 3339 needs the offset."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


VersionRef = str | int  # a version number (integer or its string) or an alias


class PredictOptions(StrictBody):
    """Fields both predict bodies share (parsed by :mod:`modelport.api.predict_body`)."""

    version: VersionRef | None = Field(
        default=None, description="Version number or alias; default: `production`, else the latest version",
    )
    model_version: VersionRef | None = Field(default=None, description="Another name for `version`")
    confidence_threshold: float | None = Field(
        default=None, ge=0, le=1,
        description="Rows whose confidence is below it are flagged in `low_confidence`; default: the "
                    "version's `config.confidence_threshold`",
    )


class PredictRequest(PredictOptions):
    features: list[float] | list[list[float]] = Field(
        description="One row of features, or a list of rows", examples=[[5.1, 3.5, 1.4, 0.2]]
    )


class BatchPredictRequest(PredictOptions):
    samples: list[list[float]] = Field(description="Rows of features", min_length=1)


class PredictResponse(BaseModel):
    model: str
    version: int
    predictions: list[float | int | str | bool]
    probabilities: list[list[float]] | None = None
    confidence: float | list[float] | None = Field(
        default=None, description="Highest class probability: per row, or one number for a single-row "
                                  "request (`features` one flat row)")
    low_confidence: list[bool] | None = Field(
        default=None, description="Per row: confidence below the threshold (when one applies)")
    prediction: float | int | str | bool | None = Field(
        default=None, description="Single-row requests (`features` one flat row): the one prediction")
    model_version: int = Field(description="The version that served (same as `version`)")
    latency_ms: float
    request_id: str


class AliasRequest(StrictBody):
    version: int = Field(ge=1)


class VersionOut(BaseModel):
    name: str
    version: int
    flavor: str
    sha256: str
    size_bytes: int
    signature: Signature
    description: str
    tags: dict[str, str]
    metrics: dict[str, float]
    config: ServingConfig
    created_at: UtcDatetime
    aliases: list[str] = Field(default_factory=list)
    device: str | None = Field(default=None, description="where the version runs while loaded (#18)")

    @classmethod
    def of(cls, info: ModelVersionInfo, aliases: dict[str, int] | None = None) -> VersionOut:
        names = sorted(a for a, v in (aliases or {}).items() if v == info.version)
        return cls(**info.model_dump(exclude={"artifact_key", "job_id"}), aliases=names)


class ModelSummary(BaseModel):
    name: str
    description: str
    created_at: UtcDatetime
    versions: list[int]
    aliases: dict[str, int]
    latest: VersionOut | None = None


class ModelDetail(BaseModel):
    name: str
    description: str
    created_at: UtcDatetime
    aliases: dict[str, int]
    versions: list[VersionOut]

    @classmethod
    def of(cls, info: ModelInfo) -> ModelDetail:
        return cls(name=info.name, description=info.description, created_at=info.created_at,
                   aliases=info.aliases, versions=[VersionOut.of(v, info.aliases) for v in info.versions])
