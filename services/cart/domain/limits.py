"""What a cart may hold: units per line, lines per cart, no more than the stock.

The store's atomic write checks the same limits against the state it changes (two devices
adding at once); these functions name the errors both places raise.
"""

from __future__ import annotations

from typing import Final

from mesh.errors import (
    FailedPreconditionError,
    FieldViolation,
    InvalidArgumentError,
    PreconditionViolation,
)
from mesh.money import MAX_MINOR_UNITS

from .model import ProductInfo

MAX_QUANTITY: Final = 99
MAX_LINES: Final = 50


def check_can_add(product: ProductInfo | None, product_id: str, quantity: int) -> ProductInfo:
    """The product, when it exists and has at least `quantity` units in stock."""
    if product is None:
        raise FailedPreconditionError(
            f"product {product_id} does not exist",
            reason="PRODUCT_NOT_FOUND",
            violations=[_violation("PRODUCT", product_id, "product does not exist")],
        )
    if product.unit_price.times(quantity).minor > MAX_MINOR_UNITS:
        raise amount_too_large(product_id)
    if product.inventory < quantity:
        raise insufficient_stock(product_id, product.inventory)
    return product


def amount_too_large(product_id: str) -> InvalidArgumentError:
    """The units asked for, at the product's price, would cost more than an amount can hold
    (stores keep amounts as 64-bit integers): refused rather than stored or wrapped."""
    return InvalidArgumentError(
        "the cart would cost more than the largest amount",
        violations=[
            FieldViolation(
                "quantity",
                f"{product_id}: units times the unit price (with the rest of the cart) exceed"
                f" {MAX_MINOR_UNITS} minor units",
            )
        ],
    )


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
