"""``modelport models traffic | history | rollback``: alias policies, their history, a rollback (#20).

Both modes go through the traffic service (locally, or via ``/api/v1/models/{name}/aliases``), so
every change lands in the alias history; the output is the same in both.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from modelport.cli.output import fail, print_json
from modelport.cli.target import current, run_local, run_remote


def _route(value: str) -> dict[str, float]:
    version, sep, weight = value.partition("=")
    if not sep or not version.strip().isdigit():
        raise typer.BadParameter(f"{value!r}: use VERSION=WEIGHT, e.g. 3=90")
    try:
        return {"version": int(version), "weight": float(weight)}
    except ValueError:
        raise typer.BadParameter(f"{value!r}: the weight must be a number") from None


def _shadow(value: str) -> dict[str, float]:
    version, sep, fraction = value.partition(":")
    if not sep or not version.strip().isdigit():
        raise typer.BadParameter(f"{value!r}: use VERSION:FRACTION, e.g. 5:0.25")
    try:
        return {"version": int(version), "fraction": float(fraction)}
    except ValueError:
        raise typer.BadParameter(f"{value!r}: the fraction must be a number") from None


def _history_line(event: dict[str, Any]) -> str:
    """One tab-separated line per event: when (UTC), action, actor, the new split, the reason."""
    to = event["to"]
    routes = ", ".join(f"v{r['version']}={r['weight']:g}" for r in to["routes"]) if to else "-"
    if to and to.get("shadow"):
        routes += f" (shadow v{to['shadow']['version']}:{to['shadow']['fraction']:g})"
    at = event["at"] if isinstance(event["at"], datetime) else datetime.fromisoformat(event["at"])
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)  # SQLite answers naive UTC
    return "\t".join((at.isoformat(timespec="seconds"), event["action"], event["actor"] or "-", routes,
                      event["reason"]))


def traffic(
    name: str, alias: str,
    route: Annotated[list[str], typer.Option(help="VERSION=WEIGHT; repeat for each arm")],
    shadow: Annotated[str | None, typer.Option(help="VERSION:FRACTION mirrored, never answered")] = None,
    sticky: Annotated[str | None, typer.Option(help="principal, or header:<Header-Name>")] = None,
    max_error_rate: Annotated[float | None, typer.Option(help="guard: roll a canary back above it")] = None,
    max_p99_ms: Annotated[float | None, typer.Option(help="guard: roll a canary back above it")] = None,
    min_requests: Annotated[int, typer.Option(help="guard: requests before it judges")] = 100,
) -> None:
    """Split ALIAS of model NAME between versions (weights, sticky callers, a shadow, a guard)."""
    from pydantic import ValidationError

    from modelport.core.traffic import TrafficPolicy

    body: dict[str, Any] = {"routes": [_route(r) for r in route], "sticky": sticky,
                            "shadow": _shadow(shadow) if shadow else None}
    if max_error_rate is not None or max_p99_ms is not None:
        body["guard"] = {"max_error_rate": max_error_rate, "max_p99_ms": max_p99_ms,
                         "min_requests": min_requests}
    try:
        policy = TrafficPolicy.model_validate(body)  # checked here too: a bad flag exits 2 in both modes
    except ValidationError as exc:
        fail(str(exc.errors()[0]["msg"]).removeprefix("Value error, "), code=2)
    if current().remote:
        sent = policy.model_dump(mode="json")
        shown = run_remote(lambda c: c.set_alias(name, alias, traffic=sent).to_dict()["traffic"])
    else:
        state = run_local(lambda s: s.traffic.apply(name, alias, policy, actor="cli"))
        shown = state.policy.model_dump(mode="json")
    print_json(shown)


def history(name: str, alias: str, limit: Annotated[int, typer.Option(min=1, max=1000)] = 20) -> None:
    """Show the changes of ALIAS of model NAME, newest first."""
    if current().remote:
        events = run_remote(lambda c: [e.to_dict() for e in c.alias_history(name, alias, limit)])
    else:
        found = run_local(lambda s: s.traffic.history(name, alias, limit))
        events = [{"at": e.at, "action": e.action, "actor": e.actor, "reason": e.reason,
                   "to": e.to_policy.model_dump(mode="json") if e.to_policy else None} for e in found]
    for event in events:  # one plain line per event (never wrapped: scripts read it)
        typer.echo(_history_line(event))


def rollback(name: str, alias: str,
             reason: Annotated[str, typer.Option(help="recorded in the history")] = "") -> None:
    """Put ALIAS of model NAME back on the policy it had before its latest change."""
    if current().remote:
        shown = run_remote(lambda c: c.rollback_alias(name, alias, reason).to_dict()["traffic"])
    else:
        state = run_local(lambda s: s.traffic.rollback(name, alias, actor="cli", reason=reason))
        shown = state.policy.model_dump(mode="json")
    print_json(shown)
