"""Fixed-window request counters shared by every gateway replica through Redis.

A request is counted against all of its limits (per client IP, per route and IP, per user) by
one script that increments the keys in order and stops at the first limit exceeded, so a
refused request spends none of the limits after it. The requests a worker counts while one
round trip is in flight go together in the next (`mesh.batching`): one script call counts each
of them in turn, exactly as separate calls would, for a fraction of the client's cost. A key
this process has seen exhausted is refused locally until its window ends, without asking Redis
and before the request costs anything else (body, token verification).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from mesh.batching import Batcher

__all__ = [
    "Decision",
    "Limit",
    "MemoryCounter",
    "RateLimiter",
    "RedisCounter",
    "WindowCounter",
]

_log = logging.getLogger(__name__)

# For each request of the batch (ARGV[1] of them; request r has ARGV[2r] keys and the window
# ARGV[2r + 1] in ms; the limits of all keys follow, in key order), for each of its keys in
# order: INCR, and PEXPIRE when it has no expiry yet (a new window; a crash between the two
# cannot leave a key that never expires, the script is atomic); a request stops after the
# first key whose count exceeds its limit. Returns, per request: how many keys it counted,
# then count, ms left, count, ms left...
_COUNT_HITS: Final = """
local requests = tonumber(ARGV[1])
local first_limit = 2 * requests + 1
local result = {}
local key = 1
for r = 1, requests do
  local size = tonumber(ARGV[2 * r])
  local window = tonumber(ARGV[2 * r + 1])
  local at = #result + 1
  result[at] = 0
  for i = key, key + size - 1 do
    local count = redis.call('INCR', KEYS[i])
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl < 0 then
      redis.call('PEXPIRE', KEYS[i], window)
      ttl = window
    end
    result[at] = result[at] + 1
    result[#result + 1] = count
    result[#result + 1] = ttl
    if count > tonumber(ARGV[first_limit + i]) then
      break
    end
  end
  key = key + size
end
return result
"""
_MAX_REMEMBERED: Final = 10_000

# (counter key, requests allowed per window)
Limit = tuple[str, int]
# One request's limits and the window they count in (ms).
_Counting = tuple[tuple[Limit, ...], int]


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int


class WindowCounter(Protocol):
    async def count_hits(self, limits: Sequence[Limit], window_ms: int) -> list[tuple[int, int]]:
        """Counts one hit against each limit in order, stopping after the first one exceeded.

        For each key counted: (count in the current window including this hit, milliseconds
        left in it)."""
        ...


class RedisCounter:
    def __init__(self, redis: Redis, prefix: str = "gateway:ratelimit:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(_COUNT_HITS)
        self._batches: Batcher[_Counting, list[tuple[int, int]]] = Batcher(self._count_batch)

    async def count_hits(self, limits: Sequence[Limit], window_ms: int) -> list[tuple[int, int]]:
        return await self._batches.submit((tuple(limits), window_ms))

    async def _count_batch(self, batch: list[_Counting]) -> list[list[tuple[int, int]]]:
        keys: list[str] = []
        shapes: list[int] = []
        limits: list[int] = []
        for request_limits, window_ms in batch:
            shapes += (len(request_limits), window_ms)
            for key, limit in request_limits:
                keys.append(self._prefix + key)
                limits.append(limit)
        flat = await self._script(keys=keys, args=[len(batch), *shapes, *limits])
        counted: list[list[tuple[int, int]]] = []
        at = 0
        for _ in batch:
            size = int(flat[at])
            counted.append(
                [(int(flat[i]), int(flat[i + 1])) for i in range(at + 1, at + 1 + 2 * size, 2)]
            )
            at += 1 + 2 * size
        return counted


class MemoryCounter:
    """Per-process counters: the fallback while Redis is unreachable, and for unit tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}

    async def count_hits(self, limits: Sequence[Limit], window_ms: int) -> list[tuple[int, int]]:
        counted = []
        for key, limit in limits:
            count, ms_left = self._increment(key, window_ms)
            counted.append((count, ms_left))
            if count > limit:
                break
        return counted

    def _increment(self, key: str, window_ms: int) -> tuple[int, int]:
        now = self._clock()
        ends, count = self._windows.get(key, (0.0, 0))
        if now >= ends:
            ends, count = now + window_ms / 1000, 0
            if len(self._windows) > 100_000:
                self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
        self._windows[key] = (ends, count + 1)
        return count + 1, int((ends - now) * 1000)


class RateLimiter:
    """Counts a request against its limits; falls back to local counting when Redis fails, so
    an outage of Redis neither blocks traffic nor lifts the limits entirely."""

    def __init__(
        self,
        shared: WindowCounter,
        fallback: WindowCounter | None = None,
        window_seconds: int = 60,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._shared = shared
        self._fallback = fallback or MemoryCounter()
        self._window_ms = window_seconds * 1000
        self._clock = clock
        # key -> (when its window ends, its limit), for keys seen exhausted
        self._exhausted: dict[str, tuple[float, int]] = {}

    def refused(self, limits: Sequence[Limit]) -> Decision | None:
        """The refusal of a request one of whose keys is exhausted for the rest of its window
        (as an earlier count here found), without counting it; None otherwise."""
        now = self._clock()
        for key, _ in limits:
            known = self._exhausted.get(key)
            if known is None:
                continue
            ends, limit = known
            if now < ends:
                return Decision(False, limit, 0, max(math.ceil(ends - now), 1))
            del self._exhausted[key]
        return None

    async def hit(self, limits: Sequence[Limit]) -> list[Decision]:
        """Counts the request against `limits` (in order; none after the first exceeded)."""
        try:
            counted = await self._shared.count_hits(limits, self._window_ms)
        except (RedisError, OSError) as error:
            _log.warning("rate limit store unavailable, counting locally: %s", error)
            counted = await self._fallback.count_hits(limits, self._window_ms)
        decisions = []
        for (key, limit), (count, ms_left) in zip(limits, counted, strict=False):
            decision = Decision(
                allowed=count <= limit,
                limit=limit,
                remaining=max(limit - count, 0),
                reset_seconds=max(math.ceil(ms_left / 1000), 1),
            )
            if not decision.allowed:
                self._remember_exhausted(key, limit, ms_left)
            decisions.append(decision)
        return decisions

    def _remember_exhausted(self, key: str, limit: int, ms_left: int) -> None:
        now = self._clock()
        if len(self._exhausted) >= _MAX_REMEMBERED:
            self._exhausted = {k: v for k, v in self._exhausted.items() if v[0] > now}
            if len(self._exhausted) >= _MAX_REMEMBERED:
                return  # Redis still counts them; only the shortcut is skipped
        self._exhausted[key] = (now + ms_left / 1000, limit)
