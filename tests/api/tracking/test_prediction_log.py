"""The prediction log end to end: every request becomes exactly one row, visible through the API."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow.parquet as pq
import pytest

from modelport.core.types import InferenceRequest
from modelport.errors import ModelNotFound
from tests.fixtures.tracking import count_rows, principal_header, register_sum, serve

Sender = Callable[[httpx.AsyncClient, int, dict[str, str]], Awaitable[None]]


async def send_rest(client: httpx.AsyncClient, i: int, headers: dict[str, str]) -> None:
    r = await client.post("/api/v1/models/sum/predict", json={"features": [i, 1, 2]},
                          headers={**headers, "X-Request-ID": f"rest-{i}"})
    assert r.status_code == 200, r.text


# protocol name -> (one-prediction sender, value expected in the row's ``protocol`` column).
# New edges (OIP /v2, gRPC) add an entry here.
PROTOCOLS: dict[str, tuple[Sender, str]] = {"rest": (send_rest, "rest")}


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
async def test_n_predictions_then_graceful_stop_leave_exactly_n_rows(
    make_settings: Any, fake_flavors: None, tmp_path: Path, protocol: str
) -> None:
    # a long flush interval: the rows can only reach the table through the shutdown flush
    settings = make_settings(log_flush_interval_s=60, cache_enabled=False)
    sender, expected = PROTOCOLS[protocol]
    n = 57
    async with serve(settings, headers=principal_header("key-7", "predict")) as (services, client):
        await register_sum(services, tmp_path)
        for i in range(n):
            await sender(client, i, {})
        assert await count_rows(settings) == 0  # nothing written on the request path
    assert await count_rows(settings) == n
    assert await count_rows(settings, principal="key-7", protocol=expected, status="ok") == n


async def test_failed_requests_are_logged_with_their_error_code(
    make_settings: Any, fake_flavors: None, tmp_path: Path
) -> None:
    settings = make_settings(cache_enabled=False)
    async with serve(settings) as (services, client):
        await register_sum(services, tmp_path)
        path = tmp_path / "fail.json"
        path.write_text("{}")
        await services.models.register_file("boom", "test-failing", path)
        # the core logs an unknown model too (the /api/v1 edge resolves before calling it)
        with pytest.raises(ModelNotFound):
            await services.inference.infer(InferenceRequest(
                model="nope", inputs={"input": np.ones((1, 3))}, request_id="e-404", protocol="rest"))
        assert (await client.post("/api/v1/models/sum/predict", json={"features": [1, 2]},
                                  headers={"X-Request-ID": "e-400"})).status_code == 400
        assert (await client.post("/api/v1/models/boom/predict", json={"features": [1, 2, 3]},
                                  headers={"X-Request-ID": "e-500"})).status_code == 500
        await services.tracking.recorder.flush()
        r = await client.get("/api/v1/predictions", params={"status": "error"})
        codes = {item["request_id"]: item["error_code"] for item in r.json()["items"]}
        assert codes == {"e-404": "model_not_found", "e-400": "invalid_input", "e-500": "model_error"}
        one = (await client.get("/api/v1/predictions/e-500")).json()
        assert one["model"] == "boom" and one["version"] == 1 and one["outputs"] is None
        assert one["inputs"] == {"input": [[1.0, 2.0, 3.0]]}


async def _predict(client: httpx.AsyncClient, rid: str, features: list[float], who: str) -> None:
    r = await client.post("/api/v1/models/sum/predict", json={"features": features},
                          headers={"X-Request-ID": rid, **principal_header(who, "predict")})
    assert r.status_code == 200, r.text


async def test_query_pages_filters_visibility_and_exports(
    make_settings: Any, fake_flavors: None, tmp_path: Path
) -> None:
    settings = make_settings(cache_enabled=False)
    async with serve(settings) as (services, client):
        await register_sum(services, tmp_path)
        for i in range(25):
            await _predict(client, f"a-{i:02d}", [i, 0, 0], "alice")
        for i in range(5):
            await _predict(client, f"b-{i}", [i, 1, 1], "bob")
        await services.tracking.recorder.flush()

        # keyset pages: newest first, no repeats, no gaps
        seen: list[str] = []
        cursor = None
        for _page in range(10):  # 30 rows in pages of 7: 5 pages; a cursor that never ends fails
            params: dict[str, Any] = {"limit": 7, "model": "sum"}
            if cursor:
                params["cursor"] = cursor
            body = (await client.get("/api/v1/predictions", params=params)).json()
            seen += [item["request_id"] for item in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        else:
            raise AssertionError(f"no last page after 10 pages: {seen}")
        assert len(seen) == 30 and len(set(seen)) == 30
        assert seen[0] == "b-4"  # newest first

        alice = (await client.get("/api/v1/predictions", params={"principal": "alice", "limit": 100})).json()
        assert {i["principal"] for i in alice["items"]} == {"alice"} and len(alice["items"]) == 25
        item = (await client.get("/api/v1/predictions/a-03")).json()
        assert item["inputs"] == {"input": [[3.0, 0.0, 0.0]]}
        assert item["outputs"] == {"predictions": [3.0]} and item["alias"] is None

        # a predict-only key sees its own rows only, whatever it asks for
        bob = principal_header("bob", "predict")
        own = (await client.get("/api/v1/predictions", params={"principal": "alice"}, headers=bob)).json()
        assert {i["request_id"] for i in own["items"]} == {f"b-{i}" for i in range(5)}
        assert (await client.get("/api/v1/predictions/a-01", headers=bob)).status_code == 404
        assert (await client.get("/api/v1/predictions/b-1", headers=bob)).status_code == 200

        r = await client.get("/api/v1/predictions", params={"format": "csv", "principal": "bob"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert sorted(row["request_id"] for row in rows) == [f"b-{i}" for i in range(5)]
        assert rows[0]["outputs"].startswith('{"predictions"')

        r = await client.get("/api/v1/predictions", params={"format": "parquet"})
        table = pq.read_table(io.BytesIO(r.content))
        assert table.num_rows == 30 and "latency_ms" in table.column_names

        assert (await client.get("/api/v1/predictions", params={"cursor": "garbage"})).status_code == 400
        assert (await client.get("/api/v1/predictions", params={"limit": 0})).status_code == 422
        assert (await client.get("/api/v1/predictions/unknown-id")).status_code == 404


async def test_usage_by_key_and_model(make_settings: Any, fake_flavors: None, tmp_path: Path) -> None:
    settings = make_settings(cache_enabled=False)
    async with serve(settings) as (services, client):
        await register_sum(services, tmp_path)
        for i in range(3):
            await _predict(client, f"u-a-{i}", [i, 0, 0], "alice")
        await _predict(client, "u-b-0", [1, 1, 1], "bob")
        r = await client.post("/api/v1/models/sum/predict", json={"features": [1]},
                              headers=principal_header("bob", "predict"))
        assert r.status_code == 400
        await services.tracking.recorder.flush()
        admin = principal_header("root", "admin")
        by_key = (await client.get("/api/v1/usage", params={"by": "key"}, headers=admin)).json()["items"]
        assert {u["key"]: (u["requests"], u["rows"], u["errors"]) for u in by_key} == {
            "alice": (3, 3, 0), "bob": (2, 2, 1)}
        by_model = (await client.get("/api/v1/usage", params={"by": "model"}, headers=admin)).json()
        assert by_model["items"][0]["model"] == "sum" and by_model["items"][0]["requests"] == 5
        own = (await client.get("/api/v1/usage", headers=principal_header("alice", "predict"))).json()
        assert [u["key"] for u in own["items"]] == ["alice"]
        assert (await client.get("/api/v1/usage", params={"by": "nope"})).status_code == 422


async def test_logging_off_writes_nothing(make_settings: Any, fake_flavors: None, tmp_path: Path) -> None:
    settings = make_settings(prediction_log=False)
    async with serve(settings) as (services, client):
        await register_sum(services, tmp_path)
        await _predict(client, "off-1", [1, 2, 3], "alice")
    assert await count_rows(settings) == 0


async def test_per_model_capture_override(make_settings: Any, fake_flavors: None, tmp_path: Path) -> None:
    from modelport.registry.manifest import ServingConfig

    settings = make_settings(cache_enabled=False)
    async with serve(settings) as (services, client):
        await register_sum(services, tmp_path, config=ServingConfig(capture="hash"))
        await _predict(client, "h-1", [1, 2, 3], "alice")
        await services.tracking.recorder.flush()
        item = (await client.get("/api/v1/predictions/h-1")).json()
        assert item["inputs"] is None and len(item["inputs_hash"]) == 64
