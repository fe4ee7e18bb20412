"""Batcher: what queues during a round trip goes in the next one, in order, answered each."""

from __future__ import annotations

import asyncio

import pytest

from mesh.batching import Batcher


class SlowStore:
    """Doubles numbers; each round trip waits until `release` is set."""

    def __init__(self) -> None:
        self.round_trips: list[list[int]] = []
        self.release = asyncio.Event()
        self.fail = False

    async def send(self, items: list[int]) -> list[int]:
        self.round_trips.append(items)
        await self.release.wait()
        if self.fail:
            raise ConnectionError("store down")
        return [2 * item for item in items]


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_calls_made_together_share_one_round_trip() -> None:
    store = SlowStore()
    store.release.set()
    batcher = Batcher(store.send)
    assert await asyncio.gather(*(batcher.submit(i) for i in range(10))) == [
        2 * i for i in range(10)
    ]
    assert store.round_trips == [list(range(10))]


async def test_calls_made_during_a_round_trip_go_in_the_next_one() -> None:
    store = SlowStore()
    batcher = Batcher(store.send)
    first = asyncio.create_task(batcher.submit(1))
    await settle()
    later = [asyncio.create_task(batcher.submit(i)) for i in (2, 3, 4)]
    await settle()
    assert store.round_trips == [[1]]  # one round trip at a time
    store.release.set()
    assert await first == 2
    assert [await task for task in later] == [4, 6, 8]
    assert store.round_trips == [[1], [2, 3, 4]]


async def test_a_batch_is_never_larger_than_the_maximum() -> None:
    store = SlowStore()
    store.release.set()
    batcher = Batcher(store.send, max_batch=3)
    await asyncio.gather(*(batcher.submit(i) for i in range(7)))
    assert store.round_trips == [[0, 1, 2], [3, 4, 5], [6]]


async def test_a_failed_round_trip_fails_its_callers_only() -> None:
    store = SlowStore()
    batcher = Batcher(store.send)
    doomed = [asyncio.create_task(batcher.submit(i)) for i in (1, 2)]
    await settle()
    store.fail = True
    store.release.set()
    for task in doomed:
        with pytest.raises(ConnectionError):
            await task
    store.fail = False
    assert await batcher.submit(5) == 10


async def test_a_caller_that_gives_up_does_not_disturb_the_others() -> None:
    store = SlowStore()
    batcher = Batcher(store.send)
    impatient = asyncio.create_task(batcher.submit(1))
    patient = asyncio.create_task(batcher.submit(2))
    await settle()
    impatient.cancel()
    store.release.set()
    assert await patient == 4
    assert impatient.cancelled()


async def test_a_wrong_number_of_answers_is_an_error_not_a_misattribution() -> None:
    async def short(items: list[int]) -> list[int]:
        return items[:-1]

    batcher = Batcher(short)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(3)), return_exceptions=True)
    assert all(isinstance(result, RuntimeError) for result in results)


async def test_close_waits_for_what_is_queued() -> None:
    store = SlowStore()
    batcher = Batcher(store.send)
    pending = asyncio.create_task(batcher.submit(1))
    await settle()
    closing = asyncio.create_task(batcher.aclose())
    await settle()
    assert not closing.done()
    store.release.set()
    await closing
    assert await pending == 2
