"""PyTorch: a ``torch.export`` network registered over HTTP answers like the program in process."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_iris

from modelport.errors import InvalidInput, UnsafeArtifact
from modelport.runtime.pytorch import PyTorchRuntime
from tests.conftest import LiveServer
from tests.fixtures.parity import assert_protocol_parity, register_upload


class Net(torch.nn.Module):
    """A small classifier network with its own normalisation layer: two outputs."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.norm = torch.nn.BatchNorm1d(4)
        self.body = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.body(self.norm(x))
        return logits.argmax(dim=1), torch.softmax(logits, dim=1)


def export(module: torch.nn.Module, path: Path, features: int = 4) -> torch.export.ExportedProgram:
    module.eval()
    program = torch.export.export(module, (torch.zeros(2, features),),
                                  dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(program, path)
    return program


def save_torchscript(path: Path) -> None:
    """A TorchScript archive, as older projects have them (torch deprecates making new ones)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(torch.nn.Linear(2, 1)), path)


def trained_net(x: np.ndarray, y: np.ndarray) -> Net:
    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    xt, yt = torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y)
    for _ in range(30):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net.body(net.norm(xt)), yt)
        loss.backward()
        opt.step()
    return net


def test_exported_network_over_every_protocol(byom_server: LiveServer, byom_headers: dict[str, str],
                                              tmp_path: Path) -> None:
    x, y = load_iris(return_X_y=True)
    path = tmp_path / "net.pt2"
    program = export(trained_net(x, y), path)
    x32 = x.astype(np.float32)
    with torch.no_grad():
        labels, proba = (t.numpy() for t in program.module()(torch.from_numpy(x32)))
    signature = {"inputs": [{"name": "x", "dtype": "float32", "shape": [-1, 4]}],
                 "outputs": [{"name": "predictions", "dtype": "int64", "shape": [-1]},
                             {"name": "probabilities", "dtype": "float32", "shape": [-1, 3]}]}
    r = register_upload(byom_server, byom_headers, "torch-iris", "pytorch", path,
                        signature=json.dumps(signature))
    assert r.status_code == 201, r.text
    assert_protocol_parity(byom_server, byom_headers, "torch-iris", x32,
                           {"predictions": labels, "probabilities": proba}, input_name="x", datatype="FP32")


def test_signature_read_from_the_program(tmp_path: Path) -> None:
    path = tmp_path / "net.pt2"
    export(torch.nn.Sequential(torch.nn.Linear(3, 1)), path, features=3)
    runtime = PyTorchRuntime(path)
    runtime.load()
    signature = runtime.infer_signature()
    assert [(s.name, s.dtype, s.shape) for s in signature.inputs] == [("input", "float32", [-1, 3])]
    assert [(s.name, s.shape) for s in signature.outputs] == [("predictions", [-1, 1])]
    out = runtime.predict({"input": np.ones((5, 3))})
    assert set(out) == {"predictions"} and out["predictions"].shape == (5, 1)
    assert runtime.placement() == "cpu"


def test_torchscript_needs_the_pickle_opt_in(tmp_path: Path) -> None:
    path = tmp_path / "script.pt"
    save_torchscript(path)
    with pytest.raises(UnsafeArtifact, match="MODELPORT_ALLOW_PICKLE"):
        PyTorchRuntime(path).load()
    from modelport.registry.manifest import Signature, TensorSpec

    sig = Signature(inputs=[TensorSpec(name="x", dtype="float32", shape=[-1, 2])])
    runtime = PyTorchRuntime(path, sig, {"allow_pickle": True})
    runtime.load()
    assert runtime.predict({"x": np.ones((3, 2))})["predictions"].shape == (3, 1)


def test_torchscript_refused_over_http(byom_server: LiveServer, byom_headers: dict[str, str],
                                       tmp_path: Path) -> None:
    path = tmp_path / "script.pt"
    save_torchscript(path)
    r = register_upload(byom_server, byom_headers, "torch-script", "pytorch", path)
    assert r.status_code == 400 and "MODELPORT_ALLOW_PICKLE" in r.json()["detail"]


def test_device_config_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "net.pt2"
    export(torch.nn.Sequential(torch.nn.Linear(3, 1)), path, features=3)
    if not torch.cuda.is_available():
        with pytest.raises(InvalidInput, match="CUDA GPU"):
            PyTorchRuntime(path, options={"device": "cuda"}).load()
    with pytest.raises(InvalidInput, match="auto, cpu, cuda"):
        PyTorchRuntime(path, options={"device": "tpu"}).load()
    runtime = PyTorchRuntime(path, options={"device": "cpu"})
    runtime.load()
    assert runtime.placement() == "cpu"
