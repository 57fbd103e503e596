"""Job request bodies built from keyword arguments (shared by both clients and the CLI)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def job_body(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def train_body(dataset: str, estimator: str, name: str, *, alias: str | None, target: str,
               hyperparameters: Mapping[str, Any] | None, features: list[str] | None,
               test_size: float | None, random_state: int | None) -> dict[str, Any]:
    register_as = job_body(name=name, alias=alias)
    return job_body(dataset=dataset, estimator=estimator, target=target,
                    hyperparameters=dict(hyperparameters or {}), features=features, test_size=test_size,
                    random_state=random_state, register_as=register_as)
