"""The client's address, X-Forwarded-For honoured only from trusted proxies.

    client_address("10.0.0.5", ["203.0.113.9, 10.0.0.7"], parse_networks(["10.0.0.0/8"]))
    -> "203.0.113.9"     (the peer and the last hop are proxies we trust; the hop before is not)
    client_address("198.51.100.4", ["1.2.3.4"], parse_networks(["10.0.0.0/8"]))
    -> "198.51.100.4"    (the peer is no trusted proxy: whatever it forwards is its own claim)

The header is read right to left: each trusted proxy appended the address it saw, so the first
address that is not a trusted proxy is the client. Anything unparsable ends the walk there.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    out = []
    for cidr in cidrs:
        try:
            out.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError:
            raise ValueError(f"trusted proxy {cidr!r} is not an address or CIDR") from None
    return tuple(out)


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in n for n in networks)


def client_address(
    peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]
) -> str:
    if peer is None:
        return "unknown"
    if not trusted or not _trusted(peer, trusted):
        return peer
    hops = [h.strip() for header in forwarded_for for h in header.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer
