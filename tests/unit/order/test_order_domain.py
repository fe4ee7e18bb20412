from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from mesh.errors import AbortedError, FailedPreconditionError, InvalidArgumentError
from services.order.domain.checkout import CartItem, ProductOffer, order_lines
from services.order.domain.idempotency import (
    CheckoutRequest,
    IdempotencyRecord,
    require_key,
)
from services.order.domain.model import (
    Address,
    InvalidTransition,
    Order,
    OrderEventType,
    OrderLine,
    OrderStatus,
    SagaStep,
    Transition,
)
from services.order.domain.pricing import PricingPolicy

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ADDRESS = Address("Ada", "1 Main St", "", "Springfield", "", "12345", "US")
POLICY = PricingPolicy(
    tax_rate_bps=1000, shipping_fee_minor=500, free_shipping_threshold_minor=10_000
)


def new_order() -> Order:
    return Order.start(
        order_id="o1",
        user_id="u1",
        lines=[OrderLine("p1", "Mug", 2, 1250)],
        currency="USD",
        shipping_address=ADDRESS,
        payment_token="tok_visa",
        policy=POLICY,
        now=NOW,
    )


def test_a_new_order_is_pending_and_priced() -> None:
    order = new_order()
    assert (order.status, order.saga_step) == (OrderStatus.PENDING, SagaStep.STARTED)
    assert (order.totals.subtotal, order.totals.tax, order.totals.shipping) == (2500, 250, 500)
    assert order.totals.total == 3250


def test_the_happy_path_publishes_placed_then_paid() -> None:
    order = new_order()
    events = []
    steps: list[Callable[[Order], Transition]] = [
        lambda o: o.stock_reserved(NOW),
        lambda o: o.charging(NOW),
        lambda o: o.paid("pay1", NOW),
        lambda o: o.cart_cleared(NOW),
    ]
    for step in steps:
        transition = step(order)
        assert transition.expected is order.saga_step
        order = transition.order
        events += [event.type for event in transition.events]
    assert events == [OrderEventType.PLACED, OrderEventType.PAID]
    assert (order.status, order.saga_step, order.payment_id) == (
        OrderStatus.PAID,
        SagaStep.COMPLETED,
        "pay1",
    )
    assert order.version == 5
    assert order.payment_token == "", "the token is dropped once the saga is over"


def test_a_step_cannot_be_skipped() -> None:
    with pytest.raises(InvalidTransition):
        new_order().paid("pay1", NOW)


def test_payment_failure_carries_the_reason_in_status_and_event() -> None:
    order = new_order().stock_reserved(NOW).order.charging(NOW).order
    transition = order.payment_failed("card_declined", NOW)
    assert transition.order.status is OrderStatus.PAYMENT_FAILED
    assert transition.order.saga_step is SagaStep.COMPENSATING
    assert [(e.type, e.reason) for e in transition.events] == [
        (OrderEventType.PAYMENT_FAILED, "card_declined")
    ]


def test_a_paid_order_cannot_fail_its_payment_any_more() -> None:
    order = new_order().stock_reserved(NOW).order.charging(NOW).order.paid("p", NOW).order
    with pytest.raises(InvalidTransition):
        order.payment_failed("late", NOW)


def test_only_paid_orders_can_be_cancelled() -> None:
    with pytest.raises(FailedPreconditionError) as raised:
        new_order().request_cancel("changed my mind", NOW)
    assert raised.value.reason == "ORDER_NOT_CANCELLABLE"

    paid = new_order().stock_reserved(NOW).order.charging(NOW).order.paid("p", NOW).order
    refunding = paid.request_cancel("changed my mind", NOW).order
    assert refunding.cancel_requested and refunding.status is OrderStatus.PAID
    cancelled = refunding.cancelled(NOW)
    assert cancelled.order.status is OrderStatus.CANCELLED
    assert [(e.type, e.reason) for e in cancelled.events] == [
        (OrderEventType.CANCELLED, "changed my mind")
    ]


def offer(product_id: str, price: int, inventory: int, currency: str = "USD") -> ProductOffer:
    return ProductOffer(product_id, product_id.upper(), price, currency, inventory)


def test_lines_take_the_catalog_price_and_merge_repeated_products() -> None:
    lines = order_lines(
        "u1",
        [CartItem("p1", 1), CartItem("p1", 2), CartItem("p2", 1)],
        {"p1": offer("p1", 300, 5), "p2": offer("p2", 1000, 1)},
        "USD",
    )
    assert lines == (OrderLine("p1", "P1", 3, 300), OrderLine("p2", "P2", 1, 1000))


def test_an_empty_cart_cannot_be_checked_out() -> None:
    with pytest.raises(FailedPreconditionError) as raised:
        order_lines("u1", [], {}, "USD")
    assert raised.value.reason == "CART_EMPTY"


def test_every_unorderable_line_is_reported_at_once() -> None:
    with pytest.raises(FailedPreconditionError) as raised:
        order_lines(
            "u1",
            [CartItem("gone", 1), CartItem("few", 3), CartItem("eur", 1)],
            {"few": offer("few", 100, 2), "eur": offer("eur", 100, 9, "EUR")},
            "USD",
        )
    assert [(v.type, v.subject) for v in raised.value.violations] == [
        ("PRODUCT", "products/gone"),
        ("STOCK", "products/few"),
        ("CURRENCY", "products/eur"),
    ]


@pytest.mark.parametrize("key", [None, ""])
def test_a_missing_idempotency_key_is_a_field_violation(key: str | None) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        require_key(key)
    assert raised.value.reason == "IDEMPOTENCY_KEY_REQUIRED"
    assert [v.field for v in raised.value.violations] == ["idempotency-key"]


@pytest.mark.parametrize("key", ["has space", "x" * 256, "naïve"])
def test_a_malformed_idempotency_key_is_refused(key: str) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        require_key(key)
    assert raised.value.reason == "IDEMPOTENCY_KEY_INVALID"


def test_the_fingerprint_changes_with_any_part_of_the_request() -> None:
    base = CheckoutRequest("u1", "tok_visa", ADDRESS)
    assert base.fingerprint() == CheckoutRequest("u1", "tok_visa", ADDRESS).fingerprint()
    other_token = CheckoutRequest("u1", "tok_chargeDeclined", ADDRESS)
    other_city = CheckoutRequest(
        "u1", "tok_visa", Address("Ada", "1 Main St", "", "Shelbyville", "", "12345", "US")
    )
    assert len({base.fingerprint(), other_token.fingerprint(), other_city.fingerprint()}) == 3


def test_a_reused_key_with_another_request_is_aborted() -> None:
    record = IdempotencyRecord("u1", "k1", "hash-a", "o1")
    record.check_same_request("hash-a")
    with pytest.raises(AbortedError) as raised:
        record.check_same_request("hash-b")
    assert raised.value.reason == "IDEMPOTENCY_KEY_REUSED"
