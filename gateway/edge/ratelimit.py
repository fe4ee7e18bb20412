"""Fixed-window request counters shared by every gateway replica through Redis."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

__all__ = ["Decision", "MemoryCounter", "RateLimiter", "RedisCounter", "WindowCounter"]

_log = logging.getLogger(__name__)

# INCR and the first PEXPIRE in one atomic step, so a crash between them cannot leave a key
# that never expires; returns the count and the milliseconds left in the window.
_INCREMENT: Final = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int


class WindowCounter(Protocol):
    async def increment(self, key: str, window_ms: int) -> tuple[int, int]:
        """(count in the current window including this hit, milliseconds left in it)"""
        ...


class RedisCounter:
    def __init__(self, redis: Redis, prefix: str = "gateway:ratelimit:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(_INCREMENT)

    async def increment(self, key: str, window_ms: int) -> tuple[int, int]:
        count, ttl = await self._script(keys=[self._prefix + key], args=[window_ms])
        return int(count), int(ttl)


class MemoryCounter:
    """Per-process counters: the fallback while Redis is unreachable, and for unit tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}

    async def increment(self, key: str, window_ms: int) -> tuple[int, int]:
        now = self._clock()
        ends, count = self._windows.get(key, (0.0, 0))
        if now >= ends:
            ends, count = now + window_ms / 1000, 0
            if len(self._windows) > 100_000:
                self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
        self._windows[key] = (ends, count + 1)
        return count + 1, int((ends - now) * 1000)


class RateLimiter:
    """Counts a hit against a limit; falls back to local counting when Redis fails, so an
    outage of Redis neither blocks traffic nor lifts the limit entirely."""

    def __init__(
        self, shared: WindowCounter, fallback: WindowCounter | None = None, window_seconds: int = 60
    ) -> None:
        self._shared = shared
        self._fallback = fallback or MemoryCounter()
        self._window_ms = window_seconds * 1000

    async def hit(self, key: str, limit: int) -> Decision:
        try:
            count, ttl_ms = await self._shared.increment(key, self._window_ms)
        except (RedisError, OSError) as error:
            _log.warning("rate limit store unavailable, counting locally: %s", error)
            count, ttl_ms = await self._fallback.increment(key, self._window_ms)
        return Decision(
            allowed=count <= limit,
            limit=limit,
            remaining=max(limit - count, 0),
            reset_seconds=max(math.ceil(ttl_ms / 1000), 1),
        )
