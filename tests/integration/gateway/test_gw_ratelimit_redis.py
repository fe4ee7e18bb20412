"""The shared counter's script on real Valkey: one call counts every limit of a request in
order, stops at the first one exceeded, and every key it creates expires."""

from __future__ import annotations

import asyncio
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


async def test_concurrent_requests_share_a_round_trip_and_count_exactly(redis: Redis) -> None:
    prefix = f"gwtest:{uuid.uuid4().hex}:"
    counter = RedisCounter(redis, prefix=prefix)
    scripts_before = (await redis.info("commandstats")).get("cmdstat_evalsha", {}).get("calls", 0)
    # Twenty requests of one client at once, plus one of another user, each with its own
    # limits: every request is counted in turn, as twenty separate calls would count them.
    requests = [[("ip:c", 9), (f"user:{i % 2}", 100)] for i in range(20)] + [[("ip:d", 1)]]
    counted = await asyncio.gather(*(counter.count_hits(limits, 60_000) for limits in requests))
    scripts = (await redis.info("commandstats")).get("cmdstat_evalsha", {}).get("calls", 0)
    assert sorted(result[0][0] for result in counted[:20]) == list(range(1, 21))
    assert all(len(result) == (2 if result[0][0] <= 9 else 1) for result in counted[:20])
    assert counted[20] == [(1, counted[20][0][1])]
    assert await redis.get(f"{prefix}ip:c") == b"20"
    # Only the 9 requests allowed by the IP limit spent their user's limit.
    users = [await redis.get(f"{prefix}user:{i}") for i in (0, 1)]
    assert sum(int(n or 0) for n in users) == 9
    assert scripts - scripts_before < len(requests)  # batched, not one call per request
