"""The analytics service end to end: a scripted set of order, payment and cart events on the
real Kafka (with duplicates), figures read over gRPC with a staff token."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from shop.analytics.v1 import analytics_pb2, analytics_pb2_grpc
from shop.common.v1 import common_pb2
from shop.events.v1 import events_pb2
from shop.order.v1 import order_pb2
from shop.payment.v1 import payment_pb2
from shop.user.v1 import user_pb2, user_pb2_grpc

from mesh.events import Event, new_event
from services.analytics.main import TOPICS

from ..notification.event_bus import publisher, wait_until_consumed
from ..user.harness import ADMIN_EMAIL, ADMIN_PASSWORD, Running
from .conftest import RunningAnalytics

pytestmark = pytest.mark.integration

Metadata = tuple[tuple[str, str], ...]
NOW = datetime.now(UTC).replace(microsecond=0)
TODAY, YESTERDAY = NOW, NOW - timedelta(days=1)


def usd(minor: int) -> common_pb2.Money:
    return common_pb2.Money(currency_code="USD", units=minor // 100, nanos=minor % 100 * 10**7)


def minor(money: common_pb2.Money) -> int:
    return money.units * 100 + money.nanos // 10**7


@dataclass(frozen=True)
class Item:
    product_id: str
    name: str
    quantity: int
    unit_minor: int


def order(items: list[Item], shipping: int = 0) -> order_pb2.Order:
    lines = [
        order_pb2.OrderItem(
            product_id=i.product_id,
            name=i.name,
            quantity=i.quantity,
            unit_price=usd(i.unit_minor),
            line_total=usd(i.quantity * i.unit_minor),
        )
        for i in items
    ]
    subtotal = sum(i.quantity * i.unit_minor for i in items)
    return order_pb2.Order(
        id=f"ord-{secrets.token_hex(6)}",
        user_id="u-analytics",
        items=lines,
        subtotal=usd(subtotal),
        shipping=usd(shipping),
        total=usd(subtotal + shipping),
    )


def event(payload: object, aggregate: str, aggregate_id: str, version: int, at: datetime) -> Event:
    return new_event(
        payload,  # type: ignore[arg-type]
        aggregate_type=aggregate,
        aggregate_id=aggregate_id,
        aggregate_version=version,
        producer="test",
        occurred_at=at,
    )


def placed(o: order_pb2.Order, at: datetime) -> Event:
    return event(events_pb2.OrderPlaced(order=o), "order", o.id, 1, at)


def paid(o: order_pb2.Order, at: datetime) -> Event:
    return event(events_pb2.OrderPaid(order=o), "order", o.id, 3, at)


def payment(o: order_pb2.Order, at: datetime, *, failed: bool = False) -> Event:
    settled = payment_pb2.Payment(
        id=f"pay-{o.id}", order_id=o.id, user_id=o.user_id, amount=o.total
    )
    if failed:
        return event(events_pb2.PaymentFailed(payment=settled), "payment", settled.id, 1, at)
    return event(events_pb2.PaymentSucceeded(payment=settled), "payment", settled.id, 1, at)


MUG = Item("p-mug", "Blue mug", 2, 1_250)
TEE = Item("p-tee", "Tee", 1, 2_000)
CAP = Item("p-cap", "Cap", 3, 1_000)
LAMP = Item("p-lamp", "Lamp", 1, 10_000)


async def staff_token(user_service: Running) -> Metadata:
    users = user_pb2_grpc.UserServiceStub(user_service.channel)
    login = await users.Login(user_pb2.LoginRequest(email=ADMIN_EMAIL, password=ADMIN_PASSWORD))
    return (("authorization", f"Bearer {login.access_token}"),)


async def customer_token(user_service: Running) -> Metadata:
    users = user_pb2_grpc.UserServiceStub(user_service.channel)
    email, password = f"c-{secrets.token_hex(4)}@example.com", "correct horse 42"
    await users.Register(user_pb2.RegisterRequest(email=email, password=password, display_name="C"))
    login = await users.Login(user_pb2.LoginRequest(email=email, password=password))
    return (("authorization", f"Bearer {login.access_token}"),)


async def test_scripted_orders_give_the_ordered_figures_and_duplicates_do_not_count(
    user_service: Running, analytics_service: RunningAnalytics, kafka_bootstrap: str
) -> None:
    a = order([MUG, TEE], shipping=499)  # paid today: 49.99
    b = order([Item("p-mug", "Blue mug", 1, 1_250)], shipping=499)  # paid yesterday: 17.49
    c = order([LAMP])  # payment failed: not counted
    d = order([CAP])  # paid, then cancelled: not counted
    e = order([LAMP])  # paid today, 25.00 refunded: counts 75.00
    refund = payment_pb2.Payment(
        id=f"pay-{e.id}",
        order_id=e.id,
        user_id=e.user_id,
        amount=e.total,
        refunded_amount=usd(2_500),
    )
    refunded = event(
        events_pb2.PaymentRefunded(
            payment=refund, refund=payment_pb2.PaymentRefund(id="r-1", amount=usd(2_500))
        ),
        "payment",
        refund.id,
        2,
        TODAY,
    )
    cart_adds = [
        event(
            events_pb2.CartItemAdded(user_id="u-analytics", product_id=p, quantity=1),
            "cart",
            "u-analytics",
            n + 1,
            TODAY,
        )
        for n, p in enumerate(["p-mug", "p-tee", "p-cap", "p-lamp", "p-lamp", "p-mug"])
    ]
    a_paid = paid(a, TODAY)
    script = [
        *cart_adds,
        placed(a, TODAY), a_paid, payment(a, TODAY),
        placed(b, YESTERDAY), paid(b, YESTERDAY), payment(b, YESTERDAY),
        placed(c, TODAY), payment(c, TODAY, failed=True),
        event(events_pb2.OrderPaymentFailed(order=c), "order", c.id, 2, TODAY),
        placed(d, TODAY), paid(d, TODAY), payment(d, TODAY),
        event(events_pb2.OrderCancelled(order=d, refunded=True), "order", d.id, 4, TODAY),
        placed(e, TODAY), paid(e, TODAY), payment(e, TODAY), refunded,
        # Redeliveries: the same events (same ids) again.
        a_paid, refunded, cart_adds[0], a_paid,
    ]  # fmt: skip

    async with publisher(kafka_bootstrap) as events:
        for record in script:
            await events.publish(record)
    await wait_until_consumed(kafka_bootstrap, analytics_service.consumer_group, TOPICS)

    stub = analytics_pb2_grpc.AnalyticsServiceStub(analytics_service.service.channel)
    token = await staff_token(user_service)
    summary = await stub.GetSalesSummary(analytics_pb2.GetSalesSummaryRequest(), metadata=token)
    assert summary.end_date == TODAY.date().isoformat() and len(summary.days) == 30
    assert summary.order_count == 3
    assert minor(summary.revenue) == 4_999 + 1_749 + 7_500
    assert minor(summary.average_order_value) == 4_749  # 142.48 / 3, rounded
    by_day = {day.date: (day.order_count, minor(day.revenue)) for day in summary.days}
    assert by_day[TODAY.date().isoformat()] == (2, 4_999 + 7_500)
    assert by_day[YESTERDAY.date().isoformat()] == (1, 1_749)
    assert sum(count for count, _ in by_day.values()) == 3

    by_revenue = await stub.GetTopProducts(analytics_pb2.GetTopProductsRequest(), metadata=token)
    assert [(p.product_id, p.units_sold, minor(p.revenue)) for p in by_revenue.products] == [
        ("p-lamp", 1, 10_000),
        ("p-mug", 3, 3_750),
        ("p-tee", 1, 2_000),
    ]
    assert by_revenue.products[1].name == "Blue mug"
    by_units = await stub.GetTopProducts(
        analytics_pb2.GetTopProductsRequest(
            metric=analytics_pb2.TOP_PRODUCTS_METRIC_UNITS, limit=2
        ),
        metadata=token,
    )
    assert [p.product_id for p in by_units.products] == ["p-mug", "p-lamp"]

    funnel = await stub.GetFunnel(analytics_pb2.GetFunnelRequest(), metadata=token)
    assert (funnel.cart_adds, funnel.checkouts_started, funnel.orders_paid) == (6, 5, 4)
    assert funnel.cart_to_checkout_rate == pytest.approx(5 / 6)
    assert funnel.checkout_to_paid_rate == pytest.approx(4 / 5)

    # The same figures on the metrics port, each event counted once.
    async with httpx.AsyncClient() as http:
        exposition = (await http.get(analytics_service.metrics_url)).text
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }

    def metric(name: str, **labels: str) -> float:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    assert [metric("shop_orders_total", status=s) for s in ("placed", "paid")] == [5, 4]
    assert metric("shop_orders_total", status="payment_failed") == 1
    assert metric("shop_orders_total", status="cancelled") == 1
    assert (
        metric("shop_revenue_minor_units_total", currency="USD") == 4_999 + 1_749 + 3_000 + 10_000
    )
    assert metric("shop_refunds_minor_units_total", currency="USD") == 2_500
    assert metric("shop_payments_total", outcome="succeeded") == 4
    assert metric("shop_payments_total", outcome="failed") == 1
    assert metric("shop_payments_total", outcome="refunded") == 1
    assert metric("shop_cart_adds_total") == 6

    yesterday_only = await stub.GetSalesSummary(
        analytics_pb2.GetSalesSummaryRequest(
            start_date=YESTERDAY.date().isoformat(), end_date=YESTERDAY.date().isoformat()
        ),
        metadata=token,
    )
    assert (yesterday_only.order_count, minor(yesterday_only.revenue)) == (1, 1_749)


async def test_figures_are_for_staff_only(
    user_service: Running, analytics_service: RunningAnalytics
) -> None:
    stub = analytics_pb2_grpc.AnalyticsServiceStub(analytics_service.service.channel)
    token = await customer_token(user_service)

    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await stub.GetSalesSummary(analytics_pb2.GetSalesSummaryRequest(), metadata=token)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await stub.GetFunnel(analytics_pb2.GetFunnelRequest())
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_reversed_range_is_an_invalid_argument(
    user_service: Running, analytics_service: RunningAnalytics
) -> None:
    stub = analytics_pb2_grpc.AnalyticsServiceStub(analytics_service.service.channel)

    with pytest.raises(grpc.aio.AioRpcError) as invalid:
        await stub.GetSalesSummary(
            analytics_pb2.GetSalesSummaryRequest(start_date="2026-02-01", end_date="2026-01-01"),
            metadata=await staff_token(user_service),
        )
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
