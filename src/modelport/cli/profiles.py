"""Saved server profiles (``modelport login``): URL and API key per name, in a 0600 file.

The file lives in the per-user config dir (:func:`modelport.paths.config_dir`); it is created
with mode 0600 before the key is written, so the key is never readable by other users.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from modelport.paths import config_dir

FILE_NAME = "profiles.json"


@dataclass(frozen=True)
class Profile:
    name: str
    url: str
    key: str | None


def profiles_path() -> Path:
    return config_dir() / FILE_NAME


def _read() -> dict[str, dict[str, str | None]]:
    path = profiles_path()
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return data if isinstance(data, dict) else {}


def load(name: str) -> Profile | None:
    entry = _read().get(name)
    if not entry or not entry.get("url"):
        return None
    return Profile(name=name, url=str(entry["url"]), key=entry.get("key"))


def _write(data: dict[str, dict[str, str | None]]) -> Path:
    path = profiles_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an older file keeps its mode through O_CREAT; make sure
    with os.fdopen(fd, "w") as out:
        json.dump(data, out, indent=2)
    return path


def save(profile: Profile) -> Path:
    data = _read()
    data[profile.name] = {"url": profile.url, "key": profile.key}
    return _write(data)


def remove(name: str) -> bool:
    data = _read()
    if data.pop(name, None) is None:
        return False
    _write(data)
    return True
