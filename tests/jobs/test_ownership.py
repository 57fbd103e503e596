"""Jobs and datasets belong to the user behind the credential: others' ids are 404s, lists are
filtered, admins see everything, and nobody submits a job on a dataset they cannot see.

Only submission is exercised (the embedded engine may pick the small jobs up meanwhile; no
assertion depends on whether it did). That a batch job's output dataset belongs to the job's
owner is checked where a job really runs, in test_embedded_engine.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from modelport.app import create_app
from modelport.bootstrap import Services
from tests.conftest import write_fake_artifact

CSV = b"a,b,target\n1,2.5,0\n3,4.5,1\n5,6.5,0\n7,8.5,1\n9,1.5,0\n"


@dataclass
class Actors:
    a_token: httpx.AsyncClient
    a_key: httpx.AsyncClient  # another credential of the same user
    b: httpx.AsyncClient
    admin: httpx.AsyncClient
    a_id: str
    b_id: str
    app: FastAPI


def _client(app: FastAPI, headers: dict[str, str]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api", headers=headers)


@pytest.fixture
async def actors(make_settings: Any, admin_headers: dict[str, str]) -> AsyncIterator[Actors]:
    app = create_app(make_settings())
    async with app.router.lifespan_context(app):
        services: Services = app.state.services
        auth = services.auth
        user_a = await auth.users.create("alice", None, scopes=["jobs", "predict"])
        user_b = await auth.users.create("bob", None, scopes=["jobs", "predict"])
        token_a, _ = auth.tokens.issue(user_a.username, user_a.id, frozenset(user_a.scopes))
        token_b, _ = auth.tokens.issue(user_b.username, user_b.id, frozenset(user_b.scopes))
        _, key_a = await auth.keys.create(user_a.id, name="alice's key", scopes=["jobs"])
        async with _client(app, {"Authorization": f"Bearer {token_a}"}) as a_token, \
                _client(app, {"X-API-Key": key_a}) as a_key, \
                _client(app, {"Authorization": f"Bearer {token_b}"}) as b, \
                _client(app, admin_headers) as admin:
            yield Actors(a_token, a_key, b, admin, user_a.id, user_b.id, app)


def _train(dataset: str, name: str) -> dict[str, Any]:
    return {"dataset": dataset, "estimator": "LogisticRegression", "register_as": {"name": name}}


async def _upload(client: httpx.AsyncClient) -> str:
    r = await client.post("/api/v1/datasets", files={"file": ("a.csv", CSV)})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _not_found(r: httpx.Response, kind: str, ident: str) -> None:
    """The answer for someone else's id is the answer for an unknown one."""
    assert r.status_code == 404, r.text
    assert r.json()["detail"] == f"{kind} {ident!r} not found"


async def test_datasets_belong_to_their_uploader(actors: Actors) -> None:
    ds = await _upload(actors.a_token)
    r = await actors.a_key.get(f"/api/v1/datasets/{ds}")  # the user's key sees the token's upload
    assert r.status_code == 200 and r.json()["owner"] == actors.a_id
    assert (await actors.a_key.get(f"/api/v1/datasets/{ds}/download")).content == CSV

    _not_found(await actors.b.get(f"/api/v1/datasets/{ds}"), "dataset", ds)
    _not_found(await actors.b.get(f"/api/v1/datasets/{ds}/download"), "dataset", ds)
    _not_found(await actors.b.delete(f"/api/v1/datasets/{ds}"), "dataset", ds)
    _not_found(await actors.b.get("/api/v1/datasets/0123456789abcdef"), "dataset", "0123456789abcdef")
    builtin = await actors.b.get("/api/v1/datasets/builtin:iris")
    assert builtin.status_code == 200 and builtin.json()["owner"] is None

    b_ds = await _upload(actors.b)
    listing = (await actors.b.get("/api/v1/datasets")).json()
    assert [d["id"] for d in listing["items"]] == [b_ds] and listing["total"] == 1
    assert "builtin:iris" in listing["builtin"]
    assert [d["id"] for d in (await actors.a_key.get("/api/v1/datasets")).json()["items"]] == [ds]
    assert (await actors.b.get("/api/v1/datasets", params={"owner": actors.a_id})).status_code == 403
    assert (await actors.b.get("/api/v1/datasets", params={"owner": actors.b_id})).json()["total"] == 1

    everyone = (await actors.admin.get("/api/v1/datasets")).json()
    assert {ds, b_ds} <= {d["id"] for d in everyone["items"]}
    only_a = (await actors.admin.get("/api/v1/datasets", params={"owner": actors.a_id})).json()
    assert [d["id"] for d in only_a["items"]] == [ds]
    assert (await actors.admin.get(f"/api/v1/datasets/{ds}")).status_code == 200

    assert (await actors.a_key.delete(f"/api/v1/datasets/{ds}")).status_code == 204
    _not_found(await actors.a_token.get(f"/api/v1/datasets/{ds}"), "dataset", ds)


