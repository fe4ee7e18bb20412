"""Pricing a cart at the catalog's current state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mesh.money import MAX_MINOR_UNITS

from .limits import amount_too_large
from .model import Availability, CartLine, Money, PricedCart, PricedLine, ProductInfo, StoredCart


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
    # A price raised after the units were added can take a line or the sum past what an
    # amount holds; the quantity is what the shopper can lower.
    for line in lines:
        if line.line_total.minor > MAX_MINOR_UNITS:
            raise amount_too_large(line.product_id)
    if total > MAX_MINOR_UNITS:
        raise amount_too_large(max(buyable, key=lambda line: line.line_total.minor).product_id)
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


def unique_ids(lines: Sequence[CartLine]) -> list[str]:
    return list(dict.fromkeys(line.product_id for line in lines))
