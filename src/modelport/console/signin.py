"""Signing in (username + password through ``POST /api/v1/auth/token``, or a pasted API key)
and out.

The sign-in form carries its own CSRF token (a double-submit cookie, since there is no session
yet) so no other site can sign a browser into an account of its choosing. API key attempts are
rate limited per client address with the token endpoint's limit, as password attempts are.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from modelport.bootstrap import Services
from modelport.console.api import ApiError, console_api
from modelport.console.deps import WriterDep, codec, redirect, render
from modelport.console.session import LOGIN_CSRF_COOKIE, PATH, clear, same_origin
from modelport.errors import ModelportError
from modelport.security import apikeys

router = APIRouter()
REASONS = {
    "expired": "Your session has ended. Sign in again.",
    "invalid": "Your session could not be read. Sign in again.",
    "signed_out": "You have signed out.",
}
Field = Annotated[str, Form(max_length=4096)]


def _safe_next(target: str) -> str:
    """Only this console's own pages (no open redirect)."""
    if target.startswith(f"{PATH}/") and not target.startswith("//") and "\\" not in target \
            and not target.startswith(f"{PATH}/login"):
        return target
    return f"{PATH}/models"


def _login_page(request: Request, *, error: str | None = None, status_code: int = 200,
                next_url: str = "", username: str = "") -> Response:
    token = secrets.token_urlsafe(24)
    notice = REASONS.get(request.query_params.get("reason", ""))
    page = render(request, "login.html", status_code=status_code, login_csrf=token, error=error,
                  notice=notice, next_url=next_url or request.query_params.get("next", ""),
                  username=username)
    page.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, path=PATH, httponly=True, samesite="strict",
                    secure=request.url.scheme == "https")
    return page


@router.get("/")
async def index() -> RedirectResponse:
    return RedirectResponse(f"{PATH}/models", status_code=303)


@router.get("/login")
async def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
async def login(request: Request, csrf: Field = "", username: Field = "", password: Field = "",
                api_key: Field = "", next_url: Annotated[str, Form(alias="next", max_length=2048)] = "",
                ) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not (expected and hmac.compare_digest(csrf.encode(), expected.encode()) and same_origin(request)):
        return _login_page(request, error="The sign-in form expired. Try again.", status_code=403,
                           next_url=next_url)
    services: Services = request.app.state.services
    api_key = api_key.strip()
    try:
        if api_key:
            client = request.client.host if request.client else "unknown"
            await services.limiter.hit(services.settings.security.token_rate_limit, "token", client)
            if not apikeys.looks_like_key(api_key):
                raise ApiError(401, "that is not an API key (they look like mp_<id>_<secret>)")
            principal = await services.auth.resolve(f"Bearer {api_key}", None)
            session = codec(request).new(api_key, "key", principal.id)
        elif username and password:
            async with console_api(request, None) as api:
                answer = await api.call("POST", "/api/v1/auth/token",
                                        data={"username": username, "password": password})
            session = codec(request).new(answer["access_token"], "user", username)
        else:
            raise ApiError(400, "enter a username and password, or an API key")
    except ApiError as exc:
        return _login_page(request, error=f"Sign-in refused: {exc.detail}", status_code=exc.status,
                           next_url=next_url, username=username)
    except ModelportError as exc:
        return _login_page(request, error=f"Sign-in refused: {exc.public_detail}", status_code=exc.status,
                           next_url=next_url, username=username)
    response = redirect(request, _safe_next(next_url))
    codec(request).store(response, request, session)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=PATH)
    return response


@router.post("/logout")
async def logout(request: Request, who: WriterDep) -> Response:
    codec(request).end(who.session)
    response = redirect(request, f"{PATH}/login?reason=signed_out")
    clear(response, request)
    return response
