"""What every console page needs: the signed-in viewer, its API client, CSRF checks, rendering.

A page asks for :data:`ViewerDep` (any signed-in principal) or :data:`WriterDep` (the same, for
a state-changing form: the CSRF token must match and the origin, when sent, must be this site).
The viewer's principal comes from the same ``AuthService.resolve`` the API's gate uses, so a
revoked key or an expired token ends the console session at once; it only decides what the
pages offer. What they show and do goes through :mod:`modelport.console.api`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import Depends, HTTPException, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import RedirectResponse, Response

from modelport.bootstrap import Services
from modelport.console.api import ConsoleAPI, console_api
from modelport.console.session import COOKIE, PATH, Session, SessionCodec, same_origin
from modelport.errors import Unauthorized
from modelport.observability.context import principal_var
from modelport.security.principal import Principal

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
FLASH = "mp_console_flash"
CLEAR_SESSION = f"{COOKIE}=; Max-Age=0; Path={PATH}; HttpOnly; SameSite=Strict"


def codec(request: Request) -> SessionCodec:
    """One codec per app, made on first use (the secret is loaded when the app starts)."""
    made: SessionCodec | None = getattr(request.app.state, "console_codec", None)
    if made is None:
        services: Services = request.app.state.services
        made = SessionCodec(services.auth.tokens.secret, services.settings.security.console_session_ttl_s)
        request.app.state.console_codec = made
    return made


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in principal, its session and an API client acting as it."""

    session: Session
    principal: Principal
    api: ConsoleAPI

    def can(self, scope: str) -> bool:
        return self.principal.has(scope)

    @property
    def account(self) -> bool:
        """May manage keys (a user's token, or an admin credential): the Access pages."""
        return self.principal.kind in ("user", "anonymous") or self.principal.is_admin

    @property
    def admin(self) -> bool:
        return self.principal.is_admin


def sign_in_again(request: Request, reason: str) -> HTTPException:
    """Send the browser to the sign-in page (htmx requests: through ``HX-Redirect``)."""
    target = f"{PATH}/login?reason={reason}&next={quote(request.url.path, safe='/')}"
    headers = {"Location": target, "Set-Cookie": CLEAR_SESSION}
    if request.headers.get("hx-request"):
        return HTTPException(401, "sign in again", headers={**headers, "HX-Redirect": target})
    return HTTPException(303, "sign in again", headers=headers)


async def viewer(request: Request) -> AsyncIterator[Viewer]:
    session = codec(request).read(request)
    if not isinstance(session, Session):
        raise sign_in_again(request, session)
    services: Services = request.app.state.services
    try:
        principal = await services.auth.resolve(f"Bearer {session.credential}", None)
    except Unauthorized:
        raise sign_in_again(request, "expired") from None
    principal_var.set(principal.id)
    async with console_api(request, session.credential) as api:
        yield Viewer(session=session, principal=principal, api=api)


ViewerDep = Annotated[Viewer, Depends(viewer)]


async def writer(request: Request, who: ViewerDep) -> Viewer:
    """A state-changing request: the session's CSRF token (form field or header), same origin."""
    token = request.headers.get("x-csrf-token")
    if token is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get("csrf")
        token = value if isinstance(value, str) else None
    if not same_origin(request) or not who.session.csrf_ok(token):
        raise HTTPException(403, "the form is stale or came from another site: reload the page and retry")
    return who


WriterDep = Annotated[Viewer, Depends(writer)]


def render(request: Request, template: str, who: Viewer | None = None, status_code: int = 200,
           **context: Any) -> Response:
    raw = request.cookies.get(FLASH)
    flash = unquote(raw) if raw else None
    page = TEMPLATES.TemplateResponse(request, template, {
        "who": who, "csrf": who.session.csrf if who else "", "flash": flash, **context,
    }, status_code=status_code)
    page.headers["Cache-Control"] = "no-store"  # signed-in content, and once a new key
    if raw:
        page.delete_cookie(FLASH, path=PATH)
    return page


def redirect(request: Request, url: str, notice: str | None = None) -> RedirectResponse:
    """303 to ``url``, with a one-time notice the next page shows."""
    response = RedirectResponse(url, status_code=303)
    if notice:
        response.set_cookie(FLASH, quote(notice[:300]), max_age=60, path=PATH, httponly=True,
                            samesite="strict", secure=request.url.scheme == "https")
    return response
