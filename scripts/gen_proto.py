"""Regenerate the OIP gRPC stubs from ``src/modelport/oip/proto/grpc_service.proto``.

Used by ``make proto`` (writes into the package) and by the drift test (writes into a temp
dir and compares), so both run exactly the same generation. protoc emits flat imports
(``import grpc_service_pb2``); they are rewritten to package imports so the stubs import as
``modelport.oip.generated``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "src" / "modelport" / "oip" / "proto"
PACKAGE_DIR = ROOT / "src" / "modelport" / "oip" / "generated"
PROTO = "grpc_service.proto"
PACKAGE = "modelport.oip.generated"
INIT = '"""Stubs generated from ../proto/grpc_service.proto by `make proto`; do not edit."""\n'
# The messages live in a private descriptor pool: tritonclient registers its own
# ``grpc_service.proto`` with the same ``inference.*`` names in the default pool, and both must
# load in one process (tests, or an app that serves OIP and also calls a Triton server).
_DEFAULT_POOL = "DESCRIPTOR = _descriptor_pool.Default().AddSerializedFile("
_PRIVATE_POOL = "DESCRIPTOR = _descriptor_pool.DescriptorPool().AddSerializedFile("
_FLAT_IMPORT = re.compile(r"^import grpc_service_pb2 as (\w+)$", re.MULTILINE)


def generate(out: Path) -> list[Path]:
    from grpc_tools import protoc

    out.mkdir(parents=True, exist_ok=True)
    plugin_dir = Path(sys.executable).parent
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_DIR}",
        f"--plugin=protoc-gen-mypy={plugin_dir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={plugin_dir / 'protoc-gen-mypy_grpc'}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out={out}",
        f"--mypy_grpc_out={out}",
        PROTO,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    written = []
    for path in sorted(out.glob("grpc_service_pb2*")):
        text = path.read_text()
        fixed = _FLAT_IMPORT.sub(rf"from {PACKAGE} import grpc_service_pb2 as \1", text)
        fixed = fixed.replace(_DEFAULT_POOL, _PRIVATE_POOL)
        path.write_text(fixed)
        written.append(path)
    init = out / "__init__.py"
    init.write_text(INIT)
    return [init, *written]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=PACKAGE_DIR, help="output directory")
    args = parser.parse_args()
    for path in generate(args.out):
        print(path.relative_to(args.out.parent) if args.out == PACKAGE_DIR else path)


if __name__ == "__main__":
    main()
