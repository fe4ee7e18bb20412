"""The client address of a call: x-forwarded-for only with the gateway's token, else the peer."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from mesh import rbac
from mesh.auth.forwarded import ClientAddresses, peer_address
from mesh.auth.verified_tokens import CachingVerifier

from .conftest import FakeContext
from .test_mesh_jwt import FakeClock, FakeKeySource, jwk, sign, verifier_for

PEER = "ipv4:10.0.0.7:50514"
FORWARDED = "198.51.100.7, 203.0.113.9"


class PeerContext(FakeContext):
    def __init__(self, metadata: Sequence[tuple[str, str]] = (), peer: str = PEER) -> None:
        super().__init__(metadata)
        self._peer = peer

    def peer(self) -> str:
        return self._peer


@pytest.fixture
def trusted(rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]) -> rsa.RSAPrivateKey:
    return rsa_keys[0]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def addresses(trusted: rsa.RSAPrivateKey, clock: FakeClock) -> ClientAddresses:
    verifier = CachingVerifier(verifier_for(FakeKeySource(jwk(trusted, "k1"))))
    return ClientAddresses(verifier, warn_every_seconds=60, clock=clock)


def service_token(key: rsa.RSAPrivateKey, workload: str, **overrides: Any) -> str:
    return sign(key, sub=f"service:{workload}", roles=[rbac.SERVICE], **overrides)


async def of(addresses: ClientAddresses, *metadata: tuple[str, str]) -> str:
    return await addresses.of(PeerContext(metadata))  # type: ignore[arg-type]


async def test_without_the_header_the_peer_is_the_client(addresses: ClientAddresses) -> None:
    assert await of(addresses) == "10.0.0.7"
    assert await addresses.of(PeerContext(peer="ipv6:[::1]:40000")) == "::1"  # type: ignore[arg-type]


async def test_the_header_without_proof_is_ignored(addresses: ClientAddresses) -> None:
    assert await of(addresses, ("x-forwarded-for", FORWARDED)) == "10.0.0.7"


async def test_the_header_with_the_gateways_token_names_the_client(
    addresses: ClientAddresses, trusted: rsa.RSAPrivateKey
) -> None:
    proof = ("x-forwarded-by", service_token(trusted, "gateway"))
    assert await of(addresses, ("x-forwarded-for", FORWARDED), proof) == "203.0.113.9"
    # The proof alone names nobody.
    assert await of(addresses, proof) == "10.0.0.7"


@pytest.mark.parametrize(
    "kind", ["other-service", "customer", "stranger-key", "expired", "garbage", "as-bearer"]
)
async def test_any_other_proof_falls_back_to_the_peer_with_one_warning(
    addresses: ClientAddresses,
    rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey],
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    kind: str,
) -> None:
    trusted, stranger = rsa_keys
    proofs = {
        "other-service": service_token(trusted, "order"),
        # A person's token, even one whose subject looks like the gateway's.
        "customer": sign(trusted, sub="service:gateway", roles=["customer"]),
        "stranger-key": service_token(stranger, "gateway"),
        "expired": service_token(trusted, "gateway", exp=int(time.time()) - 60),
        "garbage": "not-a-token",
        "as-bearer": "Bearer " + service_token(trusted, "gateway"),
    }
    metadata = (("x-forwarded-for", FORWARDED), ("x-forwarded-by", proofs[kind]))
    with caplog.at_level(logging.WARNING, logger="mesh.auth.forwarded"):
        assert await of(addresses, *metadata) == "10.0.0.7"
        assert await of(addresses, *metadata) == "10.0.0.7"
        clock.now += 61
        assert await of(addresses, *metadata) == "10.0.0.7"
    warnings = [r for r in caplog.records if r.name == "mesh.auth.forwarded"]
    assert len(warnings) == 2, [r.getMessage() for r in warnings]
    assert "10.0.0.7" in warnings[0].getMessage()


async def test_the_gateways_token_next_to_the_authorization_of_a_customer(
    addresses: ClientAddresses, trusted: rsa.RSAPrivateKey
) -> None:
    # A service token as `authorization` proves nothing about x-forwarded-for.
    metadata = (
        ("x-forwarded-for", FORWARDED),
        ("authorization", "Bearer " + service_token(trusted, "gateway")),
    )
    assert await of(addresses, *metadata) == "10.0.0.7"


@pytest.mark.parametrize(
    ("peer", "address"),
    [
        ("ipv4:10.0.0.7:50514", "10.0.0.7"),
        ("ipv6:[2001:db8::1]:443", "2001:db8::1"),
        ("ipv6:%5B::1%5D:50514", "::1"),
        ("", "unknown"),
        (None, "unknown"),
    ],
)
def test_peer_address(peer: str | None, address: str) -> None:
    assert peer_address(peer) == address
