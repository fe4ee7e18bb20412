"""Publishes the cart events recorded by the store's atomic writes (the outbox relay).

An entry is confirmed (acknowledged and deleted) only after Kafka acknowledged its event;
an entry whose publish failed stays pending and is retried, and entries of a relay that died
are claimed by another after a while. At-least-once: consumers dedupe on `event_id`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from mesh.events import Event, relay_forever

from .events import OutboxEntry, completed


class OutboxSource(Protocol):
    async def pending_events(self, limit: int) -> list[OutboxEntry]:
        """Events of committed writes not yet confirmed published, oldest first."""

    async def confirm_published(self, entry_ids: Sequence[str]) -> None: ...


class Publisher(Protocol):
    async def publish(self, event: Event) -> None: ...


class OutboxRelay:
    def __init__(
        self,
        source: OutboxSource,
        publisher: Publisher,
        *,
        batch_size: int = 100,
        retry_seconds: float = 0.5,
        max_backoff_seconds: float = 10.0,
    ) -> None:
        self._source = source
        self._publisher = publisher
        self._batch_size = batch_size
        self._retry_seconds = retry_seconds
        self._max_backoff_seconds = max_backoff_seconds

    async def run(self) -> None:
        await relay_forever(
            self.publish_pending,
            what="cart events",
            batch_size=self._batch_size,
            # publish_pending waits (blocking read) for new entries itself.
            poll_seconds=0,
            retry_seconds=self._retry_seconds,
            max_backoff_seconds=self._max_backoff_seconds,
        )

    async def publish_pending(self) -> int:
        """Publishes one batch (waiting briefly for new entries); returns how many."""
        entries = await self._source.pending_events(self._batch_size)
        for entry in entries:
            await self._publisher.publish(completed(entry))
        await self._source.confirm_published([entry.entry_id for entry in entries])
        return len(entries)
