"""The committed gRPC stubs are exactly what ``make proto`` generates from the pinned proto."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "src" / "modelport" / "oip" / "generated"


def test_committed_stubs_match_a_fresh_generation(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_proto.py"), "--out", str(out)],
                   check=True, capture_output=True, timeout=120)
    fresh = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    committed = {p.name: p.read_bytes() for p in COMMITTED.iterdir() if p.is_file()}
    assert sorted(fresh) == sorted(committed), "generated files differ from the committed set"
    drifted = [name for name in fresh if fresh[name] != committed[name]]
    assert not drifted, f"stubs drifted from grpc_service.proto, run `make proto`: {drifted}"


def test_stubs_import_as_package_modules() -> None:
    from modelport.oip.generated import grpc_service_pb2, grpc_service_pb2_grpc

    assert grpc_service_pb2_grpc.grpc__service__pb2 is grpc_service_pb2
    service = grpc_service_pb2.DESCRIPTOR.services_by_name["GRPCInferenceService"]
    assert service.full_name == "inference.GRPCInferenceService"
    assert {m.name for m in service.methods} >= {
        "ServerLive", "ServerReady", "ModelReady", "ServerMetadata", "ModelMetadata", "ModelInfer",
        "ModelStreamInfer",
    }


def _repeated(field: object) -> bool:
    """``label`` is gone in protobuf 7, ``is_repeated`` is missing in older releases."""
    if hasattr(field, "is_repeated"):
        return bool(field.is_repeated)
    return bool(field.label == 3)  # type: ignore[attr-defined]


def test_wire_compatible_with_tritonclient_messages() -> None:
    """Same field numbers and types as Triton's own copy of the protocol, message by message."""
    from tritonclient.grpc import service_pb2 as triton

    from modelport.oip.generated import grpc_service_pb2 as ours

    def layout(descriptor: object) -> dict[str, object]:
        fields = descriptor.fields  # type: ignore[attr-defined]
        nested = {n.name: layout(n) for n in descriptor.nested_types}  # type: ignore[attr-defined]
        return {"fields": sorted((f.name, f.number, f.type, _repeated(f)) for f in fields), "nested": nested}

    for name in ours.DESCRIPTOR.message_types_by_name:
        assert layout(getattr(ours, name).DESCRIPTOR) == layout(getattr(triton, name).DESCRIPTOR), name
