"""RecentResults: identical searches within the window share one answer; nothing else does."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from services.search.adapters.recent_results import RecentResults


class CountingBackend:
    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.failing = False

    async def search(self, body: dict[str, Any]) -> dict[str, Any]:
        self.asked.append(body)
        await self.release.wait()
        if self.failing:
            raise RuntimeError("index away")
        return {"answer": len(self.asked), "query": body}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def recent(backend: CountingBackend, clock: Clock, **options: Any) -> RecentResults:
    return RecentResults(backend, CollectorRegistry(), clock=clock, **options)


async def test_the_same_search_within_the_window_is_answered_once() -> None:
    backend, clock = CountingBackend(), Clock()
    results = recent(backend, clock, seconds=1.0)
    first = await results.search({"query": "shirt", "size": 21})
    clock.now += 0.9
    again = await results.search({"size": 21, "query": "shirt"})  # same body, other key order
    assert again is first and len(backend.asked) == 1
    clock.now += 0.2  # the first answer is now 1.1 s old
    fresh = await results.search({"query": "shirt", "size": 21})
    assert fresh["answer"] == 2 and len(backend.asked) == 2


async def test_a_different_page_filter_or_prefix_is_another_search() -> None:
    backend, clock = CountingBackend(), Clock()
    results = recent(backend, clock)
    await results.search({"query": "shirt"})
    await results.search({"query": "shirt", "search_after": [1.0, "p-1"]})
    await results.search({"query": "shirts"})
    assert len(backend.asked) == 3


async def test_concurrent_identical_searches_share_one_call() -> None:
    backend, clock = CountingBackend(), Clock()
    backend.release.clear()
    results = recent(backend, clock)
    waiting = [asyncio.create_task(results.search({"query": "lamp"})) for _ in range(20)]
    await asyncio.sleep(0)
    backend.release.set()
    answers = await asyncio.gather(*waiting)
    assert len(backend.asked) == 1 and all(a is answers[0] for a in answers)


async def test_a_failure_is_not_kept() -> None:
    backend, clock = CountingBackend(), Clock()
    results = recent(backend, clock)
    backend.failing = True
    with pytest.raises(RuntimeError):
        await results.search({"query": "lamp"})
    backend.failing = False
    answer = await results.search({"query": "lamp"})
    assert answer["answer"] == 2


async def test_zero_seconds_asks_the_index_every_time() -> None:
    backend, clock = CountingBackend(), Clock()
    results = recent(backend, clock, seconds=0.0)
    await results.search({"query": "lamp"})
    await results.search({"query": "lamp"})
    assert len(backend.asked) == 2


async def test_the_oldest_answers_go_first_beyond_the_bound() -> None:
    backend, clock = CountingBackend(), Clock()
    results = recent(backend, clock, max_entries=2)
    for word in ("a", "b", "c"):
        await results.search({"query": word})
    await results.search({"query": "c"})
    await results.search({"query": "b"})
    assert len(backend.asked) == 3
    await results.search({"query": "a"})  # evicted: asked again
    assert len(backend.asked) == 4
