from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from mesh.events import relay_forever


class Stop(BaseException):
    """Ends the loop the way cancellation does: not an `Exception`, so not retried."""


def scripted(*steps: int | Exception) -> Callable[[], Coroutine[Any, Any, int]]:
    """A publish step that returns or raises the given outcomes in turn, then stops."""
    remaining = list(steps)

    async def publish_batch() -> int:
        if not remaining:
            raise Stop
        step = remaining.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    return publish_batch


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:
        recorded.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr("mesh.events.relay.asyncio.sleep", sleep)
    return recorded


async def run(
    publish_batch: Callable[[], Coroutine[Any, Any, int]], *, poll_seconds: float = 0.2
) -> None:
    with pytest.raises(Stop):
        await relay_forever(
            publish_batch,
            what="test events",
            batch_size=10,
            poll_seconds=poll_seconds,
            retry_seconds=0.5,
            max_backoff_seconds=3.0,
        )


async def test_a_full_batch_is_followed_at_once_and_a_short_one_after_a_poll(
    pauses: list[float],
) -> None:
    await run(scripted(10, 10, 3, 0))
    assert pauses == [0.2, 0.2]


async def test_without_a_poll_interval_the_step_is_repeated_at_once(pauses: list[float]) -> None:
    await run(scripted(0, 3, 0), poll_seconds=0)
    assert pauses == []


async def test_failures_back_off_doubling_up_to_the_ceiling_and_a_success_resets(
    pauses: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    boom = RuntimeError("kafka is down")
    with caplog.at_level(logging.ERROR, logger="mesh.events.relay"):
        await run(scripted(boom, boom, boom, boom, 10, boom), poll_seconds=0)
    assert pauses == [0.5, 1.0, 2.0, 3.0, 0.5]
    assert caplog.messages[0] == "publishing test events failed; retrying in 0.5s"
    assert all(record.exc_info for record in caplog.records)


async def test_cancellation_ends_the_loop() -> None:
    started = asyncio.Event()

    async def publish_batch() -> int:
        started.set()
        await asyncio.Event().wait()
        return 0

    task = asyncio.create_task(
        relay_forever(
            publish_batch,
            what="test events",
            batch_size=10,
            poll_seconds=0.2,
            retry_seconds=0.5,
            max_backoff_seconds=3.0,
        )
    )
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_with_a_wake_event_an_idle_loop_sleeps_until_a_write_sets_it() -> None:
    wake = asyncio.Event()
    batches: list[int] = []

    async def publish_batch() -> int:
        batches.append(len(batches))
        if len(batches) == 2:
            # A write that commits while this batch runs must be seen by the next one.
            wake.set()
        if len(batches) == 4:
            raise Stop
        return 0

    task = asyncio.create_task(
        relay_forever(
            publish_batch,
            what="test events",
            batch_size=10,
            poll_seconds=3600,
            retry_seconds=0.5,
            max_backoff_seconds=3.0,
            wake=wake,
        )
    )
    for _ in range(50):
        await asyncio.sleep(0)
    # First batch, then asleep: the safety poll is an hour away.
    assert batches == [0]
    wake.set()
    for _ in range(50):
        await asyncio.sleep(0)
    # Woken: the second batch ran; the write during it woke the third at once.
    assert batches == [0, 1, 2]
    wake.set()
    with pytest.raises(Stop):
        await asyncio.wait_for(task, 5)
    assert batches == [0, 1, 2, 3]
