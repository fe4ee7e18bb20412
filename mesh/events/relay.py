"""The run loop shared by the outbox relays of MongoDB and Redis services.

A relay supplies one step, "publish a batch and return how many events went out"; this loop
repeats it until cancelled. A relay whose writers live in the same process passes `wake`, an
`asyncio.Event` they set after each committed write: the loop then sleeps until woken, with
`poll_seconds` only as a slow safety net, instead of polling the store. A failed step is
logged and retried after a pause that doubles up
to a ceiling, because the usual causes (Kafka or the store restarting) take a while to pass;
one success resets the pause. (`OutboxRelay` for PostgreSQL has its own loop: NOTIFY wakes
it, and the runtime restarts it when a batch fails.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from mesh.cancellation import raise_if_cancelling, wait_until_set

__all__ = ["relay_forever"]

logger = logging.getLogger(__name__)


async def relay_forever(
    publish_batch: Callable[[], Awaitable[int]],
    *,
    what: str,
    batch_size: int,
    poll_seconds: float,
    retry_seconds: float,
    max_backoff_seconds: float,
    wake: asyncio.Event | None = None,
) -> None:
    """Calls `publish_batch` until cancelled (a `ServiceSpec.background` task).

    After a batch smaller than `batch_size` the loop waits `poll_seconds`; pass 0 when
    `publish_batch` itself waits for new events. After a failure it waits `retry_seconds`,
    doubled after every further failure up to `max_backoff_seconds`. `what` names the events
    in the log line, e.g. "product events". With `wake`, an idle loop waits for it to be set
    (at most `poll_seconds`); it is cleared before each batch, so a write that commits while
    a batch runs is picked up by the next one.
    """
    backoff = retry_seconds
    while True:
        raise_if_cancelling()
        if wake is not None:
            wake.clear()
        try:
            published = await publish_batch()
            backoff = retry_seconds
        except Exception:
            logger.exception("publishing %s failed; retrying in %.1fs", what, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, max_backoff_seconds)
            continue
        if published >= batch_size:
            continue
        if wake is not None:
            await wait_until_set(wake, poll_seconds or None)
        elif poll_seconds:
            await asyncio.sleep(poll_seconds)
