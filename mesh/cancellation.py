"""Stopping tasks reliably on Python 3.11, where a cancellation can get lost.

On 3.11, `asyncio.wait_for` returns the inner result when the outer task is cancelled just as
the inner work finishes, and the cancellation is gone (CPython fixed it in 3.12 by building
`wait_for` on `asyncio.timeout`). redis-py sends every command through `wait_for` once a
socket timeout is set (its default since 8.0), so a relay blocked on `XREADGROUP ... BLOCK`
loses about one cancellation in fifty; the task then runs on as if never asked to stop, and a
shutdown that cancels it and waits would wait forever.

Three defences, used together by the runtime:
- `cancel_and_wait` cancels again whatever is still running after a second, and says so;
- `raise_if_cancelling` at the top of a forever loop stops a task whose cancellation a
  library swallowed (`Task.cancelling()` still counts it);
- `wait_until_set` waits for an event with `asyncio.timeout`, which keeps cancellations,
  instead of `wait_for`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

__all__ = ["cancel_and_wait", "raise_if_cancelling", "wait_until_set"]

logger = logging.getLogger(__name__)

RECANCEL_SECONDS = 1.0


async def cancel_and_wait(
    tasks: Iterable[asyncio.Task[Any]], *, recancel_seconds: float = RECANCEL_SECONDS
) -> None:
    """Cancels `tasks` and returns once every one has ended; their outcomes are consumed."""
    stopping = list(tasks)
    pending = {task for task in stopping if not task.done()}
    for task in pending:
        task.cancel()
    while pending:
        _, pending = await asyncio.wait(pending, timeout=recancel_seconds)
        for task in pending:
            logger.warning("task %s went on after it was cancelled; cancelling it again", task)
            task.cancel()
    for task in stopping:
        if not task.cancelled():
            task.exception()  # retrieved, so asyncio does not report it as never retrieved


def raise_if_cancelling() -> None:
    """Raises `CancelledError` when the current task was asked to stop and is still running."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def wait_until_set(event: asyncio.Event, timeout_seconds: float | None) -> bool:
    """Whether `event` was set within `timeout_seconds` (None: wait as long as it takes)."""
    try:
        async with asyncio.timeout(timeout_seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
