"""Cart rules: line limits, and pricing a cart at the catalog's current state."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from mesh.errors import FailedPreconditionError, PreconditionViolation

MAX_QUANTITY: Final = 99
MAX_LINES: Final = 50


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


def availability(product: ProductInfo | None, quantity: int) -> Availability:
    if product is None:
        return Availability.PRODUCT_GONE
    if product.inventory <= 0:
        return Availability.OUT_OF_STOCK
    if product.inventory < quantity:
        return Availability.INSUFFICIENT_STOCK
    return Availability.IN_STOCK


def price_cart(
    cart: StoredCart, products: Mapping[str, ProductInfo], default_currency: str
) -> PricedCart:
    """Lines at current catalog prices; the total counts only the lines that can be bought."""
    lines = tuple(_price_line(line, products.get(line.product_id)) for line in cart.lines)
    buyable = [line for line in lines if line.availability is Availability.IN_STOCK]
    currency = buyable[0].unit_price.currency if buyable else default_currency
    total = sum(
        (line.line_total.minor for line in buyable if line.line_total.currency == currency), 0
    )
    return PricedCart(
        user_id=cart.user_id,
        lines=lines,
        total=Money(total, currency),
        item_count=sum(line.quantity for line in cart.lines),
        updated_at=cart.updated_at,
        expires_at=cart.expires_at,
    )


def _price_line(line: CartLine, product: ProductInfo | None) -> PricedLine:
    unit_price = product.unit_price if product else line.unit_price
    return PricedLine(
        product_id=line.product_id,
        name=product.name if product else line.name,
        quantity=line.quantity,
        unit_price=unit_price,
        line_total=unit_price.times(line.quantity),
        availability=availability(product, line.quantity),
        available_quantity=product.inventory if product else 0,
        image_url=product.image_url if product else "",
    )


def check_can_add(product: ProductInfo | None, product_id: str, quantity: int) -> ProductInfo:
    """The product, when it exists and has at least `quantity` units in stock."""
    if product is None:
        raise FailedPreconditionError(
            f"product {product_id} does not exist",
            reason="PRODUCT_NOT_FOUND",
            violations=[_violation("PRODUCT", product_id, "product does not exist")],
        )
    if product.inventory < quantity:
        raise insufficient_stock(product_id, product.inventory)
    return product


def insufficient_stock(product_id: str, available: int) -> FailedPreconditionError:
    return FailedPreconditionError(
        f"product {product_id} has only {available} units in stock",
        reason="INSUFFICIENT_STOCK",
        violations=[_violation("STOCK", product_id, f"{available} units in stock")],
    )


def line_limit_exceeded(product_id: str, current: int) -> FailedPreconditionError:
    return FailedPreconditionError(
        f"a cart line holds at most {MAX_QUANTITY} units; the line has {current}",
        reason="LINE_QUANTITY_LIMIT",
        violations=[_violation("QUANTITY", product_id, f"at most {MAX_QUANTITY} units per line")],
    )


def cart_full(product_id: str) -> FailedPreconditionError:
    return FailedPreconditionError(
        f"a cart holds at most {MAX_LINES} lines",
        reason="CART_LINE_LIMIT",
        violations=[_violation("LINES", product_id, f"at most {MAX_LINES} lines per cart")],
    )


def _violation(kind: str, product_id: str, description: str) -> PreconditionViolation:
    return PreconditionViolation(kind, f"products/{product_id}", description)


def unique_ids(lines: Sequence[CartLine]) -> list[str]:
    return list(dict.fromkeys(line.product_id for line in lines))
