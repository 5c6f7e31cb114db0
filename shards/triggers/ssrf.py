"""Refusing webhook targets inside the cluster's network (SSRF).

A URL is checked when a trigger is defined and again at every connection: the resolver below
checks each address a name resolves to and hands aiohttp only those, so the address that was
checked is the one connected to (no second lookup an attacker's DNS could answer differently).

Refused: loopback, private (RFC 1918, ULA), link-local (with 169.254.169.254, the cloud
metadata address), unspecified, multicast, reserved, carrier-grade NAT and the IPv4-mapped or
-translated IPv6 forms of all of those. Numeric host forms ("2130706433", "0x7f.1", "017.0.0.1")
are normalised by the same parser the OS uses (inet_aton) before the check.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_METADATA_V6 = ipaddress.ip_network("fd00:ec2::/32")


class UnsafeTarget(ValueError):
    """A webhook URL whose host is, or resolves to, an address we refuse to call."""


def parse_address(host: str) -> IPAddress | None:
    """The address a numeric host denotes (every form inet_aton accepts), else None."""
    text = host.strip("[]")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        return None


def is_forbidden(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return is_forbidden(embedded)
        if address in ipaddress.ip_network("64:ff9b::/96"):  # NAT64 of an IPv4 address
            return is_forbidden(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address in _METADATA_V6:
            return True
    elif address in _CGNAT:
        return True
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
        or address.is_reserved
        or not address.is_global
    )


def check_url(url: str, *, allow_private: bool) -> None:
    """At definition time: the scheme, and the host when it is an address or 'localhost'.
    Names are resolved and checked at connect time (they may change in between anyway)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeTarget(f"webhook URL {url!r} must be http(s)://host[:port]/path")
    if allow_private:
        return
    host = parts.hostname
    address = parse_address(host)
    if address is not None and is_forbidden(address):
        raise UnsafeTarget(
            f"webhook URL host {host} is a loopback, private, link-local or reserved address;"
            " set SHARDGATE_TRIGGERS_ALLOW_PRIVATE=1 (or [triggers] allow_private) for development"
        )
    if host.lower().rstrip(".") == "localhost" or host.lower().endswith(".localhost"):
        raise UnsafeTarget(f"webhook URL host {host} is loopback")


class PinnedResolver(AbstractResolver):
    """Resolves with the system resolver, then keeps only allowed addresses."""

    def __init__(self, *, allow_private: bool) -> None:
        self._inner = DefaultResolver()
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        numeric = parse_address(host)
        if numeric is not None:  # "0x7f.1" etc. never reach getaddrinfo's own parsing
            results: list[ResolveResult] = [
                {
                    "hostname": host,
                    "host": str(numeric),
                    "port": port,
                    "family": socket.AF_INET6 if numeric.version == 6 else socket.AF_INET,
                    "proto": 0,
                    "flags": socket.AI_NUMERICHOST,
                }
            ]
        else:
            results = await self._inner.resolve(host, port, family)
        if self._allow_private:
            return results
        allowed = [r for r in results if not is_forbidden(ipaddress.ip_address(r["host"]))]
        if not allowed:
            raise UnsafeTarget(f"{host} resolves only to refused addresses")
        return allowed

    async def close(self) -> None:
        await self._inner.close()
