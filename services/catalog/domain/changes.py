"""Product changes: the unit of the catalog's change ledger and of its events.

Every change of a product is one record, keyed by the product id and its new version. The
record holds the product after the change and is the event to publish, so committing the
change and recording its event are the same single write.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from services.catalog.domain.model import Product


class ChangeKind(enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    STOCK_ADJUSTED = "stock_adjusted"
    STOCK_RESERVED = "stock_reserved"
    STOCK_RELEASED = "stock_released"
    # Marks an order's line as never to be reserved (its reservation was released first).
    # Changes no product, so it has no version and publishes nothing.
    RESERVATION_VOIDED = "reservation_voided"


@dataclass(frozen=True, slots=True)
class ProductChange:
    product_id: str
    version: int
    kind: ChangeKind
    # The product after the change; None after a deletion and for voided reservations.
    product: Product | None
    # Makes an operation happen at most once: a second change with the same key is refused.
    op_key: str
    event_id: str
    occurred_at: datetime
    order_id: str = ""
    quantity: int = 0
    update_mask: tuple[str, ...] = ()

    @property
    def publishes_event(self) -> bool:
        return self.kind is not ChangeKind.RESERVATION_VOIDED

    @property
    def inventory_delta(self) -> int:
        if self.kind is ChangeKind.STOCK_RESERVED:
            return -self.quantity
        if self.kind in (ChangeKind.STOCK_RELEASED, ChangeKind.STOCK_ADJUSTED):
            return self.quantity
        return 0


def reserve_key(order_id: str, product_id: str) -> str:
    return f"reserve:{order_id}:{product_id}"


def release_key(order_id: str, product_id: str) -> str:
    return f"release:{order_id}:{product_id}"


def version_key(product_id: str, version: int) -> str:
    """The op key of a change that is not idempotent by itself (create, update, delete)."""
    return f"version:{product_id}:{version}"
