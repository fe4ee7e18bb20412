"""Order, payment, cart and product events in: each becomes one fact, or none."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from shop.common.v1 import common_pb2
from shop.events.v1 import events_pb2
from shop.order.v1 import order_pb2

from mesh.clock import from_timestamp
from mesh.money import to_minor_units

from ..domain.facts import (
    CartAdd,
    CheckoutStarted,
    Fact,
    Line,
    OrderCancelled,
    OrderPaid,
    OrderPaymentFailed,
    OrderRecord,
    PaymentRefunded,
    PaymentSettled,
    ProductChanged,
)
from ..service_layer.analytics import Analytics


class AnalyticsEvents:
    """The event consumer's handler: event -> fact -> recorded once.

    `Analytics.record` marks each event itself (it must see the outcome to count metrics
    after the commit), so the consumer runs it with `mesh.events.HandlerDedupes`. A batch of
    one partition's events is recorded in one transaction (`handle_batch`); if it fails, the
    consumer records them one by one, and the marks make the repeats harmless.
    """

    def __init__(self, analytics: Analytics) -> None:
        self._analytics = analytics

    async def __call__(self, event: events_pb2.Event) -> None:
        await self.handle(event)

    async def handle(self, event: events_pb2.Event) -> None:
        fact = fact_of(event)
        if fact is not None:
            await self._analytics.record(fact, event.event_id, from_timestamp(event.occurred_at))

    async def handle_batch(self, events: Sequence[events_pb2.Event]) -> None:
        facts = [
            (fact, event.event_id, from_timestamp(event.occurred_at))
            for event in events
            if (fact := fact_of(event)) is not None
        ]
        if facts:
            await self._analytics.record_many(facts)


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
