"""The Access page: API keys (create with scopes and expiry, shown once; revoke), users
(admins: list, disable or enable, delete, through ``/api/v1/users``) and usage per key.

Only an account principal (a user's token or an admin credential) sees it, the same rule the
keys API applies; everything else is the API's own answer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from starlette.responses import Response

from modelport.console.deps import Viewer, ViewerDep, WriterDep, redirect, render
from modelport.security.scopes import SCOPES

router = APIRouter()
USAGE_WINDOW = timedelta(days=7)


def _account(who: Viewer) -> Viewer:
    if not who.account:
        raise HTTPException(403, "the Access page needs a user sign-in or an admin key")
    return who


async def _page(request: Request, who: Viewer, created: dict[str, Any] | None = None,
                error: str | None = None, status_code: int = 200) -> Response:
    keys, keys_error = await who.api.attempt("GET", "/api/v1/keys")
    since = (datetime.now(UTC) - USAGE_WINDOW).isoformat()
    usage, _ = await who.api.attempt("GET", "/api/v1/usage", params={"by": "key", "since": since})
    users, users_error = (None, None)
    if who.admin:
        users, users_error = await who.api.attempt("GET", "/api/v1/users")
    users_list = users if isinstance(users, list) else []
    return render(request, "access.html", who, section="access", keys=keys or [], created=created,
                  error=error or (keys_error.detail if keys_error else None),
                  usage=(usage or {}).get("items", []), users=users_list,
                  users_error=users_error.detail if users_error else None,
                  scopes=[s for s in SCOPES if who.can(s)], status_code=status_code)


@router.get("/access")
async def access_page(request: Request, who: ViewerDep) -> Response:
    if not who.account:
        return render(request, "message.html", who, status_code=403, title="Access",
                      error="The Access page needs a user sign-in or an admin key.")
    return await _page(request, who)


@router.post("/access/keys")
async def create_key(request: Request, who: WriterDep, name: Annotated[str, Form(max_length=128)] = "",
                     scope: Annotated[list[str] | None, Form(max_length=8)] = None,
                     expires_in: Annotated[str, Form(max_length=16)] = "") -> Response:
    """Renders the page with the new key itself (never a redirect: it is shown this once)."""
    body: dict[str, Any] = {"name": name, "scopes": scope or []}
    if expires_in.strip():
        body["expires_in"] = expires_in.strip()
    created, error = await _account(who).api.attempt("POST", "/api/v1/keys", json=body)
    if error:
        return await _page(request, who, error=f"Key refused: {error.detail}", status_code=error.status)
    return await _page(request, who, created=created)


@router.post("/access/keys/{key_id}/revoke")
async def revoke_key(request: Request, key_id: str, who: WriterDep) -> Response:
    _, error = await _account(who).api.attempt("DELETE", f"/api/v1/keys/{quote(key_id, safe='')}")
    notice = f"Revoke refused: {error.detail}" if error else f"Key {key_id} revoked."
    return redirect(request, "/ui/access", notice)


@router.post("/access/users/{username}/disable")
async def disable_user(request: Request, username: str, who: WriterDep,
                       disabled: Annotated[str, Form(max_length=8)] = "true") -> Response:
    path = f"/api/v1/users/{quote(username, safe='')}"
    _, error = await _account(who).api.attempt("PATCH", path, json={"disabled": disabled == "true"})
    verb = "disabled" if disabled == "true" else "enabled"
    return redirect(request, "/ui/access", _outcome(error, f"User {username} {verb}."))


@router.post("/access/users/{username}/delete")
async def delete_user(request: Request, username: str, who: WriterDep) -> Response:
    _, error = await _account(who).api.attempt("DELETE", f"/api/v1/users/{quote(username, safe='')}")
    return redirect(request, "/ui/access", _outcome(error, f"User {username} deleted."))


def _outcome(error: Any, done: str) -> str:
    return done if error is None else f"Refused: {error.detail}"
