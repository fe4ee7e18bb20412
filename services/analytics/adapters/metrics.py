"""The business figures as Prometheus counters, counted once per event that took effect."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from ..domain.facts import (
    CartAdd,
    CheckoutStarted,
    Fact,
    OrderCancelled,
    OrderPaid,
    OrderPaymentFailed,
    PaymentRefunded,
    PaymentSettled,
)
from ..service_layer.ports import FactMetrics


class BusinessMetrics(FactMetrics):
    """Counters since this process started (Prometheus handles restarts); names as the
    business dashboard expects. Revenue only grows: refunds are a counter of their own."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.orders = Counter(
            "shop_orders", "Orders by what happened to them.", ("status",), registry=registry
        )
        self.revenue = Counter(
            "shop_revenue_minor_units",
            "Paid order totals, in minor units of the currency.",
            ("currency",),
            registry=registry,
        )
        self.refunds = Counter(
            "shop_refunds_minor_units",
            "Refunded amounts, in minor units of the currency.",
            ("currency",),
            registry=registry,
        )
        self.payments = Counter(
            "shop_payments", "Charges by outcome, and refunds.", ("outcome",), registry=registry
        )
        self.cart_adds = Counter("shop_cart_adds", "Units added to carts.", registry=registry)

    def observe(self, fact: Fact) -> None:
        match fact:
            case CheckoutStarted():
                self.orders.labels("placed").inc()
            case OrderPaid(order=order):
                self.orders.labels("paid").inc()
                self.revenue.labels(order.currency).inc(order.total)
            case OrderPaymentFailed():
                self.orders.labels("payment_failed").inc()
            case OrderCancelled():
                self.orders.labels("cancelled").inc()
            case PaymentSettled(outcome=outcome):
                self.payments.labels(outcome).inc()
            case PaymentRefunded(currency=currency, refund=refund):
                self.payments.labels("refunded").inc()
                self.refunds.labels(currency).inc(refund)
            case CartAdd(quantity=quantity):
                self.cart_adds.inc(quantity)
            case _:
                pass
