"""What the index holds per product, and the version rules for changing it (no I/O).

A product's document is fed by three independent streams, each with its own version:
the catalog's product fields (`product_version`), its stock (`stock_version`, since a stock
change carries only the inventory) and the review ledger's rating summary
(`rating_version`). A change applies only when it is newer than what the document holds
for its stream, so stale and replayed events change nothing, in whatever order they come.
A deleted product leaves a tombstone that no catalog event revives (product ids are never
reused). The catalog's own copy of a product's rating fills in only while no review event
has been seen for it (e.g. right after a first reindex). Only `listed` documents (product
fields seen, not deleted) are searchable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

Source = dict[str, Any]
# Given the stored document (None: none yet), returns the new one, or None to leave it as is.
Change = Callable[[Source | None], Source | None]


@dataclass(frozen=True, slots=True)
class ProductFacts:
    """A product as the catalog published it at `version`."""

    id: str
    name: str
    description: str
    category: str
    image_url: str
    price_minor: int
    currency: str
    # Price in currency units (12.5 for 12.50), what range filters and sorting use.
    price: float
    inventory: int
    created_at: datetime
    version: int
    # The catalog's copy of the rating, used only until a review event brings a versioned one.
    rating_average: float = 0.0
    rating_count: int = 0


@dataclass(frozen=True, slots=True)
class RatingFacts:
    product_id: str
    average: float
    count: int
    version: int


def empty_document(product_id: str) -> Source:
    return {
        "id": product_id,
        "listed": False,
        "deleted": False,
        "product_version": 0,
        "stock_version": 0,
        "rating_version": 0,
        "rating_average": 0.0,
        "rating_count": 0,
        "inventory": 0,
        "in_stock": False,
        "suggest": [],
    }


def product_seen(facts: ProductFacts) -> Change:
    """ProductCreated / ProductUpdated / a reindex snapshot: the whole product at a version."""

    def apply(current: Source | None) -> Source | None:
        doc = dict(current) if current else empty_document(facts.id)
        if doc["deleted"]:
            return None
        changed = False
        if doc["product_version"] < facts.version:
            doc.update(
                name=facts.name,
                description=facts.description,
                category=facts.category,
                image_url=facts.image_url,
                price=facts.price,
                price_minor=facts.price_minor,
                currency=facts.currency,
                created_at=facts.created_at.isoformat(),
                product_version=facts.version,
                listed=True,
                suggest=suggest_inputs(facts.name),
            )
            if doc["rating_version"] == 0:
                doc.update(rating_average=facts.rating_average, rating_count=facts.rating_count)
            changed = True
        if doc["stock_version"] < facts.version:
            _set_stock(doc, facts.inventory, facts.version)
            changed = True
        return doc if changed else None

    return apply


def stock_seen(product_id: str, inventory: int, version: int) -> Change:
    def apply(current: Source | None) -> Source | None:
        doc = dict(current) if current else empty_document(product_id)
        if doc["deleted"] or doc["stock_version"] >= version:
            return None
        _set_stock(doc, inventory, version)
        return doc

    return apply


def product_gone(product_id: str, version: int) -> Change:
    def apply(current: Source | None) -> Source | None:
        doc = dict(current) if current else empty_document(product_id)
        if doc["deleted"]:
            return None
        doc.update(
            deleted=True,
            listed=False,
            suggest=[],
            product_version=max(version, doc["product_version"]),
        )
        return doc

    return apply


def rating_seen(facts: RatingFacts) -> Change:
    def apply(current: Source | None) -> Source | None:
        doc = dict(current) if current else empty_document(facts.product_id)
        if doc["rating_version"] >= facts.version:
            return None
        doc.update(
            rating_average=facts.average,
            rating_count=facts.count,
            rating_version=facts.version,
        )
        return doc

    return apply


def suggest_inputs(name: str) -> list[str]:
    """The name and every tail of it, so "mug" completes "Blue Ceramic Mug" too."""
    words = name.split()
    return list(dict.fromkeys(" ".join(words[i:]) for i in range(len(words))))[:10]


def _set_stock(doc: Source, inventory: int, version: int) -> None:
    doc.update(inventory=inventory, in_stock=inventory > 0, stock_version=version)
