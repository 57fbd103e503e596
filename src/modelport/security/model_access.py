"""Keys and users limited to some models: lists of name patterns (``["fraud-*", "iris"]``).

A principal carries *layers* of patterns, every one of which must match a name: a key's own list
and its owner's. The limit of the current call lives in a context variable bound when the
credential is resolved (:meth:`modelport.security.service.AuthService.resolve`), and the
registry checks it wherever a model is resolved or listed, so every protocol (REST, OIP REST and
gRPC, OpenAI, the console, jobs) gets the same answer without each edge repeating the check.
A model outside the limit is reported as not existing (404), never as forbidden.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from contextvars import ContextVar
from fnmatch import fnmatchcase

from modelport.errors import Forbidden, InvalidInput, ModelNotFound

Patterns = tuple[str, ...]
Layers = tuple[Patterns, ...]
MAX_PATTERNS = 64
_PATTERN = re.compile(r"^[A-Za-z0-9._*?\[\]!-]{1,128}$")
_WILDCARDS = frozenset("*?[")

_current: ContextVar[Layers] = ContextVar("modelport_model_limit", default=())


def parse_patterns(patterns: Iterable[str] | None) -> Patterns | None:
    """Validated patterns (None: every model; an empty list: none at all)."""
    if patterns is None:
        return None
    found = tuple(dict.fromkeys(patterns))
    if len(found) > MAX_PATTERNS:
        raise InvalidInput(f"at most {MAX_PATTERNS} model patterns")
    for pattern in found:
        if not isinstance(pattern, str) or not _PATTERN.match(pattern):
            raise InvalidInput(
                f"invalid model pattern {str(pattern)[:64]!r}: model-name characters and the "
                "wildcards '*', '?', '[...]'"
            )
    return found


def allows(layers: Layers, name: str) -> bool:
    return all(any(fnmatchcase(name, p) for p in layer) for layer in layers)


def covers(layers: Layers, patterns: Patterns | None) -> bool:
    """Whether ``patterns`` can only match names ``layers`` allows (sound, not complete: a
    wildcard pattern must appear verbatim in every layer, a plain name must be allowed)."""
    if not layers:
        return True
    if patterns is None:
        return False
    return all(
        all(p in layer for layer in layers) if _WILDCARDS & set(p) else allows(layers, p)
        for p in patterns
    )


def bind(layers: Layers) -> None:
    """Limit the rest of the current call (task) to ``layers``; ``()`` means no limit."""
    _current.set(layers)


def current() -> Layers:
    return _current.get()


def check_visible(name: str) -> None:
    """A model outside the caller's limit does not exist, as far as the caller can tell."""
    layers = _current.get()
    if layers and not allows(layers, name):
        raise ModelNotFound(f"model {name[:128]!r} not found")


def check_writable(name: str) -> None:
    """Creating a model outside the limit is refused (it may not exist yet: 403, not 404)."""
    layers = _current.get()
    if layers and not allows(layers, name):
        raise Forbidden(f"this credential is limited to other models than {name[:128]!r}")


def visible(names: Iterable[str]) -> list[str]:
    layers = _current.get()
    return [n for n in names if not layers or allows(layers, n)]
