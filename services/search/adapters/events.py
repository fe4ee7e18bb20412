"""Catalog and review events in: each becomes one change to one product's document."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from mesh.events import Event

from ..domain.documents import (
    Change,
    RatingFacts,
    product_gone,
    product_seen,
    rating_seen,
    stock_seen,
)
from ..service_layer.indexing import IndexUpdater
from .protos import facts_from_product

logger = logging.getLogger(__name__)


class IndexEvents:
    """The event consumer's handler: event -> change -> the index updater.

    It takes a fetched batch at once too (`mesh.events.BatchEventHandler`): the batch's
    changes are written together, one write per product.
    """

    def __init__(self, updater: IndexUpdater) -> None:
        self._updater = updater

    @property
    def handle(self) -> IndexEvents:
        """What the consumer is given: this handler, which also takes batches."""
        return self

    async def __call__(self, event: Event) -> None:
        target = change_for(event)
        if target is None:
            logger.debug("ignoring %s", event.event_type)
            return
        await self._updater.apply(*target)

    async def handle_batch(self, events: Sequence[Event]) -> None:
        await self._updater.apply_many(
            [target for target in map(change_for, events) if target is not None]
        )


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
