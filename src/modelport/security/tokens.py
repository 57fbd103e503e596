"""JWT access tokens (OAuth2 password flow): HS256 signed with ``MODELPORT_SECRET_KEY``.

Decoding pins ``algorithms=["HS256"]`` (so ``alg: none`` and RS/HS confusion are refused) and
requires ``exp``, ``iat`` and ``sub``: PyJWT accepts a token without ``exp`` unless told to.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt

from modelport.errors import Unauthorized

ALGORITHM = "HS256"
ISSUER = "modelport"
MAX_CACHED = 10_000


@dataclass(frozen=True, slots=True)
class TokenClaims:
    subject: str
    scopes: frozenset[str]
    owner: str
    expires_at: float
    models: tuple[str, ...] | None = None  # #21: the user's model patterns when issued
    version: int = 0  # the user's token version when issued (``ver``; absent in older tokens)


class TokenService:
    def __init__(self, ttl_s: int, leeway_s: float = 5.0) -> None:
        self.ttl_s = ttl_s
        self.leeway_s = leeway_s
        self._secret: bytes | None = None
        # Verified tokens by their exact text: a full decode costs ~100-250 us per request.
        self._verified: dict[str, TokenClaims] = {}

    def set_secret(self, secret: bytes) -> None:
        self._secret = secret
        self._verified.clear()

    @property
    def secret(self) -> bytes:
        if self._secret is None:
            raise RuntimeError("token service used before the secret key was loaded")
        return self._secret

    def issue(self, subject: str, owner: str, scopes: frozenset[str],
              models: list[str] | None = None, version: int = 0) -> tuple[str, int]:
        now = int(time.time())
        claims: dict[str, object] = {
            "sub": subject, "uid": owner, "scope": " ".join(sorted(scopes)), "ver": version,
            "iat": now, "exp": now + self.ttl_s, "jti": secrets.token_hex(12), "iss": ISSUER,
        }
        if models is not None:
            claims["models"] = list(models)
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM), self.ttl_s

    def decode(self, token: str) -> TokenClaims:
        cached = self._verified.get(token)
        if cached is not None:
            if time.time() < cached.expires_at + self.leeway_s:
                return cached
            del self._verified[token]
        claims = self._decode(token)
        if len(self._verified) >= MAX_CACHED:
            self._verified.pop(next(iter(self._verified)))
        self._verified[token] = claims
        return claims

    def _decode(self, token: str) -> TokenClaims:
        try:
            claims = jwt.decode(
                token, self.secret, algorithms=[ALGORITHM], issuer=ISSUER, leeway=self.leeway_s,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired") from None
        except jwt.InvalidTokenError:
            raise Unauthorized("invalid token") from None
        scope = claims.get("scope", "")
        owner = claims.get("uid")
        version = claims.get("ver", 0)
        if (not isinstance(scope, str) or not isinstance(owner, str) or not isinstance(claims["sub"], str)
                or type(version) is not int):
            raise Unauthorized("invalid token")
        models = claims.get("models")
        if models is not None and (not isinstance(models, list)
                                   or not all(isinstance(m, str) for m in models)):
            raise Unauthorized("invalid token")
        return TokenClaims(subject=claims["sub"], scopes=frozenset(scope.split()), owner=owner,
                           expires_at=float(claims["exp"]),
                           models=None if models is None else tuple(models), version=version)
