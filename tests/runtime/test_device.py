"""``config.device``: validated at registration, resolved per runtime, shown in metadata and metrics.

There is no GPU on the test machines: these tests check the CPU path and the refusals;
``scripts/gpu_check.sh`` runs the CUDA path on a machine that has one.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from sklearn.datasets import load_iris

from modelport.errors import InvalidInput
from modelport.runtime.device import check_device, gpu_present, onnx_providers, torch_device
from tests.conftest import LiveServer
from tests.fixtures.parity import register_upload

CPU = json.dumps({"device": "cpu"})
no_gpu = pytest.mark.skipif(gpu_present() or torch.cuda.is_available(), reason="this host has a GPU")


def test_device_names_are_validated() -> None:
    for ok in ("auto", "cpu", "cuda", "cuda:1"):
        assert check_device(ok) == ok
    for bad in ("gpu", "cuda:x", "CUDA", "cpu:0", ""):
        with pytest.raises(InvalidInput, match="auto, cpu, cuda or cuda:N"):
            check_device(bad)


@no_gpu
def test_cpu_host_resolves_auto_to_cpu_and_refuses_cuda() -> None:
    assert torch_device(None) == torch_device("auto") == torch_device("cpu") == "cpu"
    with pytest.raises(InvalidInput, match="sees 0 CUDA GPU"):
        torch_device("cuda:0")
    assert onnx_providers("auto") == (["CPUExecutionProvider"], "cpu")
    with pytest.raises(InvalidInput, match="onnxruntime-gpu"):
        onnx_providers("cuda")


def export_linear(path: Path) -> Path:
    program = torch.export.export(torch.nn.Linear(4, 2).eval(), (torch.zeros(2, 4),),
                                  dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(program, path)
    return path


def test_registration_checks_the_device(byom_server: LiveServer, byom_headers: dict[str, str],
                                        tmp_path: Path) -> None:
    path = export_linear(tmp_path / "lin.pt2")
    r = register_upload(byom_server, byom_headers, "dev-bad", "pytorch", path, config='{"device": "x"}')
    assert r.status_code in (400, 422) and "device" in r.text
    if not torch.cuda.is_available():
        r = register_upload(byom_server, byom_headers, "dev-cuda", "pytorch", path,
                            config=json.dumps({"device": "cuda"}))
        assert r.status_code == 400 and "CUDA GPU" in r.json()["detail"]
    r = register_upload(byom_server, byom_headers, "dev-cpu", "pytorch", path, config=CPU)
    assert r.status_code == 201, r.text
    assert r.json()["config"]["device"] == "cpu"


def test_loaded_device_shows_in_metadata_and_metrics(byom_server: LiveServer, byom_headers: dict[str, str],
                                                     tmp_path: Path) -> None:
    path = export_linear(tmp_path / "lin.pt2")
    r = register_upload(byom_server, byom_headers, "dev-auto", "pytorch", path)
    assert r.status_code == 201 and r.json()["config"]["device"] == "auto"
    with httpx.Client(base_url=byom_server.url, headers=byom_headers, timeout=30) as client:
        assert client.get("/api/v1/models/dev-auto/versions/1").json()["device"] is None  # not loaded yet
        x = load_iris().data[:3]
        r = client.post("/api/v1/models/dev-auto/predict", json={"features": x.tolist()})
        assert r.status_code == 200
        expected = "cuda:0" if torch.cuda.is_available() else "cpu"
        assert client.get("/api/v1/models/dev-auto/versions/1").json()["device"] == expected
        metrics = client.get("/metrics").text
    assert f'modelport_model_device{{device="{expected}",model="dev-auto",version="1"}} 1.0' in metrics


def test_python_model_sees_its_device(byom_server: LiveServer, byom_headers: dict[str, str],
                                      tmp_path: Path) -> None:
    import zipfile

    code = ("import numpy as np\n\nclass Model:\n    def predict(self, inputs):\n"
            "        n = len(inputs['input'])\n"
            "        return {'predictions': np.full(n, 1.0 if self.device == 'cpu' else 2.0)}\n")
    archive = tmp_path / "dev.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("model.py", code)
        zf.writestr("signature.json", json.dumps({"inputs": [{"name": "input", "shape": [-1, 1]}]}))
    r = register_upload(byom_server, byom_headers, "dev-py", "python", archive, config=CPU)
    assert r.status_code == 201, r.text
    with httpx.Client(base_url=byom_server.url, headers=byom_headers, timeout=30) as client:
        body = client.post("/api/v1/models/dev-py/predict", json={"features": [[0.0], [1.0]]}).json()
        assert body["predictions"] == [1.0, 1.0]
        assert client.get("/api/v1/models/dev-py/versions/1").json()["device"] == "cpu"  # from the worker
    assert np.isfinite(body["latency_ms"])
