"""Between cart domain objects and protobuf messages; money as integer minor units."""

from __future__ import annotations

from typing import Final

from shop.cart.v1 import cart_pb2
from shop.common.v1 import common_pb2

from mesh.clock import to_timestamp
from mesh.money import from_minor_units, to_minor_units

from ..domain.model import Availability, Money, PricedCart, PricedLine

_AVAILABILITY: Final = {
    Availability.IN_STOCK: cart_pb2.ITEM_AVAILABILITY_IN_STOCK,
    Availability.INSUFFICIENT_STOCK: cart_pb2.ITEM_AVAILABILITY_INSUFFICIENT_STOCK,
    Availability.OUT_OF_STOCK: cart_pb2.ITEM_AVAILABILITY_OUT_OF_STOCK,
    Availability.PRODUCT_GONE: cart_pb2.ITEM_AVAILABILITY_PRODUCT_GONE,
}


def money_from_proto(money: common_pb2.Money) -> Money:
    """A catalog price; the catalog stores whole minor units by the same `mesh.money` table."""
    currency, minor = to_minor_units(money, "product.price")
    return Money(minor, currency)


def money_to_proto(money: Money) -> common_pb2.Money:
    return from_minor_units(money.currency, money.minor)


def cart_to_proto(cart: PricedCart) -> cart_pb2.Cart:
    message = cart_pb2.Cart(
        user_id=cart.user_id,
        items=[_line_to_proto(line) for line in cart.lines],
        total=money_to_proto(cart.total),
        item_count=cart.item_count,
    )
    if cart.updated_at is not None:
        message.update_time.CopyFrom(to_timestamp(cart.updated_at))
    if cart.expires_at is not None:
        message.expire_time.CopyFrom(to_timestamp(cart.expires_at))
    return message


def _line_to_proto(line: PricedLine) -> cart_pb2.CartItem:
    return cart_pb2.CartItem(
        product_id=line.product_id,
        name=line.name,
        quantity=line.quantity,
        unit_price=money_to_proto(line.unit_price),
        line_total=money_to_proto(line.line_total),
        availability=_AVAILABILITY[line.availability],
        available_quantity=line.available_quantity,
        image_url=line.image_url,
    )
