"""The Models pages: the list (with request rates), one model (versions, aliases, traffic, live
charts), registering by upload, moving aliases and setting traffic policies."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.responses import JSONResponse, Response

from modelport.console import live
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
    traffic_available, history = await _histories(who, name, list(model["aliases"]))
    return render(request, "model.html", who, section="models", model=model,
                  traffic=model.get("traffic") or {}, traffic_available=traffic_available,
                  history=history, live_minutes=LIVE_MINUTES)


async def _histories(who: Any, name: str, aliases: list[str]) -> tuple[bool, dict[str, list[Any]]]:
    """Each alias's history from the traffic API, or (False, {}) when the server has none."""
    if not who.can("models:write") or not aliases:
        return bool(aliases), {}
    out: dict[str, list[Any]] = {}
    for alias in aliases:
        answer, error = await who.api.attempt(
            "GET", f"/api/v1/models/{quote(name, safe='')}/aliases/{quote(alias, safe='')}/history")
        if error is not None:
            if error.unavailable:
                return False, {}
            out[alias] = []
            continue
        entries = answer.get("items", answer.get("history", [])) if isinstance(answer, dict) else answer
        out[alias] = list(entries or [])[:20]
    return True, out


async def _put_alias(request: Request, who: Any, name: str, alias: str, body: dict[str, Any],
                     done: str) -> Response:
    path = f"/api/v1/models/{quote(name, safe='')}/aliases/{quote(alias, safe='')}"
    try:
        await who.api.call("PUT", path, json=body)
    except ApiError as exc:
        if exc.unavailable or (exc.status == 422 and "version" not in body):
            return redirect(request, _page(name), "Traffic policies are not available on this server.")
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


@router.post("/models/{name}/traffic")
async def set_traffic(request: Request, name: str, who: WriterDep,
                      alias: Annotated[str, Form(max_length=64)],
                      version_a: Annotated[str, Form(max_length=16)],
                      weight_a: Annotated[str, Form(max_length=8)],
                      version_b: Annotated[str, Form(max_length=16)] = "",
                      weight_b: Annotated[str, Form(max_length=8)] = "0",
                      sticky: Annotated[str, Form(max_length=8)] = "",
                      shadow: Annotated[str, Form(max_length=16)] = "") -> Response:
    """Builds the traffic API's body: ``{"routes": [{"version", "weight"}...], "sticky", "shadow"}``."""
    routes = []
    for version, weight in ((version_a, weight_a), (version_b, weight_b)):
        number = _version(version)
        if number is not None:
            if not weight.strip().isdigit():
                return redirect(request, _page(name), "Weights are whole percentages.")
            routes.append({"version": number, "weight": int(weight)})
    if not routes:
        return redirect(request, _page(name), "Choose at least one version.")
    body: dict[str, Any] = {"routes": routes, "sticky": sticky == "true"}
    shadow_version = _version(shadow)
    if shadow_version is not None:
        body["shadow"] = {"version": shadow_version}
    split = " / ".join(f"v{r['version']} {r['weight']}%" for r in routes)
    return await _put_alias(request, who, name, alias, body, f"{alias}: {split}.")


@router.post("/models/{name}/aliases/{alias}/rollback")
async def rollback(request: Request, name: str, alias: str, who: WriterDep) -> Response:
    path = f"/api/v1/models/{quote(name, safe='')}/aliases/{quote(alias, safe='')}/rollback"
    _, error = await who.api.attempt("POST", path)
    if error is None:
        return redirect(request, _page(name), f"{alias} rolled back.")
    if error.unavailable:
        return redirect(request, _page(name), "Rollback is not available on this server.")
    return redirect(request, _page(name), f"Refused: {error.detail}")


@router.get("/models/{name}/live.json")
async def live_series(name: str, who: ViewerDep) -> JSONResponse:
    now = time.time()
    answer, error = await who.api.attempt("GET", "/api/v1/predictions", params={
        "model": name, "since": _since(LIVE_MINUTES * 60), "limit": 1000})
    if error:
        return JSONResponse({"error": error.detail}, status_code=error.status)
    return JSONResponse(live.series(answer["items"], now, LIVE_MINUTES, LIVE_BUCKET_S))
