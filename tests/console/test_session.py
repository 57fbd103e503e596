"""The session cookie's codec: round trip, expiry, tampering, sign-out, the origin check."""

from __future__ import annotations

import time

from starlette.requests import Request

from modelport.console.session import Session, SessionCodec, same_origin

SECRET = b"s" * 32


def test_a_session_survives_the_round_trip_and_hides_the_credential() -> None:
    codec = SessionCodec(SECRET, ttl_s=60)
    session = codec.new("mp_0123456789abcdef_secret", "key", "key:0123456789abcdef")
    value = codec.encode(session)
    assert "mp_0123" not in value and "secret" not in value
    back = codec.decode(value)
    assert isinstance(back, Session) and back == session
    assert back.csrf_ok(session.csrf) and not back.csrf_ok("other") and not back.csrf_ok(None)


def test_an_old_cookie_is_expired_and_a_forged_one_invalid() -> None:
    codec = SessionCodec(SECRET, ttl_s=1)
    value = codec.encode(codec.new("token", "user", "alice"))
    assert isinstance(codec.decode(value), Session)
    time.sleep(2.1)
    assert codec.decode(value) == "expired"
    assert codec.decode(value[:-4] + "AAAA") == "invalid"
    assert SessionCodec(b"t" * 32, ttl_s=60).decode(value) == "invalid"  # another server's secret
    assert codec.decode("not a cookie") == "invalid"


def test_a_signed_out_session_is_refused_before_its_time() -> None:
    codec = SessionCodec(SECRET, ttl_s=60)
    session = codec.new("token", "user", "alice")
    value = codec.encode(session)
    codec.end(session)
    assert codec.decode(value) == "expired"
    other = codec.new("token", "user", "alice")
    assert isinstance(codec.decode(codec.encode(other)), Session)


def _request(headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "POST", "path": "/ui/x", "headers": raw, "query_string": b""})


def test_same_origin_accepts_this_site_and_no_origin_only() -> None:
    assert same_origin(_request({"host": "example.org:8000", "origin": "http://example.org:8000"}))
    assert same_origin(_request({"host": "example.org"}))  # no Origin: the CSRF token decides
    assert not same_origin(_request({"host": "example.org", "origin": "https://evil.example"}))
    assert not same_origin(_request({"host": "example.org", "origin": "null"}))
