"""``Client`` against a live server: each method's answer equals the REST answer."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from modelport.client import BadRequest, Client, Conflict, Job, NotFound, Unauthorized, ValidationFailed
from tests.conftest import LiveServer

pytestmark = pytest.mark.timeout(180)
IRIS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
VOLATILE = {"latency_ms", "request_id"}


@pytest.fixture(scope="module")
def mp(server: LiveServer, admin_key: str) -> Any:
    with Client(server.url, api_key=admin_key) as c:
        yield c


@pytest.fixture(scope="module")
def rest(server: LiveServer, admin_key: str) -> Any:
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {admin_key}"}) as c:
        yield c


def stable(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in VOLATILE}


def test_models_match_rest(mp: Client, rest: httpx.Client) -> None:
    assert [m.to_dict() for m in mp.list_models()] == rest.get("/api/v1/models").json()
    assert mp.get_model("iris") == rest.get("/api/v1/models/iris").json()
    version = mp.get_version("iris", "production")
    assert version == rest.get("/api/v1/models/iris/versions/production").json()
    assert version.name == "iris" and "production" in version.aliases


def test_predict_lists_arrays_and_frames(mp: Client, rest: httpx.Client) -> None:
    expected = rest.post("/api/v1/models/iris/predict", json={"features": IRIS}).json()
    for rows in (IRIS, np.array(IRIS), pd.DataFrame(IRIS, columns=["a", "b", "c", "d"])):
        answer = mp.predict("iris", rows)
        assert stable(answer.to_dict()) == stable(expected)
    assert answer.predictions == expected["predictions"] and answer.version == expected["version"]
    batch = mp.predict_batch("iris", np.array(IRIS), version=1)
    assert batch.predictions == expected["predictions"]


def test_one_flat_row_reads_the_seeds_scalars(mp: Client, rest: httpx.Client) -> None:
    body = {"features": IRIS[0], "model_version": "production", "confidence_threshold": 0.8}
    expected = rest.post("/api/v1/models/iris/predict", json=body).json()
    answer = mp.predict("iris", np.array(IRIS[0]), version="production", confidence_threshold=0.8)
    assert stable(answer.to_dict()) == stable(expected)
    assert answer.prediction == 0 and isinstance(answer.confidence, float) and answer.model_version == 1
    assert answer.low_confidence == [answer.confidence < 0.8]
    rows = mp.predict("iris", IRIS, confidence_threshold=0.8)  # rows: lists, no scalar fields
    assert len(rows.confidence) == len(rows.low_confidence) == 2 and "prediction" not in rows


def test_errors_are_typed_and_carry_the_problem(server: LiveServer, mp: Client) -> None:
    with pytest.raises(NotFound) as missing:
        mp.get_model("no-such-model")
    assert missing.value.status == 404 and missing.value.problem["status"] == 404
    assert missing.value.request_id and "no-such-model" in missing.value.detail
    with pytest.raises(BadRequest, match=r"shape \[1, 2\]; expected \[N, 4\]"):
        mp.predict("iris", [[1.0, 2.0]])
    with pytest.raises(ValidationFailed) as invalid:
        mp.predict("iris", [["a", "b", "c", "d"]])
    assert invalid.value.code == "validation_error"
    assert invalid.value.errors[0]["field"].startswith("features")
    with Client(server.url) as anonymous, pytest.raises(Unauthorized):
        anonymous.list_models()


def test_upload_alias_and_delete(mp: Client, tmp_path: Path, server: LiveServer) -> None:
    artifact = server.services.settings.home / "artifacts" / "iris" / "1" / "model.skops"
    created = mp.upload_model(artifact, "iris-copy", "sklearn", description="copy", tags={"team": "a"})
    assert created.name == "iris-copy" and created.version == 1 and created.tags == {"team": "a"}
    second = mp.upload_model(io.BytesIO(artifact.read_bytes()), "iris-copy", "sklearn", alias="staging")
    assert second.version == 2 and "staging" in second.aliases
    moved = mp.set_alias("iris-copy", "production", 1)
    assert moved.version == 1 and "production" in moved.aliases
    assert mp.predict("iris-copy", IRIS[0], version="production").version == 1
    with pytest.raises(Conflict):
        mp.delete_version("iris-copy", 1)
    mp.delete_alias("iris-copy", "staging")
    mp.delete_version("iris-copy", 2)
    model = mp.get_model("iris-copy")
    assert model.aliases["production"] == 1 and "staging" not in model.aliases
    assert [v.version for v in model.versions] == [1]


def test_keys(mp: Client, rest: httpx.Client, server: LiveServer) -> None:
    created = mp.create_key(["predict"], name="ci", expires_in="1d")
    assert created.key.startswith("mp_") and created.scopes == ["predict"]
    listed = {k.id: k.to_dict() for k in mp.list_keys()}
    assert listed == {k["id"]: k for k in rest.get("/api/v1/keys").json()}
    assert mp.get_key(created.id).name == "ci"
    with Client(server.url, api_key=created.key) as scoped:
        assert scoped.predict("iris", IRIS[0]).predictions
    mp.revoke_key(created.id)
    assert mp.get_key(created.id).revoked


def test_users_and_login(mp: Client, server: LiveServer) -> None:
    user = mp.create_user("carol", "correct-horse-battery", scopes=["predict", "models:read"])
    assert user.username == "carol" and user.role == "user"
    with Client(server.url) as c:
        token = c.login("carol", "correct-horse-battery")
        assert token.token_type == "bearer"
        assert [m.name for m in c.list_models()]


def test_train_waits_with_progress(mp: Client) -> None:
    seen: list[Job] = []
    handle = mp.train("builtin:iris", "LogisticRegression", "client-iris", alias="production",
                      hyperparameters={"max_iter": 500})
    job = handle.wait(seen.append, poll_s=0.1, max_wait_s=120)
    assert job.state == "succeeded" and job.model.name == "client-iris", job
    assert seen[-1] == job and len(seen) >= 2
    assert [j.progress for j in seen] == sorted(j.progress for j in seen)
    assert mp.get_job(handle.id) == job
    assert handle.id in [j.id for j in mp.list_jobs(kind="train").items]


def test_datasets_batch_predict_and_download(mp: Client, tmp_path: Path) -> None:
    csv = tmp_path / "rows.csv"
    csv.write_text("a,b,c,d\n" + "\n".join(",".join(map(str, r)) for r in IRIS) + "\n")
    dataset = mp.upload_dataset(csv, "two-rows")
    assert dataset.num_rows == 2 and mp.get_dataset(dataset.id) == dataset
    assert dataset.id in [d.id for d in mp.list_datasets().items]
    job = mp.batch_predict("iris", dataset.id).wait(max_wait_s=120)
    assert job.state == "succeeded", job
    out = mp.download_dataset(job.output_dataset).decode()
    assert out.splitlines()[0].startswith('"a","b","c","d"') and len(out.splitlines()) == 3
    mp.delete_dataset(dataset.id)
    with pytest.raises(NotFound):
        mp.get_dataset(dataset.id)


def test_prediction_log_feedback_and_monitoring(mp: Client, rest: httpx.Client, server: LiveServer) -> None:
    answer = mp.predict("breast-cancer", np.zeros(30), cache=False)
    server.run(server.services.tracking.recorder.flush())
    logged = mp.get_prediction(answer.request_id)
    assert logged == rest.get(f"/api/v1/predictions/{answer.request_id}").json()
    page = mp.list_predictions(model="breast-cancer", limit=10)
    assert answer.request_id in [p.request_id for p in page.items]
    stored = mp.feedback(answer.request_id, answer.predictions[0])
    assert stored == rest.post(f"/api/v1/predictions/{answer.request_id}/feedback",
                               json={"actual": answer.predictions[0]}).json()
    assert "request_id" in mp.export_predictions("csv", model="breast-cancer").decode().splitlines()[0]
    perf = mp.performance("breast-cancer", "production", window="1h")
    assert perf == rest.get("/api/v1/models/breast-cancer/versions/production/performance",
                            params={"window": "1h"}).json()
    drift = mp.drift("breast-cancer", "production")
    expected = rest.get("/api/v1/models/breast-cancer/versions/production/drift").json()
    assert drift.to_dict().keys() == expected.keys()
