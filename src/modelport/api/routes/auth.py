"""Credentials: the OAuth2 token endpoint, API key management, user creation."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from modelport.api.deps import AdminDep, ServicesDep, require_account
from modelport.api.schemas import StrictBody
from modelport.errors import Forbidden, InvalidInput
from modelport.security import model_access
from modelport.security.keys import KeyInfo, parse_duration
from modelport.security.model_access import MAX_PATTERNS
from modelport.security.principal import Principal
from modelport.security.scopes import ScopeName, covers
from modelport.security.users import MAX_PASSWORD, MIN_PASSWORD, USERNAME_PATTERN, UserInfo
from modelport.storage.base import utcnow

router = APIRouter(prefix="/api/v1", tags=["security"])
AccountDep = Annotated[Principal, require_account()]
KeyId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="The key id (the part after mp_)")]


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_in: int
    scope: str


class CreateKeyRequest(StrictBody):
    name: str = Field(default="", max_length=128)
    scopes: list[ScopeName] = Field(min_length=1, max_length=8, examples=[["predict"]])
    expires_in: str | None = Field(default=None, max_length=16, examples=["30d"],
                                   description="Lifetime: 45s, 90m, 12h, 30d, 2w; default: no expiry")
    rate_limit: str | None = Field(default=None, max_length=64, examples=["600/minute"],
                                   description="This key's own limit; default: the server's")
    owner: str | None = Field(default=None, max_length=64, pattern=USERNAME_PATTERN,
                              description="Username owning the key (admins only); default: the caller")
    models: list[str] | None = Field(default=None, max_length=MAX_PATTERNS, examples=[["fraud-*", "iris"]],
                                     description="Model-name patterns this key is limited to; default: all")


class KeyCreated(KeyInfo):
    key: str = Field(description="The API key itself. Shown once: it is stored only as a digest.")


class CreateUserRequest(StrictBody):
    username: str = Field(pattern=USERNAME_PATTERN, max_length=64)
    password: str = Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)
    role: Literal["user", "admin"] = "user"
    scopes: list[ScopeName] | None = Field(default=None, max_length=8,
                                           description="Default: predict and models:read")
    models: list[str] | None = Field(default=None, max_length=MAX_PATTERNS, examples=[["fraud-*"]],
                                     description="Model-name patterns this user is limited to; default: all")


@router.post("/auth/token", response_model=TokenResponse, summary="OAuth2 password flow: get a JWT",
             responses={401: {"description": "Invalid credentials"},
                        429: {"description": "Too many attempts"}})
async def token(request: Request, services: ServicesDep,
                form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> TokenResponse:
    client = request.client.host if request.client else "unknown"
    await services.limiter.hit(services.settings.security.token_rate_limit, "token", client)
    access, ttl, scopes = await services.auth.login(form.username, form.password, " ".join(form.scopes))
    return TokenResponse(access_token=access, expires_in=ttl, scope=" ".join(scopes))


def _owner_scope(principal: Principal) -> str | None:
    """Admins see every key; anyone else only their own."""
    return None if principal.is_admin else principal.owner or ""


@router.get("/keys", response_model=list[KeyInfo], summary="List API keys (yours; every key for admins)")
async def list_keys(services: ServicesDep, principal: AccountDep) -> list[KeyInfo]:
    return await services.auth.keys.list(_owner_scope(principal))


@router.post("/keys", response_model=KeyCreated, status_code=status.HTTP_201_CREATED,
             summary="Create an API key (shown once)")
async def create_key(body: CreateKeyRequest, services: ServicesDep, principal: AccountDep) -> KeyCreated:
    if not covers(principal.scopes, body.scopes):
        raise Forbidden("a key cannot hold scopes its creator does not have")
    if body.owner is not None:
        if not principal.is_admin:
            raise Forbidden("only admins create keys for other users")
        owner_id = (await services.auth.users.by_username(body.owner)).id
    elif principal.owner:
        owner_id = principal.owner
    else:
        raise InvalidInput("owner is required when authentication is disabled")
    # a user's own keys are held to the user's limit when verified; any other key must not
    # reach further than its creator (a limited key, or a limited admin minting for others)
    own_key = principal.kind == "user" and owner_id == principal.owner
    if not own_key and not model_access.covers(principal.models, model_access.parse_patterns(body.models)):
        raise Forbidden("a key cannot reach models its creator cannot: list models within your own")
    expires_at = utcnow() + parse_duration(body.expires_in) if body.expires_in else None
    info, plaintext = await services.auth.keys.create(
        owner_id, name=body.name, scopes=list(body.scopes), expires_at=expires_at, rate_limit=body.rate_limit,
        models=body.models,
    )
    return KeyCreated(**info.model_dump(), key=plaintext)


@router.get("/keys/{key_id}", response_model=KeyInfo, summary="Show one API key")
async def get_key(key_id: KeyId, services: ServicesDep, principal: AccountDep) -> KeyInfo:
    return await services.auth.keys.get(key_id, _owner_scope(principal))


@router.delete("/keys/{key_id}", status_code=204, response_class=Response, summary="Revoke an API key")
async def revoke_key(key_id: KeyId, services: ServicesDep, principal: AccountDep) -> Response:
    await services.auth.keys.revoke(key_id, _owner_scope(principal))
    return Response(status_code=204)


@router.post("/users", response_model=UserInfo, status_code=status.HTTP_201_CREATED,
             summary="Create a user (admin)")
async def create_user(body: CreateUserRequest, services: ServicesDep, _p: AdminDep) -> UserInfo:
    return await services.auth.users.create(body.username, body.password, role=body.role,
                                            scopes=list(body.scopes) if body.scopes else None,
                                            models=body.models)
