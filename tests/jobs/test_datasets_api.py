"""/api/v1/datasets: uploads (CSV, Parquet), inferred schema, limits, download, delete."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelport.app import create_app

CSV = b"a,b,label\n1,2.5,x\n3,4.5,y\n5,6.5,x\n7,8.5,y\n"


@pytest.fixture
async def client(make_settings: Any, admin_headers: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(max_upload_bytes=4096))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api", headers=admin_headers
    ) as c:
        yield c


async def test_csv_upload_schema_download_delete(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/datasets", files={"file": ("train.csv", CSV)}, data={"name": "toy"})
    assert r.status_code == 201, r.text
    ds = r.json()
    assert ds["name"] == "toy" and ds["format"] == "csv" and ds["num_rows"] == 4
    assert ds["columns"] == [{"name": "a", "type": "int64"}, {"name": "b", "type": "double"},
                             {"name": "label", "type": "string"}]
    assert (await client.get(f"/api/v1/datasets/{ds['id']}")).json() == ds
    listing = (await client.get("/api/v1/datasets")).json()
    assert listing["total"] == 1 and "builtin:iris" in listing["builtin"]
    r = await client.get(f"/api/v1/datasets/{ds['id']}/download")
    assert r.status_code == 200 and r.content == CSV
    assert (await client.delete(f"/api/v1/datasets/{ds['id']}")).status_code == 204
    assert (await client.get(f"/api/v1/datasets/{ds['id']}")).status_code == 404


async def test_parquet_upload(client: httpx.AsyncClient) -> None:
    buf = io.BytesIO()
    pq.write_table(pa.table({"x": [1.0, 2.0, 3.0], "target": [0, 1, 0]}), buf)
    r = await client.post("/api/v1/datasets", files={"file": ("data.bin", buf.getvalue())})
    assert r.status_code == 201, r.text
    assert r.json()["format"] == "parquet" and r.json()["num_rows"] == 3


async def test_bad_uploads_are_4xx(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/datasets", files={"file": ("big.csv", b"a\n" + b"1\n" * 5000)})
    assert r.status_code == 413
    r = await client.post("/api/v1/datasets", files={"file": ("x.parquet", b"PAR1 not really")})
    assert r.status_code == 400 and "parquet" in r.json()["detail"]
    r = await client.post("/api/v1/datasets", files={"file": ("ragged.csv", b"a,b\n1,2\n3\n")})
    assert r.status_code == 400
    r = await client.post("/api/v1/datasets", files={"file": ("empty.csv", b"a,b\n")})
    assert r.status_code == 400 and "no rows" in r.json()["detail"]
    assert (await client.get("/api/v1/datasets")).json()["total"] == 0


async def test_builtins(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/datasets/builtin:breast_cancer")
    assert r.status_code == 200
    body = r.json()
    assert body["builtin"] is True and body["num_rows"] == 569 and body["columns"][-1]["name"] == "target"
    assert (await client.get("/api/v1/datasets/builtin:nope")).status_code == 404
    assert (await client.delete("/api/v1/datasets/builtin:iris")).status_code == 400


async def test_train_submit_validation(client: httpx.AsyncClient) -> None:
    """Everything checkable without running the job is a 4xx before anything is queued."""
    r = await client.post("/api/v1/datasets", files={"file": ("t.csv", CSV)})
    ds = r.json()["id"]
    base = {"dataset": ds, "target": "label", "estimator": "RandomForestClassifier",
            "register_as": {"name": "toy"}}
    cases = [
        ({**base, "hyperparameters": {"max_depth": -3}}, 422),
        ({**base, "hyperparameters": {"criterion": "best"}}, 422),
        ({**base, "target": "missing"}, 400),
        ({**base, "features": ["a", "label"]}, 400),  # text feature
        ({**base, "estimator": "Ridge"}, 400),  # regressor on a text target
        ({**base, "dataset": "nope"}, 404),
        ({**base, "register_as": {"name": "../etc"}}, 422),
        ({**base, "test_size": 1.5}, 422),
    ]
    for body, status in cases:
        r = await client.post("/api/v1/jobs/train", json=body)
        assert r.status_code == status, (body, r.text)
    r = await client.post("/api/v1/jobs/batch-predict", json={"model": "absent", "dataset": ds})
    assert r.status_code == 404
    assert (await client.get("/api/v1/jobs")).json()["total"] == 0

    r1 = await client.post("/api/v1/jobs/train", json=base, headers={"Idempotency-Key": "k1"})
    r2 = await client.post("/api/v1/jobs/train", json=base, headers={"Idempotency-Key": "k1"})
    assert r1.status_code == r2.status_code == 202 and r1.json()["job_id"] == r2.json()["job_id"]
    r3 = await client.post("/api/v1/jobs/train", json={**base, "test_size": 0.5},
                           headers={"Idempotency-Key": "k1"})
    assert r3.status_code == 409
    assert (await client.get("/api/v1/jobs")).json()["total"] == 1
    assert (await client.delete(f"/api/v1/datasets/{ds}")).status_code == 409  # used by a queued job
    r = await client.delete(f"/api/v1/jobs/{r1.json()['job_id']}")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    assert (await client.get("/api/v1/jobs/unknown")).status_code == 404
