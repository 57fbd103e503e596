"""Alias traffic policies at the API: weights split requests, sticky callers stay put, every
protocol follows the policy, and the prediction log records the arm that served."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from modelport.core.traffic import TrafficPolicy
from modelport.tracking.tables import PredictionRow
from tests.fixtures.tracking import principal_header, serve
from tests.traffic.support import add_versions, running, served_by, traffic_settings

ROW = {"features": [1, 2, 3]}
SPLIT = {"routes": [{"version": 1, "weight": 90}, {"version": 2, "weight": 10}]}


async def test_split_90_10_within_3_points_and_logged_per_arm(
    any_database_url: str | None, tmp_path: Path, fake_flavors: None
) -> None:
    async with running(traffic_settings(tmp_path / "home", any_database_url)) as (services, client):
        await add_versions(services, tmp_path)
        r = await client.put("/api/v1/models/m/aliases/production", json=SPLIT)
        assert r.status_code == 200, r.text
        assert r.json()["version"] == 1 and r.json()["traffic"]["routes"] == SPLIT["routes"]
        shown = (await client.get("/api/v1/models/m/aliases/production")).json()
        assert shown["traffic"] == {**SPLIT, "sticky": None, "shadow": None, "guard": None}

        counts: Counter[int] = Counter()
        for _ in range(2000):
            r = await client.post("/api/v1/models/m/predict", json=ROW)
            assert r.status_code == 200
            counts[served_by(r.json())] += 1
        assert set(counts) == {1, 2}
        assert abs(counts[1] / 2000 - 0.90) <= 0.03 and abs(counts[2] / 2000 - 0.10) <= 0.03, counts

        # the Open Inference Protocol edge follows the same policy
        oip: Counter[int] = Counter()
        body = {"inputs": [{"name": "input", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}]}
        for _ in range(200):
            r = await client.post("/v2/models/m/infer", json=body)
            assert r.status_code == 200, r.text
            out = r.json()
            oip[int(out["model_version"])] += 1
            assert out["outputs"][0]["data"][0] == 6 + 100 * (int(out["model_version"]) - 1)
        assert set(oip) == {1, 2}

        # a version number or `latest` bypasses the policy
        r = await client.post("/api/v1/models/m/predict", json={**ROW, "version": "3"})
        assert served_by(r.json()) == 3

        await services.tracking.recorder.flush()
        async with services.sessions() as session:
            rows = (await session.execute(
                select(PredictionRow.version, PredictionRow.arm).where(PredictionRow.protocol == "rest")
            )).all()
        arms = Counter((v, a) for v, a in rows)
        assert arms[(1, "primary")] == counts[1] and arms[(2, "canary")] == counts[2]
        assert arms[(3, None)] == 1


async def test_sticky_header_keeps_callers_and_a_weight_change_moves_few(
    any_database_url: str | None, tmp_path: Path, fake_flavors: None
) -> None:
    async with running(traffic_settings(tmp_path / "home", any_database_url)) as (services, client):
        await add_versions(services, tmp_path)
        policy = {**SPLIT, "sticky": "header:X-User-Id"}
        assert (await client.put("/api/v1/models/m/aliases/production", json=policy)).status_code == 200

        async def assignment(users: range, repeats: int) -> dict[int, int]:
            found: dict[int, int] = {}
            for user in users:
                seen = set()
                for _ in range(repeats):
                    r = await client.post("/api/v1/models/m/predict", json=ROW,
                                          headers={"X-User-Id": f"user-{user}"})
                    seen.add(served_by(r.json()))
                assert len(seen) == 1, f"user-{user} was served by {seen}"
                found[user] = seen.pop()
            return found

        before = await assignment(range(1000), 2)
        share = sum(1 for v in before.values() if v == 2) / len(before)
        assert abs(share - 0.10) <= 0.03
        policy["routes"] = [{"version": 1, "weight": 80}, {"version": 2, "weight": 20}]
        assert (await client.put("/api/v1/models/m/aliases/production", json=policy)).status_code == 200
        after = await assignment(range(1000), 1)
        moved = [u for u in before if before[u] != after[u]]
        assert all(before[u] == 1 and after[u] == 2 for u in moved)  # only towards the grown arm
        assert 0.05 <= len(moved) / len(before) <= 0.12, len(moved)


async def test_sticky_principal_keeps_each_caller_on_one_arm(
    make_settings: Any, tmp_path: Path, fake_flavors: None
) -> None:
    settings = make_settings(rate_limit="10000000/minute", cache_enabled=False)
    async with serve(settings) as (services, client):
        await add_versions(services, tmp_path)
        policy = {"routes": [{"version": 1, "weight": 50}, {"version": 2, "weight": 50}],
                  "sticky": "principal"}
        assert (await client.put("/api/v1/models/m/aliases/production", json=policy)).status_code == 200
        arms: dict[str, set[int]] = {}
        for caller in range(60):
            for _ in range(4):
                r = await client.post("/api/v1/models/m/predict", json=ROW,
                                      headers=principal_header(f"caller{caller}", "predict"))
                assert r.status_code == 200
                arms.setdefault(f"caller{caller}", set()).add(served_by(r.json()))
        assert all(len(v) == 1 for v in arms.values()), arms
        assert {next(iter(v)) for v in arms.values()} == {1, 2}  # and callers are spread over both


@pytest.mark.parametrize(("body", "status", "needle"), [
    ({"version": 1, "routes": [{"version": 2, "weight": 1}]}, 422, "either"),
    ({"routes": [{"version": 1, "weight": 50}, {"version": 1, "weight": 50}]}, 422, "once"),
    ({"routes": [{"version": 1, "weight": 0}]}, 422, "greater than 0"),
    ({"routes": [{"version": 1, "weight": 9}], "shadow": {"version": 1, "fraction": 0.5}}, 422, "shadow"),
    ({"routes": [{"version": 1, "weight": 9}], "shadow": {"version": 2, "fraction": 1.5}}, 422, "less than"),
    ({"routes": [{"version": 1, "weight": 9}], "sticky": "cookie"}, 422, "sticky"),
    ({"routes": [{"version": 1, "weight": 9}], "guard": {"min_requests": 5}}, 422, "guard needs"),
    ({"routes": [{"version": 1, "weight": 9}, {"version": 7, "weight": 1}]}, 404, "version"),
])
async def test_bad_policies_are_refused_with_a_reason(
    tmp_path: Path, fake_flavors: None, body: dict[str, Any], status: int, needle: str
) -> None:
    async with running(traffic_settings(tmp_path / "home", None)) as (services, client):
        await add_versions(services, tmp_path, count=2)
        r = await client.put("/api/v1/models/m/aliases/production", json=body)
        assert r.status_code == status, r.text
        assert needle in r.text
        assert (await client.get("/api/v1/models/m/aliases/production")).json()["traffic"]["routes"] == [
            {"version": 1, "weight": 100}]


async def test_cache_is_keyed_by_the_version_that_served(tmp_path: Path, fake_flavors: None) -> None:
    settings = traffic_settings(tmp_path / "home", None, cache_enabled=True)
    async with running(settings) as (services, client):
        await add_versions(services, tmp_path)
        half = {"routes": [{"version": 1, "weight": 50}, {"version": 2, "weight": 50}]}
        assert (await client.put("/api/v1/models/m/aliases/production", json=half)).status_code == 200
        seen: Counter[int] = Counter()
        for _ in range(200):  # one input, cached: each answer still from its own arm
            seen[served_by((await client.post("/api/v1/models/m/predict", json=ROW)).json())] += 1
        assert set(seen) == {1, 2}


async def test_another_replica_follows_the_policy(any_database_url: str | None, tmp_path: Path,
                                                  fake_flavors: None) -> None:
    from modelport.bootstrap import build_services
    from modelport.core.types import InferenceRequest

    settings = traffic_settings(tmp_path / "home", any_database_url, registry_cache_ttl_s=0.2)
    async with running(settings) as (services, client):
        await add_versions(services, tmp_path)
        replica = build_services(settings)
        await replica.start()
        try:
            async def versions(n: int) -> set[int]:
                found = set()
                for _ in range(n):
                    request = InferenceRequest(model="m", inputs={"input": np.array([[1.0, 2.0, 3.0]])})
                    found.add((await replica.inference.infer(request)).version)
                return found

            assert await versions(20) == {1}
            assert (await client.put("/api/v1/models/m/aliases/production", json=SPLIT)).status_code == 200
            await asyncio.sleep(0.3)  # the replica's cached policy expires
            assert await versions(300) == {1, 2}
            r = await client.delete("/api/v1/models/m/versions/2")  # still a canary: refused
            assert r.status_code == 409 and "traffic policy" in r.json()["detail"]
        finally:
            await replica.close()


def test_grpc_follows_the_policy_and_header_stickiness(make_settings: Any, admin_headers: dict[str, str],
                                                       tmp_path: Path, fake_flavors: None) -> None:
    import grpc

    from modelport.app import create_app
    from modelport.oip.generated import grpc_service_pb2 as pb
    from modelport.oip.generated import grpc_service_pb2_grpc as pb_grpc
    from tests.conftest import serve_in_thread

    settings = make_settings(grpc_enabled=True, grpc_port=0, rate_limit="10000000/minute",
                             cache_enabled=False)
    with serve_in_thread(create_app(settings)) as server:
        server.run(add_versions(server.services, tmp_path))
        policy = {**SPLIT, "sticky": "header:X-User-Id"}
        state = server.run(server.services.traffic.apply(
            "m", "production", TrafficPolicy.model_validate(policy), actor="test"))
        assert state.policy.sticky == "header:x-user-id"
        contents = pb.InferTensorContents(fp64_contents=[1, 2, 3])
        tensor = pb.ModelInferRequest.InferInputTensor(name="input", datatype="FP64", shape=[1, 3],
                                                       contents=contents)
        credentials = [(k.lower(), v) for k, v in admin_headers.items()]
        with grpc.insecure_channel(server.grpc_address) as channel:
            stub = pb_grpc.GRPCInferenceServiceStub(channel)
            arms: dict[int, set[int]] = {}
            for user in range(150):
                for _ in range(2):
                    reply = stub.ModelInfer(pb.ModelInferRequest(model_name="m", inputs=[tensor]),
                                            metadata=[*credentials, ("x-user-id", f"user-{user}")])
                    version = int(reply.model_version)
                    assert reply.outputs[0].contents.fp64_contents[0] == 6 + 100 * (version - 1)
                    arms.setdefault(user, set()).add(version)
        assert all(len(v) == 1 for v in arms.values())
        assert {next(iter(v)) for v in arms.values()} == {1, 2}
