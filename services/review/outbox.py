"""Background work of the review service: the outbox relay and the counting repair.

A change and its event are one document, so a recorded change always has its event waiting
here. Publishing is at-least-once (a crash between publish and mark repeats a batch);
consumers dedupe on `event_id`, which is fixed per change.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Protocol

from mesh.events import Event, relay_forever
from services.review.adapters.repository import ReviewStore
from services.review.domain import ChangeKind
from services.review.service import ReviewService

logger = logging.getLogger(__name__)


class Publisher(Protocol):
    async def publish(self, event: Event) -> None: ...


class OutboxRelay:
    def __init__(
        self,
        store: ReviewStore,
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
            what="review events",
            batch_size=self._batch_size,
            poll_seconds=self._poll_seconds,
            retry_seconds=self._poll_seconds,
            max_backoff_seconds=self._max_backoff_seconds,
        )

    async def publish_pending(self) -> int:
        """Publishes one batch; returns how many events went out."""
        entries = await self._store.unpublished(self._batch_size)
        for entry in entries:
            if entry.kind == ChangeKind.DELETED.value:
                # The deleting call may have died before removing the review it uncounted.
                await self._store.remove_review(entry.review_id)
            await self._publisher.publish(Event.FromString(entry.event))
        await self._store.mark_published([entry.change_id for entry in entries])
        return len(entries)


class CountingRepair:
    """Counts reviews that were stored but whose writer died before counting them."""

    def __init__(
        self, reviews: ReviewService, *, grace: timedelta, interval_seconds: float = 10.0
    ) -> None:
        self._reviews = reviews
        self._grace = grace
        self._interval_seconds = interval_seconds

    async def run(self) -> None:
        while True:
            try:
                if repaired := await self._reviews.repair(self._grace):
                    logger.warning("counted %d reviews left uncounted by a crash", repaired)
            except Exception:
                logger.exception("counting repair failed; trying again later")
            await asyncio.sleep(self._interval_seconds)
