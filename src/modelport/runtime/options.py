"""What a runtime is told besides its artifact: the server's policies and the version's config.

One place builds the ``options`` dict for every load (registration check, serving thread,
worker process), so they all apply the same policy. ``check_code_allowed`` is the gate in front
of flavors whose artifact is code.
"""

from __future__ import annotations

from typing import Any

from modelport.errors import Forbidden
from modelport.registry.manifest import ServingConfig
from modelport.runtime.base import Runtime


def runtime_options(config: ServingConfig | None, *, allow_pickle: bool, allow_code: bool) -> dict[str, Any]:
    options: dict[str, Any] = {"allow_pickle": allow_pickle, "allow_code": allow_code}
    device = getattr(config, "device", None) if config is not None else None
    if device:
        options["device"] = device
    return options


def check_code_allowed(cls: type[Runtime], *, allow_code: bool, admin: bool) -> None:
    """A flavor that runs code needs ``MODELPORT_ALLOW_CODE=true`` and an admin caller (403)."""
    if not cls.runs_code:
        return
    if not allow_code:
        raise Forbidden(
            f"{cls.flavor!r} models run their own Python code; this server does not allow that. "
            "An operator can turn it on with MODELPORT_ALLOW_CODE=true"
        )
    if not admin:
        raise Forbidden(f"registering a {cls.flavor!r} model runs its code and needs the 'admin' scope")
