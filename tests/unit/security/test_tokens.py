"""JWTs: only HS256 with our secret, with exp/iat/sub required; every forgery is refused."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from modelport.errors import Unauthorized
from modelport.security.tokens import ISSUER, TokenService

SECRET = b"s" * 48


@pytest.fixture
def tokens() -> TokenService:
    service = TokenService(ttl_s=60, leeway_s=0)
    service.set_secret(SECRET)
    return service


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {"sub": "alice", "uid": "u1", "scope": "predict", "iat": now,
                               "exp": now + 60, "iss": ISSUER, "jti": "j"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def test_round_trip(tokens: TokenService) -> None:
    token, ttl = tokens.issue("alice", "u1", frozenset({"predict", "models:read"}))
    decoded = tokens.decode(token)
    assert (decoded.subject, decoded.owner, decoded.scopes) == ("alice", "u1", {"predict", "models:read"})
    assert ttl == 60
    header = jwt.get_unverified_header(token)
    payload = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "HS256" and {"exp", "iat", "sub", "jti", "scope"} <= set(payload)


def test_expired_refused(tokens: TokenService) -> None:
    token = jwt.encode(claims(iat=int(time.time()) - 120, exp=int(time.time()) - 60), SECRET, "HS256")
    with pytest.raises(Unauthorized, match="expired"):
        tokens.decode(token)


def test_wrong_signature_refused(tokens: TokenService) -> None:
    with pytest.raises(Unauthorized):
        tokens.decode(jwt.encode(claims(), b"another secret that is long enough!!", "HS256"))
    good, _ = tokens.issue("alice", "u1", frozenset({"predict"}))
    head, payload, sig = good.split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged["scope"] = "admin"
    forged_payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthorized):
        tokens.decode(f"{head}.{forged_payload}.{sig}")


def test_alg_none_refused(tokens: TokenService) -> None:
    token = jwt.encode(claims(scope="admin"), None, algorithm="none")
    with pytest.raises(Unauthorized):
        tokens.decode(token)


def test_hs_rs_confusion_refused(tokens: TokenService) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    rs = jwt.encode(claims(scope="admin"), private, algorithm="RS256")
    with pytest.raises(Unauthorized):
        tokens.decode(rs)
    # the classic confusion: HS256 "signed" with the public key as the HMAC secret
    import hashlib
    import hmac

    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(claims(scope="admin")).encode()).rstrip(b"=")
    mac = hmac.new(public_pem, header + b"." + body, hashlib.sha256).digest()
    sig = base64.urlsafe_b64encode(mac).rstrip(b"=")
    with pytest.raises(Unauthorized):
        tokens.decode(b".".join([header, body, sig]).decode())


@pytest.mark.parametrize("missing", ["exp", "iat", "sub", "iss"])
def test_required_claims(tokens: TokenService, missing: str) -> None:
    token = jwt.encode(claims(**{missing: None}), SECRET, "HS256")
    with pytest.raises(Unauthorized):
        tokens.decode(token)


def test_garbage_refused(tokens: TokenService) -> None:
    for value in ["", "a.b.c", "not a token", "ey" * 50]:
        with pytest.raises(Unauthorized):
            tokens.decode(value)


def test_verified_token_cache_still_honours_expiry() -> None:
    tokens = TokenService(ttl_s=1, leeway_s=0)
    tokens.set_secret(SECRET)
    token, _ = tokens.issue("alice", "u1", frozenset({"predict"}))
    assert tokens.decode(token).subject == "alice"
    assert tokens.decode(token).subject == "alice"  # from the cache
    time.sleep(1.1)
    with pytest.raises(Unauthorized, match="expired"):
        tokens.decode(token)
