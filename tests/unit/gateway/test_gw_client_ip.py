"""gateway.client_ip: the right-most address no trusted proxy stands behind."""

from __future__ import annotations

import ipaddress

import pytest

from gateway.client_ip import UNKNOWN_CLIENT, client_ip

LOCAL: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
CLUSTER = (ipaddress.ip_network("127.0.0.6/32"), ipaddress.ip_network("::6/128"))
KONG_PODS = (*CLUSTER, ipaddress.ip_network("10.42.0.0/16"))


@pytest.mark.parametrize(
    "forwarded_for", [None, "", "192.0.2.1", "192.0.2.1, 198.51.100.2", "not-an-ip", "::1"]
)
def test_locally_the_peer_is_the_client_whatever_the_header_says(
    forwarded_for: str | None,
) -> None:
    assert client_ip("127.0.0.1", forwarded_for, LOCAL) == "127.0.0.1"
    assert client_ip("127.0.0.6", forwarded_for, LOCAL) == "127.0.0.6"


def test_an_untrusted_peer_is_the_client_in_the_cluster_too() -> None:
    assert client_ip("10.1.2.3", "203.0.113.7", CLUSTER) == "10.1.2.3"


def test_behind_the_sidecar_the_right_most_address_is_the_client() -> None:
    assert client_ip("127.0.0.6", "203.0.113.7", CLUSTER) == "203.0.113.7"
    # Left-most entries are whatever the client sent: never believed.
    assert client_ip("127.0.0.6", "1.1.1.1, 203.0.113.7", CLUSTER) == "203.0.113.7"
    assert client_ip("::6", "2001:db8::7", CLUSTER) == "2001:db8::7"


def test_trusted_hops_are_skipped_from_the_right() -> None:
    chain = "1.1.1.1, 203.0.113.7, 10.42.0.5"
    assert client_ip("127.0.0.6", chain, KONG_PODS) == "203.0.113.7"
    # Only trusted hops: the left-most of them is the nearest client we know of.
    assert client_ip("127.0.0.6", "10.42.0.9, 10.42.0.5", KONG_PODS) == "10.42.0.9"


@pytest.mark.parametrize("garbage", ["not-an-ip", "203.0.113.7:443", "", " ", "unknown"])
def test_garbage_stops_at_the_nearest_vouched_address(garbage: str) -> None:
    assert client_ip("127.0.0.6", garbage, CLUSTER) == "127.0.0.6"
    assert client_ip("127.0.0.6", f"203.0.113.7, {garbage}", CLUSTER) == "127.0.0.6"
    assert client_ip("127.0.0.6", f"{garbage}, 10.42.0.5", KONG_PODS) == "10.42.0.5"


def test_one_spelling_per_address() -> None:
    assert client_ip("::ffff:192.0.2.9", None, LOCAL) == "192.0.2.9"
    assert client_ip("127.0.0.6", "2001:DB8:0:0::7", CLUSTER) == "2001:db8::7"
    assert client_ip("127.0.0.6", "::ffff:203.0.113.7", CLUSTER) == "203.0.113.7"


def test_no_peer() -> None:
    assert client_ip(None, "203.0.113.7", CLUSTER) == UNKNOWN_CLIENT
    assert client_ip("", None, CLUSTER) == UNKNOWN_CLIENT
    assert client_ip("testclient", "203.0.113.7", CLUSTER) == "testclient"
