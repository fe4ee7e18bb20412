"""Rate limits: every limit of a request counted in one step, none after the first exceeded,
and a key seen exhausted refused locally until its window ends."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.edge.ratelimit import Decision, Limit, MemoryCounter, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingCounter:
    """MemoryCounter that records each call (one call is one Redis round trip)."""

    def __init__(self, clock: Clock) -> None:
        self.inner = MemoryCounter(clock)
        self.calls: list[list[str]] = []

    async def count_hits(self, limits: Sequence[Limit], window_ms: int) -> list[tuple[int, int]]:
        self.calls.append([key for key, _ in limits])
        return await self.inner.count_hits(limits, window_ms)


async def test_all_limits_of_a_request_are_counted_in_one_call() -> None:
    clock = Clock()
    counter = CountingCounter(clock)
    limiter = RateLimiter(counter, clock=clock)
    decisions = await limiter.hit([("ip:a", 10), ("route:r:ip:a", 5), ("user:u", 3)])
    assert counter.calls == [["ip:a", "route:r:ip:a", "user:u"]]
    assert [(d.allowed, d.limit, d.remaining) for d in decisions] == [
        (True, 10, 9),
        (True, 5, 4),
        (True, 3, 2),
    ]


async def test_a_refused_request_spends_no_limit_after_the_one_it_exceeded() -> None:
    clock = Clock()
    counter = CountingCounter(clock)
    limiter = RateLimiter(counter, clock=clock)
    await limiter.hit([("route:r:ip:a", 1), ("user:u", 5)])
    refused = await limiter.hit([("route:r:ip:a", 1), ("user:u", 5)])
    assert [d.allowed for d in refused] == [False]
    other_route = await limiter.hit([("user:u", 5)])
    assert other_route[0].remaining == 3  # two hits counted for the user, not three


async def test_an_exhausted_key_is_refused_locally_until_its_window_ends() -> None:
    clock = Clock()
    counter = CountingCounter(clock)
    limiter = RateLimiter(counter, window_seconds=60, clock=clock)
    for _ in range(2):
        await limiter.hit([("ip:a", 1)])
    assert len(counter.calls) == 2
    clock.now += 30
    assert limiter.refused([("ip:a", 1)]) == Decision(False, 1, 0, 30)
    assert limiter.refused([("ip:b", 1)]) is None
    clock.now += 30
    assert limiter.refused([("ip:a", 1)]) is None
    assert (await limiter.hit([("ip:a", 1)]))[0].allowed
