"""Webhook targets against server-side request forgery: where may the server send a request?

A target must be ``http(s)`` and every address its host resolves to must be public: no
loopback, private, shared or reserved ranges unless ``MODELPORT_WEBHOOK_ALLOW_PRIVATE=true``,
and never link-local (cloud metadata lives there), multicast or unspecified addresses. The
check runs when a webhook is created, again at each delivery after DNS resolution (the
connection then goes to the checked address, so a name cannot re-resolve elsewhere in
between), and again on every redirect hop.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from modelport.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeTarget(InvalidInput):
    code = "unsafe_webhook_target"


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str
    port: int
    address: IPAddress  # the checked address the connection goes to


def address_allowed(address: IPAddress, allow_private: bool) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_unspecified or address.is_multicast or address.is_link_local:
        return False  # link-local (cloud metadata at 169.254.169.254) stays refused even when allowed
    if allow_private:
        return True
    return address.is_global and not (address.is_loopback or address.is_link_local or address.is_private
                                       or address.is_reserved)


def parse(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a syntactically acceptable target URL."""
    if len(url) > 2048:
        raise UnsafeTarget("webhook URL is longer than 2048 characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeTarget("webhook URL is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget("webhook URL must be http:// or https://")
    if not parts.hostname:
        raise UnsafeTarget("webhook URL has no host")
    if parts.username or parts.password:
        raise UnsafeTarget("webhook URL must not carry credentials; use the signing secret")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def resolve(url: str, allow_private: bool) -> Target:
    """Resolve ``url``'s host and check every address; the first allowed one is the target."""
    scheme, host, port = parse(url)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            raise UnsafeTarget(f"webhook host {host[:128]!r} does not resolve") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise UnsafeTarget(f"webhook host {host[:128]!r} does not resolve")
    refused = [a for a in addresses if not address_allowed(a, allow_private)]
    if refused:  # any bad address refuses the name: which one a connection would pick is not ours
        raise UnsafeTarget(
            f"webhook host {host[:128]!r} resolves to a non-public address ({refused[0]}); "
            "set MODELPORT_WEBHOOK_ALLOW_PRIVATE=true to allow loopback and private targets"
        )
    return Target(url, scheme, host, port, addresses[0])
