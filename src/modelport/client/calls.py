"""The ``/api/v1`` API as request descriptions, shared by the sync and async clients.

Each function returns a :class:`Call`: method, path, body and how to decode the answer. The
clients only send calls, so both speak exactly the same API and a new endpoint is added once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from modelport.client.records import Job, Prediction, Record

T = TypeVar("T")
FileLike = str | Path | bytes | IO[bytes]
API = "/api/v1"


def _seg(value: str | int) -> str:
    """One path segment, escaped."""
    return quote(str(value), safe="")


def record(response: httpx.Response) -> Record:
    return Record(response.json())


def records(response: httpx.Response) -> list[Record]:
    return [Record(item) for item in response.json()]


def prediction(response: httpx.Response) -> Prediction:
    return Prediction(response.json())


def job(response: httpx.Response) -> Job:
    return Job(response.json())


def raw(response: httpx.Response) -> bytes:
    return response.content


def nothing(_response: httpx.Response) -> None:
    return None


@dataclass(frozen=True)
class Call(Generic[T]):
    """One HTTP request and the decoder of its (successful) answer."""

    method: str
    path: str
    decode: Callable[[httpx.Response], T]
    params: Mapping[str, Any] | None = None
    json: Any = None
    data: Mapping[str, Any] | None = None
    files: Mapping[str, tuple[str, bytes]] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


def _drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _version(version: str | int | None) -> str | None:
    """Versions travel as strings (a number or an alias), which every server release accepts."""
    return None if version is None else str(version)


def as_rows(rows: Any) -> list[Any]:
    """Lists, numpy arrays, pandas DataFrames or Series as JSON rows (one row stays flat)."""
    if hasattr(rows, "to_numpy"):  # pandas, without importing it
        rows = rows.to_numpy()
    if hasattr(rows, "tolist"):  # numpy
        rows = rows.tolist()
    if not isinstance(rows, list | tuple):
        raise TypeError(f"rows must be a list, a numpy array or a DataFrame, not {type(rows).__name__}")
    return [list(r) if isinstance(r, tuple) else r for r in rows]


def read_file(file: FileLike, default_name: str) -> tuple[str, bytes]:
    """(filename, content) of a path, bytes or an open binary file."""
    if isinstance(file, str | Path):
        path = Path(file)
        return path.name, path.read_bytes()
    if isinstance(file, bytes):
        return default_name, file
    return Path(str(getattr(file, "name", default_name))).name, file.read()


# --- models and versions

def list_models() -> Call[list[Record]]:
    return Call("GET", f"{API}/models", records)


def get_model(name: str) -> Call[Record]:
    return Call("GET", f"{API}/models/{_seg(name)}", record)


def get_version(name: str, version: str | int) -> Call[Record]:
    return Call("GET", f"{API}/models/{_seg(name)}/versions/{_seg(version)}", record)


def upload_model(file: FileLike, name: str, flavor: str, *, signature: Mapping[str, Any] | None,
                 description: str, tags: Mapping[str, str] | None, config: Mapping[str, Any] | None,
                 alias: str | None) -> Call[Record]:
    form = _drop_none({"name": name, "flavor": flavor, "description": description, "alias": alias,
                       "signature": json.dumps(signature) if signature is not None else None,
                       "tags": json.dumps(tags) if tags is not None else None,
                       "config": json.dumps(config) if config is not None else None})
    return Call("POST", f"{API}/models", record, data=form,
                files={"file": read_file(file, "model.skops")})


def set_alias(name: str, alias: str, version: int | None,
              traffic: Mapping[str, Any] | None) -> Call[Record]:
    """``traffic`` is a traffic policy (routes, sticky, shadow...) sent as given."""
    body: dict[str, Any] = dict(traffic or {})
    if version is not None:
        body["version"] = version
    if not body:
        raise ValueError("give a version or a traffic policy")
    return Call("PUT", f"{API}/models/{_seg(name)}/aliases/{_seg(alias)}", record, json=body)


def get_alias(name: str, alias: str) -> Call[Record]:
    return Call("GET", f"{API}/models/{_seg(name)}/aliases/{_seg(alias)}", record)


def delete_alias(name: str, alias: str) -> Call[None]:
    return Call("DELETE", f"{API}/models/{_seg(name)}/aliases/{_seg(alias)}", nothing)


def alias_history(name: str, alias: str, limit: int) -> Call[list[Record]]:
    return Call("GET", f"{API}/models/{_seg(name)}/aliases/{_seg(alias)}/history", records,
                params={"limit": limit})


def rollback_alias(name: str, alias: str, reason: str) -> Call[Record]:
    return Call("POST", f"{API}/models/{_seg(name)}/aliases/{_seg(alias)}/rollback", record,
                json={"reason": reason})


def delete_version(name: str, version: int) -> Call[None]:
    return Call("DELETE", f"{API}/models/{_seg(name)}/versions/{_seg(version)}", nothing)


# --- predictions

def _predict_headers(timeout: float | None, cache: bool) -> dict[str, str]:
    headers = {} if cache else {"Cache-Control": "no-cache"}
    if timeout is not None:
        headers["X-Request-Timeout"] = str(timeout)
    return headers


def predict(name: str, rows: Any, *, version: str | int | None, confidence_threshold: float | None,
            timeout: float | None, cache: bool) -> Call[Prediction]:
    body = _drop_none({"features": as_rows(rows), "version": _version(version),
                       "confidence_threshold": confidence_threshold})
    return Call("POST", f"{API}/models/{_seg(name)}/predict", prediction, json=body,
                headers=_predict_headers(timeout, cache))


def predict_batch(name: str, rows: Any, *, version: str | int | None, timeout: float | None,
                  cache: bool) -> Call[Prediction]:
    body = _drop_none({"samples": as_rows(rows), "version": _version(version)})
    return Call("POST", f"{API}/models/{_seg(name)}/predict/batch", prediction, json=body,
                headers=_predict_headers(timeout, cache))


def predict_file(name: str, file: FileLike, *, version: str | int | None) -> Call[Prediction]:
    params = _drop_none({"version": _version(version)})
    return Call("POST", f"{API}/models/{_seg(name)}/predict/file", prediction, params=params,
                files={"file": read_file(file, "upload")})


def embed(name: str, texts: str | list[str], *, version: str | int | None) -> Call[Record]:
    return Call("POST", f"{API}/models/{_seg(name)}/embed", record,
                json=_drop_none({"inputs": texts, "version": _version(version)}))


def classify(name: str, texts: str | list[str], *, version: str | int | None) -> Call[Prediction]:
    return Call("POST", f"{API}/models/{_seg(name)}/classify", prediction,
                json=_drop_none({"inputs": texts, "version": _version(version)}))


def ner(name: str, texts: str | list[str], *, version: str | int | None) -> Call[Record]:
    return Call("POST", f"{API}/models/{_seg(name)}/ner", record,
                json=_drop_none({"inputs": texts, "version": _version(version)}))


# --- jobs and datasets

def train(body: Mapping[str, Any], idempotency_key: str | None) -> Call[Record]:
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    return Call("POST", f"{API}/jobs/train", record, json=dict(body), headers=headers)


def batch_predict(body: Mapping[str, Any], idempotency_key: str | None) -> Call[Record]:
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    return Call("POST", f"{API}/jobs/batch-predict", record, json=dict(body), headers=headers)


def get_job(job_id: str) -> Call[Job]:
    return Call("GET", f"{API}/jobs/{_seg(job_id)}", job)


def list_jobs(*, state: str | None, kind: str | None, limit: int, offset: int) -> Call[Record]:
    return Call("GET", f"{API}/jobs", record,
                params=_drop_none({"state": state, "kind": kind, "limit": limit, "offset": offset}))


def cancel_job(job_id: str) -> Call[Job]:
    return Call("DELETE", f"{API}/jobs/{_seg(job_id)}", job)


def upload_dataset(file: FileLike, *, name: str | None, header: bool | None) -> Call[Record]:
    form = _drop_none({"name": name, "header": None if header is None else str(header).lower()})
    return Call("POST", f"{API}/datasets", record, data=form, files={"file": read_file(file, "data.csv")})


def list_datasets(*, limit: int, offset: int) -> Call[Record]:
    return Call("GET", f"{API}/datasets", record, params={"limit": limit, "offset": offset})


def get_dataset(dataset_id: str) -> Call[Record]:
    return Call("GET", f"{API}/datasets/{_seg(dataset_id)}", record)


def download_dataset(dataset_id: str) -> Call[bytes]:
    return Call("GET", f"{API}/datasets/{_seg(dataset_id)}/download", raw)


def delete_dataset(dataset_id: str) -> Call[None]:
    return Call("DELETE", f"{API}/datasets/{_seg(dataset_id)}", nothing)


# --- prediction log, feedback, monitoring

def list_predictions(filters: Mapping[str, Any]) -> Call[Record]:
    return Call("GET", f"{API}/predictions", record, params=_drop_none(filters))


def export_predictions(fmt: str, filters: Mapping[str, Any]) -> Call[bytes]:
    return Call("GET", f"{API}/predictions", raw, params={**_drop_none(filters), "format": fmt})


def get_prediction(request_id: str) -> Call[Record]:
    return Call("GET", f"{API}/predictions/{_seg(request_id)}", record)


def feedback(request_id: str, actual: Any) -> Call[Record]:
    return Call("POST", f"{API}/predictions/{_seg(request_id)}/feedback", record, json={"actual": actual})


def performance(name: str, version: str | int, window: str) -> Call[Record]:
    return Call("GET", f"{API}/models/{_seg(name)}/versions/{_seg(version)}/performance", record,
                params={"window": window})


def drift(name: str, version: str | int, window: str) -> Call[Record]:
    return Call("GET", f"{API}/models/{_seg(name)}/versions/{_seg(version)}/drift", record,
                params={"window": window})


def set_reference(name: str, version: str | int, file: FileLike) -> Call[Record]:
    return Call("PUT", f"{API}/models/{_seg(name)}/versions/{_seg(version)}/reference", record,
                files={"file": read_file(file, "reference.csv")})


def usage(params: Mapping[str, Any]) -> Call[Record]:
    return Call("GET", f"{API}/usage", record, params=_drop_none(params))


# --- credentials and users

def token(username: str, password: str, scope: str | None) -> Call[Record]:
    return Call("POST", f"{API}/auth/token", record,
                data=_drop_none({"username": username, "password": password, "scope": scope}))


def list_keys() -> Call[list[Record]]:
    return Call("GET", f"{API}/keys", records)


def create_key(scopes: list[str], *, name: str, expires_in: str | None, rate_limit: str | None,
               owner: str | None, models: list[str] | None = None) -> Call[Record]:
    body = _drop_none({"scopes": scopes, "name": name, "expires_in": expires_in,
                       "rate_limit": rate_limit, "owner": owner, "models": models})
    return Call("POST", f"{API}/keys", record, json=body)


def get_key(key_id: str) -> Call[Record]:
    return Call("GET", f"{API}/keys/{_seg(key_id)}", record)


def revoke_key(key_id: str) -> Call[None]:
    return Call("DELETE", f"{API}/keys/{_seg(key_id)}", nothing)


def list_users() -> Call[list[Record]]:
    return Call("GET", f"{API}/users", records)


def create_user(username: str, password: str, *, role: str, scopes: list[str] | None,
                models: list[str] | None = None) -> Call[Record]:
    body = _drop_none({"username": username, "password": password, "role": role, "scopes": scopes,
                       "models": models})
    return Call("POST", f"{API}/users", record, json=body)


def update_user(username: str, changes: Mapping[str, Any]) -> Call[Record]:
    return Call("PATCH", f"{API}/users/{_seg(username)}", record, json=dict(changes))


def delete_user(username: str) -> Call[None]:
    return Call("DELETE", f"{API}/users/{_seg(username)}", nothing)


def change_password(current_password: str, new_password: str) -> Call[None]:
    return Call("POST", f"{API}/users/me/password", nothing,
                json={"current_password": current_password, "new_password": new_password})


def health_ready() -> Call[Record]:
    return Call("GET", "/health/ready", record)
