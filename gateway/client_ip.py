"""The one place that says who the client is: its IP address, for rate limits and logs.

The TCP peer is the client unless it is a trusted proxy (`GATEWAY_TRUSTED_PROXIES`). Behind
trusted proxies the client is the right-most X-Forwarded-For address that is not itself a
trusted proxy: every proxy appends the address it received the request from, so that entry
was written by a proxy we trust, while everything left of it was written by the client and
proves nothing. uvicorn's own forwarded-header handling is off (gateway/__main__.py), so the
peer seen here is the real TCP peer.

Setups (deploy/README.md): locally the gateway is the edge and trusts no proxy; in the
cluster requests reach it from Kong through its Istio sidecar, which connects from 127.0.0.6
(::6), the only hop it trusts.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Final

from gateway.settings import IpNetwork

__all__ = ["UNKNOWN_CLIENT", "client_ip"]

# No peer address (a Unix socket, an ASGI server that does not tell): one shared bucket.
UNKNOWN_CLIENT: Final = "unknown"

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def client_ip(peer: str | None, forwarded_for: str | None, trusted: Sequence[IpNetwork]) -> str:
    """The client's address in canonical form (one spelling per address, one bucket)."""
    peer_ip = _parse(peer)
    if peer_ip is None:
        return peer or UNKNOWN_CLIENT
    if not forwarded_for or not _is_trusted(peer_ip, trusted):
        return str(peer_ip)
    # `nearest` is the last address a trusted proxy vouched for: where the scan stops when
    # the next entry to the left is not an address at all.
    nearest = peer_ip
    for hop in reversed(forwarded_for.split(",")):
        hop_ip = _parse(hop.strip())
        if hop_ip is None:
            return str(nearest)
        if not _is_trusted(hop_ip, trusted):
            return str(hop_ip)
        nearest = hop_ip
    return str(nearest)


def _parse(value: str | None) -> IpAddress | None:
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    # An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d: the same client.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: IpAddress, trusted: Sequence[IpNetwork]) -> bool:
    return any(address in network for network in trusted)
