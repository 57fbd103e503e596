"""Where a version runs: its ``config.device`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``) resolved.

``auto`` (the default) takes a GPU when one is visible and the CPU otherwise; asking for
``cuda`` on a server without one is a 400 at registration rather than a silent CPU fallback.
Torch-based runtimes ask :func:`torch_device`; ONNX Runtime asks :func:`onnx_providers` (the
CUDA execution provider exists only with the ``onnxruntime-gpu`` package).
"""

from __future__ import annotations

import re
from pathlib import Path

from modelport.errors import InvalidInput
from modelport.runtime.extras import require

DEVICE_PATTERN = r"^(auto|cpu|cuda|cuda:\d{1,2})$"
_DEVICE_RE = re.compile(DEVICE_PATTERN)


def check_device(requested: str) -> str:
    if not _DEVICE_RE.match(requested):
        raise InvalidInput(f"config.device must be auto, cpu, cuda or cuda:N, not {requested[:32]!r}")
    return requested


def _index(requested: str) -> int:
    return int(requested.partition(":")[2] or 0)


def gpu_present() -> bool:
    """Whether an NVIDIA device node exists: lets ``auto`` skip importing torch on CPU-only hosts."""
    return any(Path("/dev").glob("nvidia[0-9]*"))


def torch_device(requested: str | None) -> str:
    """The torch device string for ``requested`` (None = ``auto``)."""
    wanted = check_device(requested or "auto")
    if wanted == "cpu" or (wanted == "auto" and not gpu_present()):
        return "cpu"
    torch = require("torch")
    visible = int(torch.cuda.device_count()) if torch.cuda.is_available() else 0
    if wanted == "auto":
        return "cuda:0" if visible else "cpu"
    if _index(wanted) >= visible:
        raise InvalidInput(f"config.device {wanted!r}: this server sees {visible} CUDA GPU(s)")
    return f"cuda:{_index(wanted)}"


def onnx_providers(requested: str | None) -> tuple[list[str | tuple[str, dict[str, str]]], str]:
    """ONNX Runtime execution providers for ``requested`` and the device they place the model on."""
    import onnxruntime as ort

    wanted = check_device(requested or "auto")
    cuda = "CUDAExecutionProvider" in ort.get_available_providers()
    if wanted == "cpu" or (wanted == "auto" and not cuda):
        return ["CPUExecutionProvider"], "cpu"
    if not cuda:
        raise InvalidInput(f"config.device {wanted!r}: ONNX Runtime has no CUDA provider here "
                           "(install onnxruntime-gpu on a machine with a GPU)")
    index = _index(wanted) if wanted != "auto" else 0
    return [("CUDAExecutionProvider", {"device_id": str(index)}), "CPUExecutionProvider"], f"cuda:{index}"
