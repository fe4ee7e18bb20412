"""Tasks stop when cancelled even after a library swallowed the first cancellation."""

from __future__ import annotations

import asyncio
import logging

import pytest

from mesh.cancellation import cancel_and_wait, raise_if_cancelling, wait_until_set
from mesh.events.relay import relay_forever


async def swallowing_call() -> int:
    """What Python 3.11's `wait_for` does when a cancellation meets the end of the work."""
    try:
        await asyncio.sleep(0.01)
    except asyncio.CancelledError:
        pass  # lost, though Task.cancelling() still counts it
    return 0


async def test_a_task_that_swallowed_its_cancellation_is_cancelled_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rounds = 0

    async def unguarded_loop() -> None:
        nonlocal rounds
        while True:
            rounds += 1
            if rounds == 1:
                await swallowing_call()
            else:
                await asyncio.sleep(0.01)

    task = asyncio.create_task(unguarded_loop(), name="unguarded")
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING, logger="mesh.cancellation"):
        await asyncio.wait_for(cancel_and_wait([task], recancel_seconds=0.05), 2)
    assert task.cancelled() and rounds > 1
    assert "unguarded" in caplog.text and "cancelling it again" in caplog.text


async def test_cancel_and_wait_retrieves_failures_and_accepts_finished_tasks() -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    failed = asyncio.create_task(fails())
    finished = asyncio.create_task(asyncio.sleep(0))
    await asyncio.sleep(0.01)
    await cancel_and_wait([failed, finished])
    assert failed.done() and not failed.cancelled() and finished.done()


async def test_a_relay_stops_at_its_next_round_when_a_batch_swallowed_the_cancellation() -> None:
    batches = 0

    async def publish_batch() -> int:
        nonlocal batches
        batches += 1
        if batches == 1:
            return await swallowing_call()
        await asyncio.sleep(0.01)
        return 0

    relay = asyncio.create_task(
        relay_forever(
            publish_batch,
            what="test events",
            batch_size=10,
            poll_seconds=0,
            retry_seconds=0.01,
            max_backoff_seconds=0.01,
        )
    )
    await asyncio.sleep(0)
    relay.cancel()  # once: the guard, not a second cancel, ends it
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(asyncio.shield(relay), 2)
    assert relay.cancelled() and batches == 1


async def test_raise_if_cancelling_is_quiet_in_a_task_not_asked_to_stop() -> None:
    raise_if_cancelling()
    await asyncio.create_task(asyncio.sleep(0))
    raise_if_cancelling()


async def test_wait_until_set_reports_whether_the_event_came() -> None:
    event = asyncio.Event()
    assert await wait_until_set(event, 0.01) is False
    asyncio.get_running_loop().call_later(0.01, event.set)
    assert await wait_until_set(event, 2) is True


async def test_wait_until_set_keeps_a_cancellation_that_meets_the_event() -> None:
    event = asyncio.Event()
    waiter = asyncio.create_task(wait_until_set(event, 5))
    await asyncio.sleep(0)
    # Set and cancelled in the same turn of the loop: 3.11's wait_for would return True.
    event.set()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
