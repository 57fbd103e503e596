"""Optional libraries behind extras: import one, or refuse with the extra that installs it.

Why: xgboost, lightgbm, torch and pyyaml are large and only some deployments need them, so they
live in extras (``pip install 'modelport[xgboost]'``). A registration or load that needs a missing
one answers a 400 that says what to install, instead of an ImportError deep in a runtime.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from modelport.errors import InvalidInput

#: importable module -> the modelport extra that installs it
EXTRAS: dict[str, str] = {
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "torch": "torch",
    "yaml": "mlflow",
    "transformers": "text",
    "sentence_transformers": "text",
}


def missing_extra(module: str) -> InvalidInput:
    """The 400 for a missing optional library ``module`` (its top-level package name)."""
    top = module.split(".")[0]
    extra = EXTRAS.get(top)
    hint = f"pip install 'modelport[{extra}]'" if extra else f"pip install {top}"
    return InvalidInput(f"this flavor needs the optional library {top!r}, which is not installed: {hint}")


def require(module: str) -> ModuleType:
    """Import ``module`` or raise :func:`missing_extra`'s 400."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise missing_extra(exc.name or module) from exc
