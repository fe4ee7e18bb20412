"""The cart's values: lines as stored, products as the catalog sees them, carts as priced."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Money:
    """`minor` units (cents for USD) of `currency`."""

    minor: int
    currency: str

    def times(self, quantity: int) -> Money:
        return Money(self.minor * quantity, self.currency)


@dataclass(frozen=True, slots=True)
class ProductInfo:
    """What the cart needs to know about a product, from the catalog."""

    id: str
    name: str
    unit_price: Money
    inventory: int
    image_url: str


@dataclass(frozen=True, slots=True)
class CartLine:
    product_id: str
    quantity: int
    # The catalog's name and price when the line was last added to, kept for gone products.
    name: str
    unit_price: Money


@dataclass(frozen=True, slots=True)
class StoredCart:
    user_id: str
    lines: tuple[CartLine, ...]  # in the order they were first added
    updated_at: datetime | None
    expires_at: datetime | None

    def line(self, product_id: str) -> CartLine | None:
        return next((line for line in self.lines if line.product_id == product_id), None)


class Availability(enum.Enum):
    IN_STOCK = "in_stock"
    INSUFFICIENT_STOCK = "insufficient_stock"
    OUT_OF_STOCK = "out_of_stock"
    PRODUCT_GONE = "product_gone"


@dataclass(frozen=True, slots=True)
class PricedLine:
    product_id: str
    name: str
    quantity: int
    unit_price: Money
    line_total: Money
    availability: Availability
    available_quantity: int
    image_url: str


@dataclass(frozen=True, slots=True)
class PricedCart:
    user_id: str
    lines: tuple[PricedLine, ...]
    total: Money
    item_count: int
    updated_at: datetime | None
    expires_at: datetime | None


class CartEventKind(enum.Enum):
    ITEM_ADDED = "item_added"
    ITEM_REMOVED = "item_removed"


@dataclass(frozen=True, slots=True)
class CartEvent:
    """Units of a product entered or left a cart.

    How many units, and the cart's version, are known only to the store's atomic write,
    which records them with the event.
    """

    kind: CartEventKind
    user_id: str
    product_id: str
    unit_price: Money

    @classmethod
    def item_added(cls, user_id: str, product_id: str, unit_price: Money) -> CartEvent:
        return cls(CartEventKind.ITEM_ADDED, user_id, product_id, unit_price)

    @classmethod
    def item_removed(cls, user_id: str, product_id: str, unit_price: Money) -> CartEvent:
        return cls(CartEventKind.ITEM_REMOVED, user_id, product_id, unit_price)
