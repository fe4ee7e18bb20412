"""Verified tokens are reused until they expire; failures are never remembered."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from mesh.auth.identity import Identity
from mesh.auth.verified_tokens import CachingVerifier
from mesh.errors import UnauthenticatedError

from .test_mesh_jwt import FakeKeySource, jwk, sign, verifier_for


class CountingVerifier:
    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail

    async def verify(self, token: str) -> Identity:
        self.calls += 1
        if self.fail:
            raise UnauthenticatedError("bad token")
        return Identity.from_claims("u1", frozenset({"customer"}), token)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def key(rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]) -> rsa.RSAPrivateKey:
    return rsa_keys[0]


async def test_a_token_is_verified_once_while_valid(key: rsa.RSAPrivateKey) -> None:
    inner = CountingVerifier()
    token = sign(key, exp=int(time.time()) + 300)
    clock = Clock(time.time())
    verifier = CachingVerifier(inner, ttl_seconds=60, clock=clock)
    first = await verifier.verify(token)
    second = await verifier.verify(token)
    assert first == second and inner.calls == 1
    clock.now += 61
    await verifier.verify(token)
    assert inner.calls == 2


async def test_never_past_expiry(key: rsa.RSAPrivateKey) -> None:
    inner = CountingVerifier()
    token = sign(key, exp=int(time.time()) + 10)
    clock = Clock(time.time())
    verifier = CachingVerifier(inner, ttl_seconds=600, clock=clock)
    await verifier.verify(token)
    clock.now += 11
    await verifier.verify(token)
    assert inner.calls == 2


async def test_failures_are_not_cached(key: rsa.RSAPrivateKey) -> None:
    inner = CountingVerifier(fail=True)
    verifier = CachingVerifier(inner)
    token = sign(key)
    for _ in range(2):
        with pytest.raises(UnauthenticatedError):
            await verifier.verify(token)
    assert inner.calls == 2


async def test_bounded_size(key: rsa.RSAPrivateKey) -> None:
    inner = CountingVerifier()
    verifier = CachingVerifier(inner, max_entries=2)
    tokens = [sign(key, sub=f"u{i}") for i in range(3)]
    for token in tokens:
        await verifier.verify(token)
    await verifier.verify(tokens[0])
    assert inner.calls == 4


async def test_a_cached_token_does_not_vouch_for_a_tampered_copy(
    rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey],
) -> None:
    trusted, stranger = rsa_keys
    verifier = CachingVerifier(verifier_for(FakeKeySource(jwk(trusted, "k1"))))
    genuine = sign(trusted)
    assert (await verifier.verify(genuine)).subject == "u1"
    header, payload, signature = genuine.split(".")
    forged_claims = sign(stranger, sub="admin", roles=["admin"]).split(".")[1]
    for forged in (
        f"{header}.{forged_claims}.{signature}",  # the genuine signature on other claims
        sign(stranger),  # the same claims signed by another key
    ):
        for _ in range(2):  # and the failure is not remembered as a pass either
            with pytest.raises(UnauthenticatedError):
                await verifier.verify(forged)
