"""Reading and writing alias traffic policies through the traffic API (#20):
``GET/PUT /api/v1/models/{name}/aliases/{alias}``, ``.../history``, ``.../rollback``.

An alias the API refuses to show (a 403 or 404) is left out rather than failing the page; the
API's own answer is what the principal gets when they try to change it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from modelport.console.api import ConsoleAPI

HISTORY_SHOWN = 20


def alias_path(name: str, alias: str) -> str:
    return f"/api/v1/models/{quote(name, safe='')}/aliases/{quote(alias, safe='')}"


def describe(policy: Any) -> str | None:
    """``v1 90% / v2 10%, sticky principal, shadow v3 (50%)``; None for a plain one-version alias."""
    if not isinstance(policy, dict) or not isinstance(policy.get("routes"), list):
        return None
    routes = [r for r in policy["routes"] if isinstance(r, dict)]
    total = sum(float(r.get("weight") or 0) for r in routes) or 1.0
    split = (f"v{r.get('version')} {100 * float(r.get('weight') or 0) / total:.0f}%" for r in routes)
    parts = [" / ".join(split)]
    if policy.get("sticky"):
        parts.append(f"sticky {policy['sticky']}")
    shadow = policy.get("shadow")
    if isinstance(shadow, dict):
        parts.append(f"shadow v{shadow.get('version')} ({100 * float(shadow.get('fraction') or 0):.0f}%)")
    if len(routes) == 1 and len(parts) == 1:
        return None
    return ", ".join(parts)


def summary(policy: Any) -> str:
    """A history entry's target in words: the split, ``v3`` for a plain alias, ``removed``."""
    if not isinstance(policy, dict):
        return "removed"
    routes = policy.get("routes")
    if describe(policy) is None and isinstance(routes, list) and routes and isinstance(routes[0], dict):
        return f"v{routes[0].get('version')}"
    return describe(policy) or "removed"


async def policies(api: ConsoleAPI, name: str, aliases: list[str]) -> dict[str, str]:
    """Each alias's policy summary (plain aliases, and those the API refuses, left out)."""
    out: dict[str, str] = {}
    for alias in aliases:
        answer, error = await api.attempt("GET", alias_path(name, alias))
        if error is not None:
            continue
        summary = describe(answer.get("traffic") if isinstance(answer, dict) else None)
        if summary:
            out[alias] = summary
    return out


async def histories(api: ConsoleAPI, name: str, aliases: list[str]) -> dict[str, list[Any]]:
    """Each alias's changes, newest first (the API answers a list); none where it refuses."""
    out: dict[str, list[Any]] = {}
    for alias in aliases:
        answer, error = await api.attempt("GET", f"{alias_path(name, alias)}/history",
                                          params={"limit": HISTORY_SHOWN})
        entries = answer if error is None and isinstance(answer, list) else []
        out[alias] = [{**e, "summary": summary(e.get("to"))} for e in entries[:HISTORY_SHOWN]
                      if isinstance(e, dict)]
    return out


def policy_body(version_a: str, weight_a: str, version_b: str, weight_b: str, sticky: str,
                sticky_header: str, shadow: str, shadow_fraction: str) -> dict[str, Any] | str:
    """The traffic API's body from the form, or why the form is wrong."""
    routes = []
    for version, weight in ((version_a, weight_a), (version_b, weight_b)):
        if not version.strip():
            continue
        if not version.strip().isdigit():
            return "choose a version number"
        try:
            share = float(weight)
        except ValueError:
            return "weights are numbers (percentages)"
        if share > 0:
            routes.append({"version": int(version), "weight": share})
    if not routes:
        return "give at least one version a weight above 0"
    body: dict[str, Any] = {"routes": routes}
    if sticky_header.strip():
        body["sticky"] = f"header:{sticky_header.strip()}"
    elif sticky == "principal":
        body["sticky"] = "principal"
    if shadow.strip():
        if not shadow.strip().isdigit():
            return "choose a shadow version"
        try:
            fraction = float(shadow_fraction) / 100
        except ValueError:
            return "the shadow share is a percentage"
        body["shadow"] = {"version": int(shadow), "fraction": fraction}
    return body
