"""Closed-loop drivers: N workers call as fast as answers come back; figures per scenario."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

# One call by worker `index`; True when it succeeded. Raising counts as a failure.
Call = Callable[[int], Awaitable[bool]]
# Untimed work before each timed call (refilling a cart before a checkout).
Prepare = Callable[[int], Awaitable[None]]


class Failed(Exception):
    """A call that was answered, but not with success; the message is its kind (`HTTP 504`)."""


@dataclass
class Samples:
    """Latencies of successful calls and the failures, over all rounds of one scenario."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    error_kinds: dict[str, int] = field(default_factory=dict)

    def fail(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1


@dataclass(frozen=True)
class Figures:
    scenario: str
    concurrency: int
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    error_kinds: dict[str, int]


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile in milliseconds (0 for no samples)."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index] * 1000


def figures(scenario: str, concurrency: int, samples: Samples) -> Figures:
    done = samples.latencies
    seconds = samples.seconds or 1e-9
    return Figures(
        scenario=scenario,
        concurrency=concurrency,
        requests=len(done),
        errors=samples.errors,
        seconds=round(samples.seconds, 2),
        rps=round(len(done) / seconds, 1),
        p50_ms=round(statistics.median(done) * 1000, 1) if done else 0.0,
        p95_ms=round(percentile(done, 0.95), 1),
        p99_ms=round(percentile(done, 0.99), 1),
        error_kinds=dict(samples.error_kinds),
    )


async def drive(
    call: Call,
    samples: Samples,
    *,
    concurrency: int,
    duration: float,
    warmup: float = 0.5,
    prepare: Prepare | None = None,
    max_calls: int | None = None,
) -> None:
    """Run `concurrency` workers for `warmup + duration` seconds (or `max_calls` calls) and
    add what happened after the warm-up to `samples`."""
    measuring = False
    remaining = [max_calls if max_calls is not None else -1]
    stop_at = time.perf_counter() + warmup + duration

    async def worker(index: int) -> None:
        while time.perf_counter() < stop_at and remaining[0] != 0:
            if remaining[0] > 0:
                remaining[0] -= 1
            if prepare is not None:
                try:
                    await prepare(index)
                except Exception as error:  # the untimed set-up failed: that is a failure too
                    if measuring:
                        samples.fail(f"prepare {type(error).__name__}")
                    await asyncio.sleep(0.05)
                    continue
            started = time.perf_counter()
            try:
                ok = await call(index)
                kind = "failed"
            except Failed as failure:
                ok, kind = False, str(failure)
            except Exception as error:  # a failed call is a figure, not a crash of the bench
                ok, kind = False, type(error).__name__
            elapsed = time.perf_counter() - started
            if measuring:
                if ok:
                    samples.latencies.append(elapsed)
                else:
                    samples.fail(kind)

    tasks = [asyncio.create_task(worker(i)) for i in range(concurrency)]
    if warmup > 0:
        await asyncio.sleep(warmup)
    measuring = True
    started = time.perf_counter()
    await asyncio.gather(*tasks)
    samples.seconds += time.perf_counter() - started
