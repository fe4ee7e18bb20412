"""Keeps each product's rating from the review service's events (topic shop.review.events)."""

from __future__ import annotations

from mesh.events import Event

from ..domain.model import RatingSummary
from ..service_layer.catalog import CatalogService

CONSUMER_GROUP = "catalog"


class RatingUpdater:
    """Handler for ReviewCreated / ReviewDeleted: both carry the product's new summary.

    Idempotent by the summary's version, so redeliveries and reordering are harmless."""

    def __init__(self, catalog: CatalogService) -> None:
        self._catalog = catalog

    async def __call__(self, event: Event) -> None:
        if event.HasField("review_created"):
            summary = event.review_created.rating_summary
        elif event.HasField("review_deleted"):
            summary = event.review_deleted.rating_summary
        else:
            return
        if not summary.product_id:
            return
        await self._catalog.apply_rating(
            summary.product_id, RatingSummary(summary.average, summary.count, summary.version)
        )
