"""Detached tasks: the work finishes although the caller is cancelled."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mesh.tasks import DetachedTasks


async def test_work_finishes_after_the_caller_is_cancelled() -> None:
    tasks = DetachedTasks()
    release, done = asyncio.Event(), asyncio.Event()

    async def work() -> str:
        await release.wait()
        done.set()
        return "settled"

    caller = asyncio.create_task(tasks.run(work(), name="charge-1"))
    await asyncio.sleep(0)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert len(tasks) == 1 and not done.is_set()
    release.set()
    await tasks.drain()
    assert done.is_set() and len(tasks) == 0


async def test_the_caller_gets_the_result_or_the_error() -> None:
    tasks = DetachedTasks()

    async def ok() -> int:
        return 7

    async def fails() -> int:
        raise LookupError("lock not granted")

    assert await tasks.run(ok()) == 7
    with pytest.raises(LookupError):
        await tasks.run(fails())
    assert len(tasks) == 0


async def test_failures_reach_the_hook_even_when_nobody_waits() -> None:
    seen: list[tuple[str, BaseException]] = []

    def on_failure(task: asyncio.Task[Any], error: BaseException) -> None:
        seen.append((task.get_name(), error))

    tasks = DetachedTasks(on_failure)
    go = asyncio.Event()

    async def fails_later() -> None:
        await go.wait()
        raise RuntimeError("saga step failed")

    caller = asyncio.create_task(tasks.run(fails_later(), name="checkout-9"))
    await asyncio.sleep(0)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    go.set()
    await tasks.drain()
    assert [(name, str(error)) for name, error in seen] == [("checkout-9", "saga step failed")]


async def test_drain_cancels_what_outlives_the_timeout() -> None:
    tasks = DetachedTasks()
    cancelled = asyncio.Event()

    async def endless() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()

    caller = asyncio.create_task(tasks.run(endless()))
    await asyncio.sleep(0)
    await tasks.drain(timeout_seconds=0.01)
    assert cancelled.is_set() and len(tasks) == 0
    with pytest.raises(asyncio.CancelledError):
        await caller
