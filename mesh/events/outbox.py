"""Transactional outbox on PostgreSQL (asyncpg) and the relay that publishes it.

`Outbox.add(conn, event)` writes the event in the caller's transaction, so the event exists
if and only if the state change committed. `OutboxRelay.run()` publishes unpublished rows
in id order and marks them in one transaction: it locks a batch (`FOR UPDATE SKIP
LOCKED`), publishes the rows together (acks=all), then sets `published_at` and commits. If the
process dies after publishing but before the commit, the locks vanish with the connection
and the rows are published again: at-least-once, never lost. Consumers dedupe on
`event_id` (`mesh.events.dedupe`), so together with the idempotent producer each event
takes effect exactly once end to end.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, Final

from mesh.cancellation import raise_if_cancelling, wait_until_set
from mesh.events.envelope import Event, headers_for, topic_for
from mesh.events.publisher import EventPublisher, OutgoingRecord

__all__ = ["Outbox", "OutboxRelay"]

logger = logging.getLogger(__name__)

_CHANNEL: Final = "outbox"
# One relay publishes at a time, whatever the replica count, to keep the global order.
_RELAY_LOCK_KEY: Final = 0x0_B0_C5


class Outbox:
    async def add(self, conn: Any, event: Event) -> None:
        """Stores `event` using `conn`, which must be inside the caller's transaction."""
        await conn.execute(
            "INSERT INTO outbox (event_id, topic, key, payload, headers) "
            "VALUES ($1, $2, $3, $4, $5::jsonb)",
            uuid.UUID(event.event_id),
            topic_for(event.aggregate_type),
            event.aggregate_id.encode(),
            event.SerializeToString(),
            json.dumps([[k, v.decode()] for k, v in headers_for(event)]),
        )
        # Delivered at commit only: wakes the relay without polling latency.
        await conn.execute("SELECT pg_notify($1, '')", _CHANNEL)


class OutboxRelay:
    def __init__(
        self,
        pool: Any,
        publisher: EventPublisher,
        *,
        batch_size: int = 100,
        poll_interval_seconds: float = 1.0,
        retention_hours: float = 24.0,
        purge_interval_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool = pool
        self._publisher = publisher
        self._batch_size = batch_size
        self._poll_interval = poll_interval_seconds
        self._retention_hours = retention_hours
        # The purge reads every published row (no index on published_at, which would cost
        # every publish a second index write): once a minute, not on every wake-up, or an
        # idle service's database works in proportion to the day's traffic every second.
        self._purge_interval = purge_interval_seconds
        self._clock = clock
        self._purge_due = 0.0
        self._wakeup = asyncio.Event()

    async def run(self) -> None:
        """Publishes until cancelled (a `ServiceSpec.background` task)."""
        async with self._pool.acquire() as listener:
            await listener.add_listener(_CHANNEL, self._notified)
            try:
                while True:
                    raise_if_cancelling()
                    while await self.publish_batch() == self._batch_size:
                        pass
                    await self.purge_published()
                    self._wakeup.clear()
                    await wait_until_set(self._wakeup, self._poll_interval)
            finally:
                await listener.remove_listener(_CHANNEL, self._notified)

    def _notified(self, *_: object) -> None:
        self._wakeup.set()

    async def publish_batch(self) -> int:
        """Publishes and marks one batch; returns how many rows it published."""
        async with self._pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _RELAY_LOCK_KEY):
                return 0
            rows = await conn.fetch(
                "SELECT id, topic, key, payload, headers FROM outbox "
                "WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                self._batch_size,
            )
            # One produce request for the batch, not one round trip per row.
            await self._publisher.send_many(
                [
                    OutgoingRecord(
                        row["topic"],
                        key=row["key"],
                        value=row["payload"],
                        headers=[(k, v.encode()) for k, v in json.loads(row["headers"])],
                    )
                    for row in rows
                ]
            )
            if rows:
                await conn.execute(
                    "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
                    [row["id"] for row in rows],
                )
            return len(rows)

    async def purge_published(self) -> None:
        """Deletes rows published longer ago than the retention, at most once per purge
        interval (a call in between does nothing)."""
        now = self._clock()
        if now < self._purge_due:
            return
        self._purge_due = now + self._purge_interval
        async with self._pool.acquire() as conn:
            await conn.execute(
                "DELETE FROM outbox WHERE published_at < now() - make_interval(hours => $1)",
                self._retention_hours,
            )
