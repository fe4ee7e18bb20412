"""Coalescer: concurrent loads of one key share one call; failures and writes are not kept."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from mesh.coalescing import Coalescer


class SlowSource:
    """Counts loads; each waits until `release` is set."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = asyncio.Event()
        self.fail = False

    async def load_many(self, keys: list[str]) -> Mapping[str, str]:
        self.batches.append(keys)
        await self.release.wait()
        if self.fail:
            raise RuntimeError("store down")
        return {key: f"value of {key}" for key in keys if key != "absent"}

    async def load_one(self) -> str:
        return (await self.load_many(["one"]))["one"]


async def settle() -> None:
    """Lets the tasks just created run up to their next wait."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_hundred_concurrent_loads_of_one_key_make_one_call() -> None:
    source, loads = SlowSource(), Coalescer[str, str]()
    readers = [asyncio.create_task(loads.load("one", source.load_one)) for _ in range(100)]
    await settle()
    source.release.set()
    assert await asyncio.gather(*readers) == ["value of one"] * 100
    assert source.batches == [["one"]]
    await settle()  # the done callback runs
    assert loads.in_flight == 0


async def test_a_batch_loads_only_the_keys_not_already_in_flight() -> None:
    source, loads = SlowSource(), Coalescer[str, str]()
    first = asyncio.create_task(loads.load_many(["a", "b"], source.load_many))
    await settle()
    second = asyncio.create_task(loads.load_many(["b", "c", "absent", "c"], source.load_many))
    await settle()
    source.release.set()
    assert await first == {"a": "value of a", "b": "value of b"}
    assert await second == {"b": "value of b", "c": "value of c"}
    assert source.batches == [["a", "b"], ["c", "absent"]]


async def test_a_failure_reaches_every_waiter_and_the_next_reader_loads_again() -> None:
    source, loads = SlowSource(), Coalescer[str, str]()
    source.fail = True
    readers = [asyncio.create_task(loads.load("one", source.load_one)) for _ in range(3)]
    await settle()
    source.release.set()
    outcomes = await asyncio.gather(*readers, return_exceptions=True)
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    source.fail = False
    assert await loads.load("one", source.load_one) == "value of one"
    assert len(source.batches) == 2


async def test_a_reader_that_gives_up_does_not_cancel_the_load_for_the_others() -> None:
    source, loads = SlowSource(), Coalescer[str, str]()
    impatient = asyncio.create_task(loads.load("one", source.load_one))
    await settle()
    patient = asyncio.create_task(loads.load("one", source.load_one))
    await settle()
    impatient.cancel()
    with pytest.raises(asyncio.CancelledError):
        await impatient
    source.release.set()
    assert await patient == "value of one"
    assert len(source.batches) == 1


async def test_after_forget_new_readers_start_their_own_load() -> None:
    source, loads = SlowSource(), Coalescer[str, str]()
    before = asyncio.create_task(loads.load("one", source.load_one))
    await settle()
    loads.forget("one")  # a write landed: the load in flight may predate it
    after = asyncio.create_task(loads.load("one", source.load_one))
    await settle()
    assert len(source.batches) == 2
    source.release.set()
    assert [await before, await after] == ["value of one"] * 2
    await settle()  # the done callbacks run
    assert loads.in_flight == 0
