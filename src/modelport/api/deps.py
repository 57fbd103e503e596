"""``Annotated`` dependency aliases for the ``/api/v1`` routes: a thin adapter over the gate.

Routes declare what they need (``ServicesDep``, a scope through ``require``) and stay thin. The
caller was authenticated and rate-limited by the gate before the body was read
(:mod:`modelport.web.gate`); ``require(scope)`` checks the scope (403).
"""

from __future__ import annotations

from modelport.security.principal import ANONYMOUS, Principal
from modelport.web.gate import (
    ACCOUNT,
    SCOPE_ATTR,
    AdminDep,
    PredictDep,
    ReadDep,
    ServicesDep,
    WriteDep,
    get_principal,
    get_services,
    require,
    require_account,
)

__all__ = ["ACCOUNT", "ANONYMOUS", "SCOPE_ATTR", "AdminDep", "PredictDep", "Principal", "ReadDep",
           "ServicesDep", "WriteDep", "get_principal", "get_services", "require", "require_account"]
