"""SSRF checks on webhook targets: scheme, credentials, and every resolved address."""

from __future__ import annotations

import ipaddress

import pytest

from modelport.webhooks.ssrf import UnsafeTarget, address_allowed, resolve


@pytest.mark.parametrize(("address", "strict", "relaxed"), [
    ("8.8.8.8", True, True), ("2606:4700:4700::1111", True, True),
    ("127.0.0.1", False, True), ("::1", False, True), ("10.1.2.3", False, True), ("192.168.0.1", False, True),
    ("172.16.5.4", False, True), ("100.64.0.1", False, True), ("::ffff:127.0.0.1", False, True),
    ("169.254.169.254", False, False), ("fe80::1", False, False), ("0.0.0.0", False, False),  # noqa: S104
    ("224.0.0.1", False, False),
])
def test_address_rules(address: str, strict: bool, relaxed: bool) -> None:
    ip = ipaddress.ip_address(address)
    assert address_allowed(ip, allow_private=False) is strict
    assert address_allowed(ip, allow_private=True) is relaxed


@pytest.mark.parametrize(("url", "needle"), [
    ("ftp://example.com/x", "http"), ("http:///nohost", "no host"), ("http://u:p@8.8.8.8/", "credentials"),
    ("http://127.0.0.1:9/hook", "non-public"), ("http://localhost/hook", "non-public"),
    ("http://[::1]/", "non-public"), ("http://169.254.169.254/latest/meta-data", "non-public"),
    ("http://no-such-host.invalid/", "does not resolve"), ("http://x:99999/", "valid URL"),
])
async def test_refused_targets(url: str, needle: str) -> None:
    with pytest.raises(UnsafeTarget, match=needle):
        await resolve(url, allow_private=False)


async def test_allowed_targets() -> None:
    target = await resolve("https://8.8.8.8/hook?a=1", allow_private=False)
    assert (target.scheme, target.host, target.port) == ("https", "8.8.8.8", 443)
    assert str(target.address) == "8.8.8.8"
    assert str((await resolve("http://localhost:8080/", allow_private=True)).address) in ("127.0.0.1", "::1")
    with pytest.raises(UnsafeTarget):
        await resolve("http://169.254.169.254/", allow_private=True)
