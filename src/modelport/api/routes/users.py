"""User lifecycle: list, disable/enable, set scopes, delete (admin); change one's own password.

Each change that must end a user's older credentials bumps the user's token version (see
:mod:`modelport.security.userstate`): their JWTs stop working, and a disabled or deleted user's
API keys with them, at once on this replica and within ``MODELPORT_KEY_CACHE_TTL_S`` elsewhere.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import Field

from modelport.api.deps import ServicesDep, require, require_account
from modelport.api.schemas import StrictBody
from modelport.errors import Conflict, InvalidInput
from modelport.security.principal import Principal
from modelport.security.scopes import ScopeName
from modelport.security.users import MAX_PASSWORD, MIN_PASSWORD, USERNAME_PATTERN, UserInfo

router = APIRouter(prefix="/api/v1/users", tags=["security"])
AdminDep = Annotated[Principal, require("admin")]
AccountDep = Annotated[Principal, require_account()]
Username = Annotated[str, Path(pattern=USERNAME_PATTERN, max_length=64)]


class UpdateUserRequest(StrictBody):
    disabled: bool | None = Field(default=None,
                                  description="true: the user's tokens and keys stop working")
    scopes: list[ScopeName] | None = Field(default=None, min_length=1, max_length=8,
                                           description="The user's scopes (ends their older tokens)")


class ChangePasswordRequest(StrictBody):
    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD)
    new_password: str = Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)


def _not_self(principal: Principal, user: UserInfo, action: str) -> None:
    if principal.owner == user.id:
        raise Conflict(f"you cannot {action} your own account")


@router.get("", response_model=list[UserInfo], summary="List users (admin)")
async def list_users(services: ServicesDep, _p: AdminDep) -> list[UserInfo]:
    return await services.auth.users.list_all()


@router.patch("/{name}", response_model=UserInfo,
              summary="Disable, enable or set the scopes of a user (admin)")
async def update_user(name: Username, body: UpdateUserRequest, services: ServicesDep,
                      principal: AdminDep) -> UserInfo:
    if body.disabled is None and body.scopes is None:
        raise InvalidInput("nothing to change: send disabled and/or scopes")
    if body.disabled:
        _not_self(principal, await services.auth.users.by_username(name), "disable")
    return await services.auth.update_user(name, disabled=body.disabled,
                                           scopes=list(body.scopes) if body.scopes else None)


@router.delete("/{name}", status_code=204, response_class=Response,
               summary="Delete a user and their keys (admin)")
async def delete_user(name: Username, services: ServicesDep, principal: AdminDep) -> Response:
    _not_self(principal, await services.auth.users.by_username(name), "delete")
    await services.auth.delete_user(name)
    return Response(status_code=204)


@router.post("/me/password", status_code=204, response_class=Response,
             summary="Change your password (ends your older tokens)")
async def change_password(body: ChangePasswordRequest, services: ServicesDep,
                          principal: AccountDep) -> Response:
    if not principal.owner:
        raise InvalidInput("no user behind this credential")
    await services.auth.change_password(principal.owner, body.current_password, body.new_password)
    return Response(status_code=204)
