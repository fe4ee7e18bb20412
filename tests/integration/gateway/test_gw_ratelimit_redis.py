"""The shared counter's script on real Valkey: one call counts every limit of a request in
order, stops at the first one exceeded, and every key it creates expires."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from gateway.edge.ratelimit import RedisCounter

pytestmark = pytest.mark.integration


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_one_call_counts_each_limit_until_the_first_exceeded(redis: Redis) -> None:
    prefix = f"gwtest:{uuid.uuid4().hex}:"
    counter = RedisCounter(redis, prefix=prefix)
    limits = [("ip:a", 10), ("route:r:ip:a", 1), ("user:u", 10)]
    first = await counter.count_hits(limits, 60_000)
    second = await counter.count_hits(limits, 60_000)
    assert [count for count, _ in first] == [1, 1, 1]
    assert [count for count, _ in second] == [2, 2]  # the user's limit was not spent
    assert all(0 < ms_left <= 60_000 for _, ms_left in first + second)
    assert await redis.get(f"{prefix}user:u") == b"1"
    for key, _ in limits:
        assert 0 < await redis.pttl(f"{prefix}{key}") <= 60_000


async def test_a_key_left_without_expiry_gets_one(redis: Redis) -> None:
    prefix = f"gwtest:{uuid.uuid4().hex}:"
    await redis.set(f"{prefix}ip:b", 5)  # as a crash of an older, two-step writer could leave
    [(count, ms_left)] = await RedisCounter(redis, prefix=prefix).count_hits([("ip:b", 9)], 1000)
    assert (count, 0 < ms_left <= 1000) == (6, True)
    assert 0 < await redis.pttl(f"{prefix}ip:b") <= 1000
