"""Publishes the events stored with committed product changes (the catalog's outbox relay).

A change and its event are one document, so an acknowledged change always has its event
waiting here. Before an event goes out the readable product is brought up to date, so a
consumer that reacts by reading the product sees at least that version. Publishing is
at-least-once (a crash between publish and mark repeats a batch); consumers dedupe on
`event_id`, which is stable per change.
"""

from __future__ import annotations

from typing import Protocol

from mesh.events import Event, relay_forever
from services.catalog.adapters.repository import CatalogStore


class Publisher(Protocol):
    async def publish(self, event: Event) -> None: ...


class OutboxRelay:
    def __init__(
        self,
        store: CatalogStore,
        publisher: Publisher,
        *,
        poll_seconds: float = 0.2,
        batch_size: int = 100,
        max_backoff_seconds: float = 10.0,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._poll_seconds = poll_seconds
        self._batch_size = batch_size
        self._max_backoff_seconds = max_backoff_seconds

    async def run(self) -> None:
        await relay_forever(
            self.publish_pending,
            what="product events",
            batch_size=self._batch_size,
            poll_seconds=self._poll_seconds,
            retry_seconds=self._poll_seconds,
            max_backoff_seconds=self._max_backoff_seconds,
        )

    async def publish_pending(self) -> int:
        """Publishes one batch; returns how many events went out."""
        entries = await self._store.unpublished(self._batch_size)
        for product_id in dict.fromkeys(entry.product_id for entry in entries):
            await self._store.catch_up(product_id)
        for entry in entries:
            await self._publisher.publish(Event.FromString(entry.event))
        await self._store.mark_published([entry.change_id for entry in entries])
        return len(entries)
