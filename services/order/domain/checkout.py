"""Turning a cart into order lines, with the catalog's prices as the only source of truth."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mesh.errors import FailedPreconditionError, PreconditionViolation

from .model import OrderLine


@dataclass(frozen=True, slots=True)
class CartItem:
    product_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class ProductOffer:
    """What the catalog says about a product right now."""

    product_id: str
    name: str
    unit_price: int
    currency: str
    inventory: int


def order_lines(
    user_id: str,
    items: Sequence[CartItem],
    offers: Mapping[str, ProductOffer],
    currency: str,
) -> tuple[OrderLine, ...]:
    """Price each cart item at the catalog price; refuse the checkout with every problem at once.

    The inventory check here is only an early, friendly answer: the catalog's reservation is
    what actually guards stock under concurrency.
    """
    if not items:
        raise FailedPreconditionError(
            "the cart is empty",
            reason="CART_EMPTY",
            violations=[PreconditionViolation("CART", f"carts/{user_id}", "the cart is empty")],
        )
    quantities: dict[str, int] = {}
    for item in items:
        quantities[item.product_id] = quantities.get(item.product_id, 0) + item.quantity

    violations: list[PreconditionViolation] = []
    lines: list[OrderLine] = []
    for product_id, quantity in quantities.items():
        subject = f"products/{product_id}"
        offer = offers.get(product_id)
        if offer is None:
            violations.append(
                PreconditionViolation("PRODUCT", subject, "the product is no longer available")
            )
        elif offer.currency != currency:
            violations.append(
                PreconditionViolation(
                    "CURRENCY", subject, f"priced in {offer.currency}, the shop sells in {currency}"
                )
            )
        elif offer.inventory < quantity:
            violations.append(
                PreconditionViolation(
                    "STOCK", subject, f"only {offer.inventory} in stock, {quantity} requested"
                )
            )
        else:
            lines.append(OrderLine(product_id, offer.name, quantity, offer.unit_price))
    if violations:
        raise FailedPreconditionError(
            "the cart cannot be checked out", reason="CART_NOT_ORDERABLE", violations=violations
        )
    return tuple(lines)
