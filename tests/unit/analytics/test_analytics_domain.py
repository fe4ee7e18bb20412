"""Date ranges, report arithmetic, facts from events and the business metrics."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from prometheus_client import CollectorRegistry
from shop.common.v1 import common_pb2
from shop.events.v1 import events_pb2
from shop.order.v1 import order_pb2
from shop.payment.v1 import payment_pb2

from mesh import rbac
from mesh.auth import Identity
from mesh.errors import InvalidArgumentError, PermissionDeniedError
from mesh.events import InMemoryProcessedEvents, new_event
from services.analytics.adapters.events import AnalyticsEvents, fact_of
from services.analytics.adapters.metrics import BusinessMetrics
from services.analytics.domain.facts import (
    CartAdd,
    Fact,
    Line,
    OrderPaid,
    PaymentRefunded,
    PaymentSettled,
)
from services.analytics.domain.reports import (
    DateRange,
    Funnel,
    ProductSales,
    TopMetric,
    average,
    sales_summary,
)
from services.analytics.service_layer.analytics import Analytics
from services.analytics.service_layer.ports import AnalyticsStore

TODAY = date(2026, 11, 27)


def usd(minor: int) -> common_pb2.Money:
    return common_pb2.Money(currency_code="USD", units=minor // 100, nanos=minor % 100 * 10**7)


def test_default_range_is_the_last_30_days_up_to_today() -> None:
    period = DateRange.parse("", "", TODAY)

    assert (period.start, period.end) == (date(2026, 10, 29), TODAY)
    assert len(period.days()) == 30
    assert period.until == datetime.fromisoformat("2026-11-28T00:00:00+00:00")


def test_bad_ranges_name_the_field() -> None:
    with pytest.raises(InvalidArgumentError) as reversed_range:
        DateRange.parse("2026-11-20", "2026-11-01", TODAY)
    assert reversed_range.value.violations[0].field == "start_date"
    with pytest.raises(InvalidArgumentError) as bad_day:
        DateRange.parse("", "2026-02-30", TODAY)
    assert bad_day.value.violations[0].field == "end_date"
    with pytest.raises(InvalidArgumentError):
        DateRange.parse("2020-01-01", "2026-01-01", TODAY)


def test_summary_has_every_day_and_rounded_averages() -> None:
    period = DateRange.parse("2026-11-25", "2026-11-27", TODAY)

    summary = sales_summary(period, "USD", {date(2026, 11, 26): (3, 1_000)})

    assert [(d.day.day, d.order_count, d.revenue) for d in summary.days] == [
        (25, 0, 0),
        (26, 3, 1_000),
        (27, 0, 0),
    ]
    assert summary.days[1].average_order_value == 333
    assert (summary.order_count, summary.revenue, summary.average_order_value) == (3, 1_000, 333)
    assert average(1_001, 2) == 501 and average(0, 0) == 0


def test_funnel_rates() -> None:
    period = DateRange.parse("", "", TODAY)

    assert Funnel(period, 10, 4, 3).cart_to_checkout_rate == 0.4
    assert Funnel(period, 10, 4, 3).checkout_to_paid_rate == 0.75
    assert Funnel(period, 0, 0, 0).checkout_to_paid_rate == 0.0


def paid_event(order_id: str = "o-1") -> events_pb2.Event:
    order = order_pb2.Order(
        id=order_id,
        user_id="u-1",
        items=[
            order_pb2.OrderItem(product_id="p-1", name="Mug", quantity=2, line_total=usd(2_500))
        ],
        total=usd(2_999),
    )
    return new_event(
        events_pb2.OrderPaid(order=order),
        aggregate_type="order",
        aggregate_id=order_id,
        aggregate_version=3,
        producer="order",
    )


def test_facts_carry_amounts_in_minor_units() -> None:
    fact = fact_of(paid_event())

    assert isinstance(fact, OrderPaid)
    assert (fact.order.currency, fact.order.total) == ("USD", 2_999)
    assert fact.order.lines == (Line("p-1", "Mug", 2, 2_500),)
    refunded = new_event(
        events_pb2.PaymentRefunded(
            payment=payment_pb2.Payment(id="pay-1", order_id="o-1", refunded_amount=usd(1_500)),
            refund=payment_pb2.PaymentRefund(id="r-2", amount=usd(500)),
        ),
        aggregate_type="payment",
        aggregate_id="pay-1",
        aggregate_version=4,
        producer="payment",
    )
    assert fact_of(refunded) == PaymentRefunded("pay-1", "o-1", "USD", 500, 1_500)
    user = new_event(
        events_pb2.UserRegistered(user_id="u-1"),
        aggregate_type="user",
        aggregate_id="u-1",
        aggregate_version=1,
        producer="user",
    )
    assert fact_of(user) is None


class RecordingStore(AnalyticsStore):
    def __init__(self) -> None:
        self.facts: list[tuple[Fact, str, datetime]] = []

    async def apply(self, fact: Fact, event_id: str, occurred_at: datetime) -> None:
        self.facts.append((fact, event_id, occurred_at))

    async def sales_by_day(self, period: DateRange, currency: str) -> dict[date, tuple[int, int]]:
        return {}

    async def top_products(
        self, period: DateRange, currency: str, metric: TopMetric, limit: int
    ) -> list[ProductSales]:
        return []

    async def funnel_counts(self, period: DateRange) -> tuple[int, int, int]:
        return 0, 0, 0


def recording_handler() -> tuple[AnalyticsEvents, RecordingStore, CollectorRegistry]:
    registry, store = CollectorRegistry(), RecordingStore()
    analytics = Analytics(
        store, InMemoryProcessedEvents(), BusinessMetrics(registry), lambda: TODAY
    )
    return AnalyticsEvents(analytics), store, registry


async def test_a_duplicate_event_is_recorded_and_counted_once() -> None:
    handler, store, registry = recording_handler()
    event = paid_event()

    await handler.handle(event)
    await handler.handle(event)

    assert len(store.facts) == 1
    assert store.facts[0][2].tzinfo is not None
    assert registry.get_sample_value("shop_orders_total", {"status": "paid"}) == 1
    assert registry.get_sample_value("shop_revenue_minor_units_total", {"currency": "USD"}) == 2_999


def test_metrics_by_fact() -> None:
    registry = CollectorRegistry()
    metrics = BusinessMetrics(registry)

    metrics.observe(PaymentSettled("pay-1", "o-1", "failed", "USD", 100))
    metrics.observe(PaymentSettled("pay-2", "o-2", "succeeded", "USD", 100))
    metrics.observe(CartAdd("u-1", "p-1", 3))

    assert registry.get_sample_value("shop_payments_total", {"outcome": "failed"}) == 1
    assert registry.get_sample_value("shop_payments_total", {"outcome": "succeeded"}) == 1
    assert registry.get_sample_value("shop_cart_adds_total") == 3


def caller(role: str) -> Identity:
    return Identity.from_claims(f"{role}-1", frozenset({role}), "token")


async def test_reports_are_for_staff_only() -> None:
    analytics = Analytics(
        RecordingStore(),
        InMemoryProcessedEvents(),
        BusinessMetrics(CollectorRegistry()),
        lambda: TODAY,
    )
    for outsider in (caller(rbac.CUSTOMER), caller(rbac.INVENTORY_MANAGER)):
        with pytest.raises(PermissionDeniedError) as denied:
            await analytics.sales_summary(outsider, "", "", "")
        assert denied.value.metadata == {"permission": rbac.ORDERS_READ}
        with pytest.raises(PermissionDeniedError):
            await analytics.top_products(outsider, "", "", "", TopMetric.REVENUE, 0)
        with pytest.raises(PermissionDeniedError):
            await analytics.funnel(outsider, "", "")
    for staff in (caller(rbac.ADMIN), caller(rbac.CUSTOMER_SERVICE)):
        assert (await analytics.sales_summary(staff, "", "", "")).order_count == 0
        assert (await analytics.funnel(staff, "", "")).orders_paid == 0


async def test_a_batch_is_recorded_once_per_event_and_counted_after_its_commit() -> None:
    handler, store, registry = recording_handler()
    event = paid_event()

    await handler.handle(event)
    await handler.handle_batch([event, event])  # a redelivered batch holding it twice

    assert len(store.facts) == 1
    assert registry.get_sample_value("shop_orders_total", {"status": "paid"}) == 1