async def test_jobs_belong_to_their_submitter(actors: Actors) -> None:
    ds = await _upload(actors.a_token)
    r = await actors.a_token.post("/api/v1/jobs/train", json=_train(ds, "alice-model"),
                                  headers={"Idempotency-Key": "same"})
    assert r.status_code == 202, r.text
    job = r.json()["job_id"]
    # the same user through its key: the same job for the same Idempotency-Key, visible too
    again = await actors.a_key.post("/api/v1/jobs/train", json=_train(ds, "alice-model"),
                                    headers={"Idempotency-Key": "same"})
    assert again.json() == {"job_id": job, "state": again.json()["state"], "created": False}
    seen = await actors.a_key.get(f"/api/v1/jobs/{job}")
    assert seen.status_code == 200 and seen.json()["owner"] == actors.a_id

    _not_found(await actors.b.get(f"/api/v1/jobs/{job}"), "job", job)
    _not_found(await actors.b.delete(f"/api/v1/jobs/{job}"), "job", job)
    assert (await actors.a_token.get(f"/api/v1/jobs/{job}")).json()["cancel_requested"] is False

    # B cannot train or batch-predict on A's dataset; builtins are everyone's
    r = await actors.b.post("/api/v1/jobs/train", json=_train(ds, "bob-model"))
    _not_found(r, "dataset", ds)
    r = await actors.b.post("/api/v1/jobs/train", json=_train("builtin:iris", "bob-model"),
                            headers={"Idempotency-Key": "same"})  # B's key space is B's own
    assert r.status_code == 202 and r.json()["created"] is True
    b_job = r.json()["job_id"]

    assert [j["id"] for j in (await actors.b.get("/api/v1/jobs")).json()["items"]] == [b_job]
    assert [j["id"] for j in (await actors.a_key.get("/api/v1/jobs")).json()["items"]] == [job]
    assert (await actors.b.get("/api/v1/jobs", params={"owner": actors.a_id})).status_code == 403
    everyone = (await actors.admin.get("/api/v1/jobs")).json()
    assert {job, b_job} <= {j["id"] for j in everyone["items"]} and everyone["total"] == 2
    only_b = (await actors.admin.get("/api/v1/jobs", params={"owner": actors.b_id})).json()
    assert [j["id"] for j in only_b["items"]] == [b_job] and only_b["total"] == 1

    # the owner (and an admin) may cancel; a finished job answers 409, never 404
    r = await actors.a_key.delete(f"/api/v1/jobs/{job}")
    assert r.status_code in (200, 409), r.text
    r = await actors.admin.delete(f"/api/v1/jobs/{b_job}")
    assert r.status_code in (200, 409), r.text
    assert (await actors.admin.get(f"/api/v1/jobs/{b_job}")).status_code == 200


async def test_batch_predict_only_on_visible_datasets(actors: Actors, fake_flavors: None,
                                                     tmp_path: Path) -> None:
    """The model is shared; the dataset must be the submitter's own (or a builtin)."""
    services: Services = actors.app.state.services
    await services.models.register_file("pair", "test-sum", write_fake_artifact(tmp_path, n_features=2))
    a_ds, b_ds = await _upload(actors.a_token), await _upload(actors.b)
    r = await actors.b.post("/api/v1/jobs/batch-predict", json={"model": "pair", "dataset": a_ds})
    _not_found(r, "dataset", a_ds)
    r = await actors.b.post("/api/v1/jobs/batch-predict", json={"model": "pair", "dataset": b_ds})
    assert r.status_code == 202, r.text
    r = await actors.admin.post("/api/v1/jobs/batch-predict", json={"model": "pair", "dataset": a_ds})
    assert r.status_code == 202, r.text  # admins see every dataset
    assert (await actors.a_token.get("/api/v1/jobs")).json()["total"] == 0
