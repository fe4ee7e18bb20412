"""Keeps the index in step with the catalog and review events.

Every handler is idempotent by version (see domain.documents), so redeliveries, replays
and reordered events are harmless and no separate dedupe store is needed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from elasticsearch import ApiError, TransportError

from mesh.events import Event
from services.search.convert import facts_from_product
from services.search.domain.documents import (
    Change,
    RatingFacts,
    product_gone,
    product_seen,
    rating_seen,
    stock_seen,
)

logger = logging.getLogger(__name__)
TRANSIENT = (TransportError, ApiError)


class Index(Protocol):
    async def apply(self, product_id: str, change: Change) -> None: ...


class IndexUpdater:
    def __init__(self, index: Index, *, max_backoff_seconds: float = 10.0) -> None:
        self._index = index
        self._max_backoff_seconds = max_backoff_seconds

    async def handle(self, event: Event) -> None:
        target = change_for(event)
        if target is None:
            logger.debug("ignoring %s", event.event_type)
            return
        product_id, change = target
        backoff = 0.2
        while True:
            try:
                await self._index.apply(product_id, change)
                return
            except TRANSIENT as error:
                # Elasticsearch away or busy: wait here, keeping the partition's order, rather
                # than let the consumer dead-letter an event that is perfectly good.
                if isinstance(error, ApiError) and not _busy_or_down(error.meta.status):
                    raise
                logger.warning("index unavailable (%s); retrying in %.1fs", error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff_seconds)


def change_for(event: Event) -> tuple[str, Change] | None:
    """The product an event is about and the change it makes to its document."""
    match event.WhichOneof("payload"):
        case "product_created":
            product = event.product_created.product
            return product.id, product_seen(facts_from_product(product))
        case "product_updated":
            product = event.product_updated.product
            return product.id, product_seen(facts_from_product(product))
        case "stock_changed":
            stock = event.stock_changed
            version = stock.version or event.aggregate_version
            return stock.product_id, stock_seen(stock.product_id, stock.inventory, version)
        case "product_deleted":
            gone = event.product_deleted
            version = gone.version or event.aggregate_version
            return gone.product_id, product_gone(gone.product_id, version)
        case "review_created" | "review_deleted" as kind:
            review_event = getattr(event, kind)
            summary = review_event.rating_summary
            product_id = review_event.review.product_id or summary.product_id
            # The review ledger numbers each product's rating changes: aggregate_version.
            facts = RatingFacts(product_id, summary.average, summary.count, event.aggregate_version)
            return product_id, rating_seen(facts)
    return None


def _busy_or_down(status: int) -> bool:
    return status == 429 or status >= 500


class AlwaysHandle:
    """The consumer's dedupe store for version-idempotent handlers: it always runs them."""

    async def process_once(
        self, consumer: str, event_id: str, handle: Callable[[], Awaitable[None]]
    ) -> bool:
        await handle()
        return True
