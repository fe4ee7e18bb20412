"""Publishes the events stored with committed product changes (the catalog's outbox relay).

A change and its event are one document, so an acknowledged change always has its event
waiting here. Before an event goes out the readable product is brought up to date, so a
consumer that reacts by reading the product sees at least that version. Publishing is
at-least-once (a crash between publish and mark repeats a batch); consumers dedupe on
`event_id`, which is stable per change.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from mesh.events import Event
from services.catalog.adapters.repository import CatalogStore

logger = logging.getLogger(__name__)


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
        backoff = self._poll_seconds
        while True:
            try:
                published = await self.publish_pending()
                backoff = self._poll_seconds
            except Exception:
                logger.exception("publishing product events failed; retrying in %.1fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff_seconds)
                continue
            if published < self._batch_size:
                await asyncio.sleep(self._poll_seconds)

    async def publish_pending(self) -> int:
        """Publishes one batch; returns how many events went out."""
        entries = await self._store.unpublished(self._batch_size)
        for product_id in dict.fromkeys(entry.product_id for entry in entries):
            await self._store.catch_up(product_id)
        for entry in entries:
            await self._publisher.publish(Event.FromString(entry.event))
        await self._store.mark_published([entry.change_id for entry in entries])
        return len(entries)
