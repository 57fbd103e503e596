"""Delivery signatures: ``X-Modelport-Signature: sha256=<hex HMAC-SHA256 of the raw body>``.

Receivers recompute the HMAC over the exact bytes they received with the shared secret and
compare in constant time (:func:`verify` is what a Python receiver would write).
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Modelport-Signature"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, body), signature)
