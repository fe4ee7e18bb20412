"""What a cart may hold: units per line, lines per cart, no more than the stock.

The store's atomic write checks the same limits against the state it changes (two devices
adding at once); these functions name the errors both places raise.
"""

from __future__ import annotations

from typing import Final

from mesh.errors import FailedPreconditionError, PreconditionViolation

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
