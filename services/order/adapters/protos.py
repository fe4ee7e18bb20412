"""Domain objects <-> protobuf messages of the order contract and its events."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Final

from google.protobuf import message
from shop.common.v1 import common_pb2
from shop.events.v1 import events_pb2
from shop.order.v1 import order_pb2

from mesh.clock import to_timestamp
from mesh.money import from_minor_units

from ..domain.model import Address, Order, OrderEvent, OrderEventType, OrderStatus

_STATUS_TO_PROTO: Final[Mapping[OrderStatus, order_pb2.OrderStatus.ValueType]] = {
    OrderStatus.PENDING: order_pb2.ORDER_STATUS_PENDING,
    OrderStatus.PAID: order_pb2.ORDER_STATUS_PAID,
    OrderStatus.PAYMENT_FAILED: order_pb2.ORDER_STATUS_PAYMENT_FAILED,
    OrderStatus.CANCELLED: order_pb2.ORDER_STATUS_CANCELLED,
}
_STATUS_FROM_PROTO: Final = {proto: status for status, proto in _STATUS_TO_PROTO.items()}


def status_from_proto(status: order_pb2.OrderStatus.ValueType) -> OrderStatus | None:
    """None for ORDER_STATUS_UNSPECIFIED (no filter)."""
    return _STATUS_FROM_PROTO.get(status)


def address_from_proto(address: common_pb2.Address) -> Address:
    return Address(
        name=address.name,
        line1=address.line1,
        line2=address.line2,
        city=address.city,
        region=address.region,
        postal_code=address.postal_code,
        country_code=address.country_code,
    )


def address_to_proto(address: Address) -> common_pb2.Address:
    # The domain's Address has exactly the proto's fields.
    return common_pb2.Address(**dataclasses.asdict(address))


def order_to_proto(order: Order) -> order_pb2.Order:
    currency = order.currency
    return order_pb2.Order(
        id=order.id,
        user_id=order.user_id,
        status=_STATUS_TO_PROTO[order.status],
        items=[
            order_pb2.OrderItem(
                product_id=line.product_id,
                name=line.name,
                quantity=line.quantity,
                unit_price=from_minor_units(currency, line.unit_price),
                line_total=from_minor_units(currency, line.line_total),
            )
            for line in order.lines
        ],
        subtotal=from_minor_units(currency, order.totals.subtotal),
        tax=from_minor_units(currency, order.totals.tax),
        shipping=from_minor_units(currency, order.totals.shipping),
        total=from_minor_units(currency, order.totals.total),
        shipping_address=address_to_proto(order.shipping_address),
        payment_id=order.payment_id,
        failure_reason=order.status_reason,
        create_time=to_timestamp(order.created_at),
        update_time=to_timestamp(order.updated_at),
    )


def event_payload(event: OrderEvent) -> message.Message:
    """The typed payload of the `shop.events.v1.Event` envelope for a domain event."""
    order = order_to_proto(event.order)
    if event.type is OrderEventType.PLACED:
        return events_pb2.OrderPlaced(order=order)
    if event.type is OrderEventType.PAID:
        return events_pb2.OrderPaid(order=order)
    if event.type is OrderEventType.PAYMENT_FAILED:
        return events_pb2.OrderPaymentFailed(order=order)
    return events_pb2.OrderCancelled(
        order=order, reason=event.reason, refunded=bool(event.order.payment_id)
    )
