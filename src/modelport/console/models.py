"""The Models pages: the list (with request rates), one model (versions, aliases, traffic, live
charts), registering by upload, moving aliases and setting traffic policies."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.responses import JSONResponse, Response

from modelport.console import live, traffic
from modelport.console.api import ApiError
from modelport.console.deps import ViewerDep, WriterDep, redirect, render
from modelport.runtime.registry import FLAVORS

router = APIRouter()
RATE_WINDOW_S = 300
LIVE_MINUTES = 10
LIVE_BUCKET_S = 15
Text = Annotated[str, Form(max_length=4096)]


def _since(seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat()


def _page(name: str) -> str:
    return f"/ui/models/{quote(name, safe='')}"


@router.get("/models")
async def models_page(request: Request, who: ViewerDep) -> Response:
    models, error = await who.api.attempt("GET", "/api/v1/models")
    rates: dict[str, float] = {}
    if who.can("predict"):
        usage, _ = await who.api.attempt("GET", "/api/v1/usage",
                                          params={"by": "model", "since": _since(RATE_WINDOW_S)})
        for row in (usage or {}).get("items", []):
            rates[row["model"]] = row["requests"] / RATE_WINDOW_S
    for m in models or []:  # each alias's traffic policy
        m["traffic"] = await traffic.policies(who.api, m["name"], list(m["aliases"]))
    return render(request, "models.html", who, section="models", models=models or [], rates=rates,
                  models_error=error.detail if error else None, rate_window="5 minutes",
                  flavors=sorted(FLAVORS))


@router.post("/models")
async def upload_model(request: Request, who: WriterDep, file: Annotated[UploadFile, File()],
                       name: Annotated[str, Form(max_length=128)],
                       flavor: Annotated[str, Form(max_length=32)],
                       alias: Text = "", description: Text = "") -> Response:
    data = {"name": name, "flavor": flavor, "description": description}
    if alias.strip():
        data["alias"] = alias.strip()
    files = {"file": (file.filename or "model", await file.read(),
                      file.content_type or "application/octet-stream")}
    try:
        version = await who.api.call("POST", "/api/v1/models", data=data, files=files)
    except ApiError as exc:
        return redirect(request, "/ui/models", f"Upload refused: {exc.detail}")
    return redirect(request, _page(name), f"Registered {name} v{version['version']}.")


@router.get("/models/{name}")
async def model_page(request: Request, name: str, who: ViewerDep) -> Response:
    model, error = await who.api.attempt("GET", f"/api/v1/models/{quote(name, safe='')}")
    if error:
        return render(request, "message.html", who, section="models", status_code=error.status,
                      title=name, error=error.detail)
    aliases = list(model["aliases"])
    summaries = await traffic.policies(who.api, name, aliases) if who.can("models:read") else {}
    history = await traffic.histories(who.api, name, aliases) if who.can("models:write") else {}
    return render(request, "model.html", who, section="models", model=model, traffic=summaries,
                  history=history, live_minutes=LIVE_MINUTES)


async def _put_alias(request: Request, who: Any, name: str, alias: str, body: dict[str, Any],
                     done: str) -> Response:
    try:
        await who.api.call("PUT", traffic.alias_path(name, alias), json=body)
    except ApiError as exc:
        return redirect(request, _page(name), f"Refused: {exc.detail}")
    return redirect(request, _page(name), done)


def _version(raw: str) -> int | None:
    return int(raw) if raw.strip().isdigit() else None


@router.post("/models/{name}/aliases/{alias}")
async def move_alias(request: Request, name: str, alias: str, who: WriterDep,
                     version: Annotated[str, Form(max_length=16)]) -> Response:
    number = _version(version)
    if number is None:
        return redirect(request, _page(name), "Choose a version number.")
    return await _put_alias(request, who, name, alias, {"version": number}, f"{alias} now serves v{number}.")


@router.post("/models/{name}/aliases")
async def create_alias(request: Request, name: str, who: WriterDep,
                       alias: Annotated[str, Form(max_length=64)],
                       version: Annotated[str, Form(max_length=16)]) -> Response:
    return await move_alias(request, name, alias.strip(), who, version)


Small = Annotated[str, Form(max_length=128)]


@router.post("/models/{name}/traffic")
async def set_traffic(request: Request, name: str, who: WriterDep, alias: Small, version_a: Small,
                      weight_a: Small, version_b: Small = "", weight_b: Small = "0", sticky: Small = "",
                      sticky_header: Small = "", shadow: Small = "", shadow_fraction: Small = "100",
                      ) -> Response:
    """A canary split (and stickiness, a shadow) through the traffic API's ``PUT``."""
    body = traffic.policy_body(version_a, weight_a, version_b, weight_b, sticky, sticky_header, shadow,
                               shadow_fraction)
    if isinstance(body, str):
        return redirect(request, _page(name), f"Not applied: {body}.")
    summary = traffic.describe(body) or f"v{body['routes'][0]['version']}"
    return await _put_alias(request, who, name, alias, body, f"{alias}: {summary}.")


@router.post("/models/{name}/aliases/{alias}/rollback")
async def rollback(request: Request, name: str, alias: str, who: WriterDep) -> Response:
    _, error = await who.api.attempt("POST", f"{traffic.alias_path(name, alias)}/rollback")
    if error is None:
        return redirect(request, _page(name), f"{alias} rolled back.")
    return redirect(request, _page(name), f"Refused: {error.detail}")


@router.get("/models/{name}/live.json")
async def live_series(name: str, who: ViewerDep) -> JSONResponse:
    now = time.time()
    answer, error = await who.api.attempt("GET", "/api/v1/predictions", params={
        "model": name, "since": _since(LIVE_MINUTES * 60), "limit": 1000})
    if error:
        return JSONResponse({"error": error.detail}, status_code=error.status)
    return JSONResponse(live.series(answer["items"], now, LIVE_MINUTES, LIVE_BUCKET_S))
