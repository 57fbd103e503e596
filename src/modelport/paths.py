"""Per-user default locations: the data home (server and CLI agree on it) and the CLI's config.

Follows the XDG base directories on Linux (``$XDG_DATA_HOME/modelport``, default
``~/.local/share/modelport``; config under ``~/.config/modelport``), the platform folders
elsewhere, without a dependency. ``MODELPORT_HOME`` / ``--home`` and ``MODELPORT_CONFIG_DIR``
override them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _base(xdg_var: str, xdg_default: str, mac: str) -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    if sys.platform == "darwin":
        return Path.home() / "Library" / mac
    return Path(os.environ.get(xdg_var) or Path.home() / xdg_default)


def default_home() -> Path:
    """Where ``modelport serve`` keeps its database, artifacts and keys unless told otherwise."""
    return _base("XDG_DATA_HOME", ".local/share", "Application Support") / "modelport"


def config_dir() -> Path:
    """Where the CLI keeps its login profiles (``MODELPORT_CONFIG_DIR`` overrides it)."""
    override = os.environ.get("MODELPORT_CONFIG_DIR")
    if override:
        return Path(override)
    return _base("XDG_CONFIG_HOME", ".config", "Preferences") / "modelport"


def keep_caches_in(home: Path) -> Path:
    """Point ``XDG_CACHE_HOME`` at ``home/cache`` for this process and the ones it starts.

    A server keeps its writes in its data home. Libraries it runs write per-user caches under
    ``~/.cache`` otherwise: onnxruntime writes a device id and a database under
    ``~/.cache/Microsoft`` at import, and Hugging Face, torch and matplotlib put theirs under the
    same directory; each follows ``XDG_CACHE_HOME``. Call it before any of them is imported.
    """
    cache = home.resolve() / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    os.environ["XDG_CACHE_HOME"] = str(cache)
    return cache
