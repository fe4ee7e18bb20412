"""Verified tokens are reused until they expire; failures are never remembered."""

from __future__ import annotations

import time

import pytest

from gateway.edge.tokens import CachingVerifier
from mesh.auth.identity import Identity
from mesh.errors import UnauthenticatedError

from .gwfakes import Signer


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


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer()


async def test_a_token_is_verified_once_while_valid(signer: Signer) -> None:
    inner = CountingVerifier()
    token = signer.token(ttl=300)
    clock = Clock(time.time())
    verifier = CachingVerifier(inner, ttl_seconds=60, clock=clock)
    first = await verifier.verify(token)
    second = await verifier.verify(token)
    assert first == second and inner.calls == 1
    clock.now += 61
    await verifier.verify(token)
    assert inner.calls == 2


async def test_never_past_expiry(signer: Signer) -> None:
    inner = CountingVerifier()
    token = signer.token(ttl=10)
    clock = Clock(time.time())
    verifier = CachingVerifier(inner, ttl_seconds=600, clock=clock)
    await verifier.verify(token)
    clock.now += 11
    await verifier.verify(token)
    assert inner.calls == 2


async def test_failures_are_not_cached(signer: Signer) -> None:
    inner = CountingVerifier(fail=True)
    verifier = CachingVerifier(inner)
    token = signer.token()
    for _ in range(2):
        with pytest.raises(UnauthenticatedError):
            await verifier.verify(token)
    assert inner.calls == 2


async def test_bounded_size(signer: Signer) -> None:
    inner = CountingVerifier()
    verifier = CachingVerifier(inner, max_entries=2)
    tokens = [signer.token(subject=f"u{i}") for i in range(3)]
    for token in tokens:
        await verifier.verify(token)
    await verifier.verify(tokens[0])
    assert inner.calls == 4
