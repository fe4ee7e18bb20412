"""The in-memory and handler-side dedupe stores."""

from __future__ import annotations

from mesh.events import HandlerDedupes, InMemoryProcessedEvents, ProcessedEvents


async def run_twice(processed: ProcessedEvents) -> tuple[list[bool], int]:
    calls = 0

    async def handle() -> None:
        nonlocal calls
        calls += 1

    outcomes = [await processed.process_once("search", "event-1", handle) for _ in range(2)]
    return outcomes, calls


async def test_in_memory_runs_an_event_once_per_consumer() -> None:
    processed = InMemoryProcessedEvents()
    assert await run_twice(processed) == ([True, False], 1)

    async def nothing() -> None:
        pass

    assert await processed.process_once("analytics", "event-1", nothing)


async def test_handler_dedupes_leaves_every_record_to_the_handler() -> None:
    assert await run_twice(HandlerDedupes()) == ([True, True], 2)
