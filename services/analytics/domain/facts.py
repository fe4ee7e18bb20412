"""What an event tells analytics, in plain values (amounts in minor units)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shop.common.v1 import common_pb2
from shop.events.v1 import events_pb2
from shop.order.v1 import order_pb2

from mesh.money import to_minor_units


@dataclass(frozen=True, slots=True)
class Line:
    product_id: str
    name: str
    quantity: int
    line_total: int


@dataclass(frozen=True, slots=True)
class OrderRecord:
    order_id: str
    user_id: str
    currency: str
    total: int
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class CheckoutStarted:
    order: OrderRecord


@dataclass(frozen=True, slots=True)
class OrderPaid:
    order: OrderRecord


@dataclass(frozen=True, slots=True)
class OrderPaymentFailed:
    order: OrderRecord


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    order: OrderRecord


@dataclass(frozen=True, slots=True)
class CartAdd:
    user_id: str
    product_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class PaymentSettled:
    payment_id: str
    order_id: str
    outcome: Literal["succeeded", "failed"]
    currency: str
    amount: int


@dataclass(frozen=True, slots=True)
class PaymentRefunded:
    payment_id: str
    order_id: str
    currency: str
    refund: int
    # Everything refunded on the payment so far: applying it is idempotent by nature.
    refunded_total: int


@dataclass(frozen=True, slots=True)
class ProductChanged:
    product_id: str
    name: str
    category: str
    version: int
    deleted: bool = False


Fact = (
    CheckoutStarted
    | OrderPaid
    | OrderPaymentFailed
    | OrderCancelled
    | CartAdd
    | PaymentSettled
    | PaymentRefunded
    | ProductChanged
)


def fact_of(event: events_pb2.Event) -> Fact | None:
    """None for events analytics does not count (users, reviews, stock levels)."""
    kind = event.WhichOneof("payload")
    if kind == "order_placed":
        return CheckoutStarted(order_record(event.order_placed.order))
    if kind == "order_paid":
        return OrderPaid(order_record(event.order_paid.order))
    if kind == "order_payment_failed":
        return OrderPaymentFailed(order_record(event.order_payment_failed.order))
    if kind == "order_cancelled":
        return OrderCancelled(order_record(event.order_cancelled.order))
    if kind == "cart_item_added":
        added = event.cart_item_added
        return CartAdd(added.user_id, added.product_id, added.quantity)
    if kind in ("payment_succeeded", "payment_failed"):
        payment = getattr(event, kind).payment
        amount = _minor(payment.amount)
        outcome: Literal["succeeded", "failed"] = (
            "succeeded" if kind == "payment_succeeded" else "failed"
        )
        return PaymentSettled(payment.id, payment.order_id, outcome, amount[0], amount[1])
    if kind == "payment_refunded":
        refunded = event.payment_refunded
        currency, refund = _minor(refunded.refund.amount)
        _, total = _minor(refunded.payment.refunded_amount)
        return PaymentRefunded(
            refunded.payment.id, refunded.payment.order_id, currency, refund, total
        )
    if kind in ("product_created", "product_updated"):
        product = getattr(event, kind).product
        return ProductChanged(product.id, product.name, product.category, event.aggregate_version)
    if kind == "product_deleted":
        deleted = event.product_deleted
        return ProductChanged(deleted.product_id, "", "", deleted.version, deleted=True)
    return None


def order_record(order: order_pb2.Order) -> OrderRecord:
    currency, total = _minor(order.total)
    return OrderRecord(
        order_id=order.id,
        user_id=order.user_id,
        currency=currency,
        total=total,
        lines=tuple(
            Line(item.product_id, item.name, item.quantity, _minor(item.line_total)[1])
            for item in order.items
        ),
    )


def _minor(money: common_pb2.Money) -> tuple[str, int]:
    if not money.currency_code:
        return "", 0
    converted = to_minor_units(money, "amount")
    return converted.currency, converted.amount
