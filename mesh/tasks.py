"""Work that finishes even if the caller stops waiting.

A handler whose caller disconnects or hits its deadline is cancelled. Some work must not
stop halfway (a checkout saga, a charge already sent to the processor): it runs as its own
task, the handler awaits it through `asyncio.shield`, and shutdown drains what is left.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from mesh.cancellation import cancel_and_wait

__all__ = ["DetachedTasks"]

_T = TypeVar("_T")

FailureHook = Callable[["asyncio.Task[Any]", BaseException], None]


class DetachedTasks:
    """The set of detached tasks one component started, kept until each ends."""

    def __init__(self, on_failure: FailureHook | None = None) -> None:
        # Called for a task that raised, also when nobody was still waiting for it.
        self._on_failure = on_failure
        self._running: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._running)

    async def run(self, work: Coroutine[Any, Any, _T], *, name: str | None = None) -> _T:
        """Run `work` to completion; the caller's cancellation stops only its waiting."""
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._running.add(task)
        task.add_done_callback(self._finished)
        return await asyncio.shield(task)

    async def drain(self, timeout_seconds: float | None = None) -> None:
        """Wait for running tasks; after the timeout, cancel those still running."""
        if not self._running:
            return
        _, pending = await asyncio.wait(set(self._running), timeout=timeout_seconds)
        await cancel_and_wait(pending)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._running.discard(task)
        if task.cancelled():
            return
        # Reading the exception keeps asyncio from reporting it as never retrieved; the
        # caller who was still waiting has received it already.
        error = task.exception()
        if error is not None and self._on_failure is not None:
            self._on_failure(task, error)
