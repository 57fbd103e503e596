"""``AsyncClient``: the asyncio twin of :class:`~modelport.client.sync.Client`.

The same methods in the same order, each awaited; edit both together.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any, TypeVar

import httpx

from modelport.client import calls
from modelport.client.calls import Call, FileLike
from modelport.client.errors import TransportError, error_for
from modelport.client.records import Job, Prediction, Record
from modelport.client.sync import ProgressCallback
from modelport.client.training import job_body, train_body

T = TypeVar("T")


class AsyncJobHandle:
    """A submitted job: ``wait()`` follows it to the end, calling ``progress`` on each change."""

    def __init__(self, client: AsyncClient, submitted: Record) -> None:
        self.client = client
        self.id: str = submitted["job_id"]
        self.created: bool = submitted["created"]

    async def get(self) -> Job:
        return await self.client.get_job(self.id)

    async def cancel(self) -> Job:
        return await self.client.cancel_job(self.id)

    async def wait(self, progress: ProgressCallback | None = None, *, poll_s: float = 0.25,
             max_wait_s: float | None = None) -> Job:
        """Poll until the job is done; raises ``TimeoutError`` after ``max_wait_s`` seconds."""
        deadline = None if max_wait_s is None else time.monotonic() + max_wait_s
        seen: tuple[Any, ...] | None = None
        while True:
            current = await self.get()
            state = (current["state"], current["progress"], current["message"])
            if progress is not None and state != seen:
                progress(current)
            seen = state
            if current.done:
                return current
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {self.id} still {current['state']} after {max_wait_s} s")
            await asyncio.sleep(poll_s)


class AsyncClient:
    """``AsyncClient(base_url, api_key=None)``: :class:`Client` awaited; one API call per method;
    errors raise :class:`~modelport.client.errors.ApiError` subclasses carrying the problem+json body."""

    def __init__(self, base_url: str, api_key: str | None = None, *, timeout: float = 60.0,
                 headers: Mapping[str, str] | None = None, verify: bool = True) -> None:
        default_headers = dict(headers or {})
        if api_key:
            default_headers["Authorization"] = f"Bearer {api_key}"
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, headers=default_headers, timeout=timeout,
                                  verify=verify)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def send(self, call: Call[T]) -> T:
        """Send one :class:`Call` and decode its answer (the methods below all end here)."""
        try:
            response = await self._http.request(call.method, call.path, params=call.params, json=call.json,
                                          data=call.data, files=call.files, headers=call.headers)
        except httpx.TransportError as exc:
            raise TransportError(f"{call.method} {self.base_url}{call.path}: {exc}") from exc
        if response.is_error:
            raise error_for(response)
        return call.decode(response)

    async def login(self, username: str, password: str, scope: str | None = None) -> Record:
        """Exchange a password for a JWT and use it for the following calls."""
        answer = await self.send(calls.token(username, password, scope))
        self._http.headers["Authorization"] = f"Bearer {answer['access_token']}"
        return answer

    # --- models and versions
    async def list_models(self) -> list[Record]:
        return await self.send(calls.list_models())

    async def get_model(self, name: str) -> Record:
        return await self.send(calls.get_model(name))

    async def get_version(self, name: str, version: str | int) -> Record:
        return await self.send(calls.get_version(name, version))

    async def upload_model(self, file: FileLike, name: str, flavor: str = "sklearn", *,
                     signature: Mapping[str, Any] | None = None, description: str = "",
                     tags: Mapping[str, str] | None = None, config: Mapping[str, Any] | None = None,
                     alias: str | None = None) -> Record:
        call = calls.upload_model(file, name, flavor, signature=signature, description=description,
                                  tags=tags, config=config, alias=alias)
        return await self.send(call)

    async def set_alias(self, name: str, alias: str, version: int | None = None, *,
                  traffic: Mapping[str, Any] | None = None) -> Record:
        """Point ``alias`` at ``version``, or give it a traffic policy (routes, sticky, shadow)."""
        return await self.send(calls.set_alias(name, alias, version, traffic))

    async def get_alias(self, name: str, alias: str) -> Record:
        return await self.send(calls.get_alias(name, alias))

    async def delete_alias(self, name: str, alias: str) -> None:
        await self.send(calls.delete_alias(name, alias))

    async def alias_history(self, name: str, alias: str, limit: int = 100) -> list[Record]:
        """The alias's changes, newest first (``action``, ``actor``, ``at``, ``from``, ``to``, ``reason``)."""
        return await self.send(calls.alias_history(name, alias, limit))

    async def rollback_alias(self, name: str, alias: str, reason: str = "") -> Record:
        """Put the alias back on the policy it had before its latest change."""
        return await self.send(calls.rollback_alias(name, alias, reason))

    async def delete_version(self, name: str, version: int) -> None:
        await self.send(calls.delete_version(name, version))

    # --- predictions
    async def predict(self, name: str, rows: Any, version: str | int | None = None, *,
                confidence_threshold: float | None = None, deadline_s: float | None = None,
                cache: bool = True) -> Prediction:
        """Predict one row or a list of rows (lists, numpy arrays or a pandas DataFrame).

        ``deadline_s`` is sent as ``X-Request-Timeout``; ``cache=False`` bypasses the cache.
        """
        call = calls.predict(name, rows, version=version, confidence_threshold=confidence_threshold,
                             timeout=deadline_s, cache=cache)
        return await self.send(call)

    async def predict_batch(self, name: str, rows: Any, version: str | int | None = None, *,
                      deadline_s: float | None = None, cache: bool = True) -> Prediction:
        call = calls.predict_batch(name, rows, version=version, timeout=deadline_s, cache=cache)
        return await self.send(call)

    async def predict_file(self, name: str, file: FileLike, version: str | int | None = None) -> Prediction:
        return await self.send(calls.predict_file(name, file, version=version))

    async def embed(self, name: str, texts: str | list[str], version: str | int | None = None) -> Record:
        return await self.send(calls.embed(name, texts, version=version))

    async def classify(self, name: str, texts: str | list[str],
                 version: str | int | None = None) -> Prediction:
        return await self.send(calls.classify(name, texts, version=version))

    async def ner(self, name: str, texts: str | list[str], version: str | int | None = None) -> Record:
        """Entities per text: ``entity``, ``start``, ``end``, ``word``, ``score``."""
        return await self.send(calls.ner(name, texts, version=version))

    # --- jobs
    async def train(self, dataset: str, estimator: str, name: str, *, alias: str | None = None,
              target: str = "target", hyperparameters: Mapping[str, Any] | None = None,
              features: list[str] | None = None, test_size: float | None = None,
              random_state: int | None = None, idempotency_key: str | None = None) -> AsyncJobHandle:
        """Submit a training job; ``.wait(progress)`` on the handle follows it."""
        body = train_body(dataset, estimator, name, alias=alias, target=target,
                          hyperparameters=hyperparameters, features=features, test_size=test_size,
                          random_state=random_state)
        return AsyncJobHandle(self, await self.send(calls.train(body, idempotency_key)))

    async def batch_predict(self, model: str, dataset: str, *, version: str | int | None = None,
                      features: list[str] | None = None,
                      idempotency_key: str | None = None) -> AsyncJobHandle:
        body = job_body(model=model, dataset=dataset, version=None if version is None else str(version),
                        features=features)
        return AsyncJobHandle(self, await self.send(calls.batch_predict(body, idempotency_key)))

    async def get_job(self, job_id: str) -> Job:
        return await self.send(calls.get_job(job_id))

    async def list_jobs(self, *, state: str | None = None, kind: str | None = None, limit: int = 50,
                  offset: int = 0) -> Record:
        return await self.send(calls.list_jobs(state=state, kind=kind, limit=limit, offset=offset))

    async def cancel_job(self, job_id: str) -> Job:
        return await self.send(calls.cancel_job(job_id))

    def job(self, job_id: str) -> AsyncJobHandle:
        """A handle on an existing job (to ``wait()`` on it)."""
        return AsyncJobHandle(self, Record({"job_id": job_id, "created": False}))

    # --- datasets
    async def upload_dataset(self, file: FileLike, name: str | None = None, *,
                       header: bool | None = None) -> Record:
        """``header=False``: the CSV's first line is data (default: detected)."""
        return await self.send(calls.upload_dataset(file, name=name, header=header))

    async def list_datasets(self, *, limit: int = 50, offset: int = 0) -> Record:
        return await self.send(calls.list_datasets(limit=limit, offset=offset))

    async def get_dataset(self, dataset_id: str) -> Record:
        return await self.send(calls.get_dataset(dataset_id))

    async def download_dataset(self, dataset_id: str) -> bytes:
        return await self.send(calls.download_dataset(dataset_id))

    async def delete_dataset(self, dataset_id: str) -> None:
        await self.send(calls.delete_dataset(dataset_id))

    # --- prediction log, feedback, monitoring
    async def list_predictions(self, **filters: Any) -> Record:
        """Filters: model, version, since, until, status, principal, limit, cursor."""
        return await self.send(calls.list_predictions(filters))

    async def export_predictions(self, format: str = "csv", **filters: Any) -> bytes:  # noqa: A002
        return await self.send(calls.export_predictions(format, filters))

    async def get_prediction(self, request_id: str) -> Record:
        return await self.send(calls.get_prediction(request_id))

    async def feedback(self, request_id: str, actual: Any) -> Record:
        return await self.send(calls.feedback(request_id, actual))

    async def performance(self, name: str, version: str | int, window: str = "24h") -> Record:
        return await self.send(calls.performance(name, version, window))

    async def drift(self, name: str, version: str | int, window: str = "24h") -> Record:
        return await self.send(calls.drift(name, version, window))

    async def set_reference(self, name: str, version: str | int, file: FileLike) -> Record:
        return await self.send(calls.set_reference(name, version, file))

    async def usage(self, **params: Any) -> Record:
        return await self.send(calls.usage(params))

    # --- keys and users
    async def list_keys(self) -> list[Record]:
        return await self.send(calls.list_keys())

    async def create_key(self, scopes: list[str], *, name: str = "", expires_in: str | None = None,
                   rate_limit: str | None = None, owner: str | None = None,
                   models: list[str] | None = None) -> Record:
        """The answer's ``key`` is the secret, shown this once; ``models`` limits it to name patterns."""
        call = calls.create_key(scopes, name=name, expires_in=expires_in, rate_limit=rate_limit, owner=owner,
                                models=models)
        return await self.send(call)

    async def get_key(self, key_id: str) -> Record:
        return await self.send(calls.get_key(key_id))

    async def revoke_key(self, key_id: str) -> None:
        await self.send(calls.revoke_key(key_id))

    async def list_users(self) -> list[Record]:
        return await self.send(calls.list_users())

    async def create_user(self, username: str, password: str, *, role: str = "user",
                    scopes: list[str] | None = None, models: list[str] | None = None) -> Record:
        return await self.send(calls.create_user(username, password, role=role, scopes=scopes, models=models))

    async def update_user(self, username: str, **changes: Any) -> Record:
        """e.g. ``update_user("alice", disabled=True)`` or ``scopes=[...]``."""
        return await self.send(calls.update_user(username, changes))

    async def delete_user(self, username: str) -> None:
        await self.send(calls.delete_user(username))

    async def change_password(self, current_password: str, new_password: str) -> None:
        await self.send(calls.change_password(current_password, new_password))

    async def ready(self) -> Record:
        return await self.send(calls.health_ready())
