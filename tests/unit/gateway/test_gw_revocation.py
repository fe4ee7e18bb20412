"""Tokens of revoked sessions are refused, within the re-check interval, and only those."""

from __future__ import annotations

import base64
import json

import pytest

from gateway.revocation import RevocationCheck, revoked_session_key
from mesh.auth.identity import Identity
from mesh.errors import UnauthenticatedError


class AcceptingVerifier:
    async def verify(self, token: str) -> Identity:
        return Identity.from_claims("u1", frozenset({"customer"}), token)


class FakeRevoked:
    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.lookups = 0
        self.down = False

    async def exists(self, *names: str) -> int:
        self.lookups += 1
        if self.down:
            raise ConnectionError("redis is down")
        return sum(name in self.keys for name in names)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def token(**claims: object) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"header.{payload}.signature"


@pytest.fixture
def world() -> tuple[RevocationCheck, FakeRevoked, Clock]:
    revoked, clock = FakeRevoked(), Clock()
    check = RevocationCheck(AcceptingVerifier(), revoked, recheck_seconds=2.0, clock=clock)
    return check, revoked, clock


async def test_a_revoked_session_is_refused(
    world: tuple[RevocationCheck, FakeRevoked, Clock],
) -> None:
    check, revoked, _ = world
    revoked.keys.add(revoked_session_key("s1"))
    with pytest.raises(UnauthenticatedError) as error:
        await check.verify(token(sub="u1", sid="s1"))
    assert error.value.reason == "TOKEN_REVOKED"
    assert (await check.verify(token(sub="u1", sid="s2"))).subject == "u1"


async def test_a_live_session_is_rechecked_after_the_interval_only(
    world: tuple[RevocationCheck, FakeRevoked, Clock],
) -> None:
    check, revoked, clock = world
    live = token(sub="u1", sid="s1")
    await check.verify(live)
    await check.verify(live)
    assert revoked.lookups == 1
    revoked.keys.add(revoked_session_key("s1"))
    clock.now += 1.9
    await check.verify(live)  # still within the interval
    clock.now += 0.2
    with pytest.raises(UnauthenticatedError):
        await check.verify(live)


async def test_tokens_without_a_session_and_a_redis_outage_pass(
    world: tuple[RevocationCheck, FakeRevoked, Clock],
) -> None:
    check, revoked, _ = world
    assert (await check.verify(token(sub="service:order"))).subject == "u1"
    assert revoked.lookups == 0
    revoked.down = True
    assert (await check.verify(token(sub="u1", sid="s9"))).subject == "u1"
