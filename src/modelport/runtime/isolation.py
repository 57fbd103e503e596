"""Registration checks of ``isolated`` runtimes (user code) in a child process.

Why: registering a model loads it and runs it once on zero inputs; for a ``python`` model that
is arbitrary code, which must not be able to crash, hang or pollute the server process. The
child does what an in-process registration does (load, read the signature, warm up) and sends
back the signature or the error; a child that dies or overruns ``timeout`` is a 400.
"""

from __future__ import annotations

from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from modelport import errors, processes
from modelport.errors import InvalidInput, ModelportError
from modelport.registry.manifest import Signature

INSPECT_TIMEOUT_S = 120.0


def _child(conn: Connection, target: str, artifact: str, signature_json: str | None,
           options: dict[str, Any]) -> None:  # pragma: no cover - runs in the child
    import importlib

    try:
        module_name, _, attr = target.partition(":")
        cls = getattr(importlib.import_module(module_name), attr)
        given = Signature.model_validate_json(signature_json) if signature_json else None
        runtime = cls(Path(artifact), given, options)
        runtime.load()
        final = given or runtime.infer_signature()
        runtime.signature = final
        try:
            runtime.warmup()
        except Exception as exc:
            detail = f"{type(exc).__name__}: {str(exc)[:200]}"
            conn.send(("error", "InvalidInput", f"model does not run on inputs of its signature: {detail}"))
            return
        conn.send(("ok", final.model_dump_json(), None))
    except ModelportError as exc:
        conn.send(("error", type(exc).__name__, exc.detail))
    except Exception as exc:
        detail = f"{type(exc).__name__}: {str(exc)[:200]}"
        conn.send(("error", "InvalidInput", f"model could not be loaded: {detail}"))


def inspect_isolated(target: str, artifact: Path, signature: Signature | None, options: dict[str, Any],
                     timeout: float = INSPECT_TIMEOUT_S) -> Signature:
    """Load, sign and warm up ``artifact`` with runtime ``target`` in a child (blocking)."""
    ctx = processes.context()
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, daemon=True, name="modelport-inspect",
                          args=(child, target, str(artifact),
                                signature.model_dump_json() if signature else None, options))
    process.start()
    child.close()
    try:
        if not parent.poll(timeout):
            raise InvalidInput(f"the model did not load and answer within {timeout:.0f} s")
        try:
            kind, a, b = parent.recv()
        except (EOFError, OSError):
            raise InvalidInput("the model's process exited while loading or warming up") from None
    finally:
        parent.close()
        if process.is_alive():
            process.kill()
        process.join(5)
    if kind == "ok":
        return Signature.model_validate_json(a)
    cls = getattr(errors, a, None)
    if isinstance(cls, type) and issubclass(cls, ModelportError) and cls.status < 500:
        raise cls(b)
    raise InvalidInput(b)
