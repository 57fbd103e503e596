"""N predictions through /api/v1, OIP /v2 and OIP gRPC, then a graceful stop: exactly N rows per
protocol, each with the caller's principal and its protocol."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import numpy as np
import pytest

from modelport.app import create_app
from tests.conftest import (
    build_test_settings,
    fake_flavors_registered,
    first_start_admin_headers,
    mint_admin_headers,
    serve_in_thread,
    write_fake_artifact,
)
from tests.fixtures.tracking import count_rows

N = 23


@pytest.mark.slow
def test_every_protocol_logs_exactly_one_row_per_prediction(tmp_path: Path) -> None:
    import tritonclient.grpc as grpcclient

    # a long flush interval: rows can only reach the table through the shutdown flush
    settings = build_test_settings(tmp_path / "home", grpc_enabled=True, grpc_port=0,
                                   log_flush_interval_s=60, cache_enabled=False)
    asyncio.run(first_start_admin_headers(settings))
    with fake_flavors_registered(), serve_in_thread(create_app(settings)) as server:
        services = server.services
        server.run(services.models.register_file("sum", "test-sum", write_fake_artifact(tmp_path)))
        headers = server.run(mint_admin_headers(services, ["predict"]))
        key_id = headers["Authorization"].split("_")[1]
        for i in range(N):
            r = httpx.post(f"{server.url}/api/v1/models/sum/predict", json={"features": [i, 1, 2]},
                           headers=headers)
            assert r.status_code == 200, r.text
            r = httpx.post(f"{server.url}/v2/models/sum/infer", headers=headers, json={
                "inputs": [{"name": "input", "shape": [1, 3], "datatype": "FP64", "data": [i, 1, 2]}]})
            assert r.status_code == 200, r.text
        grpc = grpcclient.InferenceServerClient(server.grpc_address)
        try:
            for i in range(N):
                tensor = grpcclient.InferInput("input", [1, 3], "FP64")
                tensor.set_data_from_numpy(np.array([[i, 1.0, 2.0]]))
                result = grpc.infer("sum", [tensor], headers={"authorization": headers["Authorization"]})
                assert result.as_numpy("predictions")[0] == i + 3
        finally:
            grpc.close()
        assert asyncio.run(count_rows(settings)) == 0  # nothing was written on the request path
    principal = f"key:{key_id}"
    assert asyncio.run(count_rows(settings)) == 3 * N
    for protocol in ("rest", "v2-rest", "grpc"):
        assert asyncio.run(count_rows(settings, protocol=protocol, principal=principal, status="ok")) == N
