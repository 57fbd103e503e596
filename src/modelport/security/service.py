"""The security facade the API, the CLI and other protocol edges call.

``resolve`` turns the credential of a request (a JWT or an API key, from ``Authorization:
Bearer`` or ``X-API-Key``) into a :class:`Principal`; ``login`` runs the OAuth2 password flow.
"""

from __future__ import annotations

import asyncio
import logging

from modelport.errors import Unauthorized
from modelport.security import apikeys, model_access
from modelport.security.keys import KeyService
from modelport.security.principal import ANONYMOUS, Principal
from modelport.security.scopes import normalize
from modelport.security.secret import load_secret
from modelport.security.tokens import TokenService
from modelport.security.users import UserInfo, UserService
from modelport.security.userstate import UserStates
from modelport.settings import Settings
from modelport.storage.engine import SessionFactory
from modelport.storage.health import DatabaseHealth

log = logging.getLogger(__name__)
MAX_CREDENTIAL = 4096


class AuthService:
    def __init__(self, settings: Settings, sessions: SessionFactory,
                 health: DatabaseHealth | None = None) -> None:
        self.settings = settings
        self.enabled = settings.security.auth == "enabled"
        self.users = UserService(sessions)
        self.keys = KeyService(sessions, cache_ttl=settings.security.key_cache_ttl_s, health=health)
        self.tokens = TokenService(settings.security.token_ttl_s)
        self.user_states = UserStates(sessions, ttl=settings.security.key_cache_ttl_s, health=health)

    def start(self) -> None:
        """Load (or, embedded, generate) the secret key; refuses an unsafe configuration."""
        self.tokens.set_secret(load_secret(self.settings))
        if not self.enabled:
            log.warning("!" * 72)
            log.warning("AUTHENTICATION IS DISABLED (MODELPORT_AUTH=disabled): anyone who can reach "
                        "this server can predict, upload models and manage keys. Local use only.")
            log.warning("!" * 72)

    async def close(self) -> None:
        """Let background lookups and last-use touches finish (briefly) before the engine goes."""
        pending = [*self.keys.pending(), *self.user_states.pending()]
        if pending:
            _, late = await asyncio.wait(pending, timeout=2.0)
            for task in late:
                task.cancel()

    async def resolve(self, authorization: str | None, api_key: str | None) -> Principal:
        """The principal of a request, or :class:`Unauthorized` (401 with WWW-Authenticate)."""
        if not self.enabled:
            return ANONYMOUS
        if api_key is not None and authorization is not None:
            raise Unauthorized("send one credential: either Authorization or X-API-Key")
        credential = api_key
        if api_key is not None and not apikeys.looks_like_key(api_key):
            raise Unauthorized("X-API-Key takes an API key (mp_...); send a token as 'Authorization: Bearer'")
        if credential is None and authorization is not None:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise Unauthorized("use 'Authorization: Bearer <token or API key>' or 'X-API-Key'")
            credential = value.strip()
        if not credential:
            raise Unauthorized("missing credentials")
        if len(credential) > MAX_CREDENTIAL:
            raise Unauthorized("invalid credentials")
        if apikeys.looks_like_key(credential):
            principal = await self.keys.verify(credential)
        else:
            claims = self.tokens.decode(credential)
            await self.user_states.check(claims)  # the user still exists, is enabled, same version
            layers = () if claims.models is None else (claims.models,)
            principal = Principal(id=f"user:{claims.subject}", kind="user", scopes=claims.scopes,
                                  owner=claims.owner, models=layers)
        model_access.bind(principal.models)  # the registry enforces it for the rest of the call
        return principal

    async def login(self, username: str, password: str, scope: str = "") -> tuple[str, int, list[str]]:
        """OAuth2 password flow: a JWT holding the requested scopes the user has (all by default)."""
        user = await self.users.authenticate(username, password)
        held = frozenset(user.scopes)
        wanted = normalize(scope.split()) if scope.strip() else held
        if "admin" not in held and not wanted <= held:
            raise Unauthorized("requested scope not granted to this user")
        token, ttl = self.tokens.issue(user.username, user.id, wanted, user.models, user.token_version)
        return token, ttl, sorted(wanted)

    # --- user lifecycle (#17): the change, then this replica's caches forget the user
    async def update_user(self, username: str, *, disabled: bool | None = None,
                          scopes: list[str] | None = None) -> UserInfo:
        user = await self.users.update(username, disabled=disabled, scopes=scopes)
        self._forget(user.id)
        return user

    async def delete_user(self, username: str) -> UserInfo:
        user = await self.users.delete(username)
        self._forget(user.id)
        return user

    async def change_password(self, user_id: str, current: str | None, new: str) -> UserInfo:
        user = await self.users.change_password(user_id, current, new)
        self._forget(user.id)
        return user

    def _forget(self, user_id: str) -> None:
        self.user_states.forget(user_id)
        self.keys.forget_owner(user_id)
