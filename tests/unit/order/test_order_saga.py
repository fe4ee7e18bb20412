"""The checkout and cancellation sagas against fakes of the store and the downstream services."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry

from mesh.auth.identity import Identity
from mesh.errors import (
    AbortedError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
)
from services.order.adapters.metrics import SagaMetrics
from services.order.domain.checkout import CartItem
from services.order.domain.idempotency import CheckoutRequest
from services.order.domain.model import Address, Order, OrderStatus, SagaStep
from services.order.domain.pricing import PricingPolicy
from services.order.service_layer.orders import Orders
from services.order.service_layer.recovery import RecoveryPolicy, SagaRecovery
from services.order.service_layer.saga import (
    Checkpoint,
    FaultHook,
    SagaPolicy,
    SagaRunner,
    no_faults,
)
from services.order.service_layer.store import OrderQuery

from .order_fakes import FakeCart, FakeCatalog, FakeClock, FakeOrderStore, FakePayment

ADDRESS = Address("Ada", "1 Main St", "", "Springfield", "", "12345", "US")
POLICY = PricingPolicy(
    tax_rate_bps=1000, shipping_fee_minor=500, free_shipping_threshold_minor=10_000
)
ADA = Identity.from_claims("ada", frozenset({"customer"}), "ada-token")
BOB = Identity.from_claims("bob", frozenset({"customer"}), "bob-token")
SUPPORT = Identity.from_claims("sam", frozenset({"customer-service"}), "sam-token")


class Crash(Exception):
    """Stands for the process dying at a checkpoint."""


@dataclass
class Shop:
    store: FakeOrderStore = field(default_factory=FakeOrderStore)
    cart: FakeCart = field(default_factory=FakeCart)
    catalog: FakeCatalog = field(default_factory=FakeCatalog)
    payment: FakePayment = field(default_factory=FakePayment)
    clock: FakeClock = field(default_factory=FakeClock)
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.metrics = SagaMetrics(self.registry)
        self.catalog.add("mug", price=1250, inventory=10)
        self.catalog.add("tee", price=2000, inventory=3)
        self.cart.carts["ada"] = [CartItem("mug", 2), CartItem("tee", 1)]

    def runner(self, faults: FaultHook | None = None) -> SagaRunner:
        return SagaRunner(
            self.store,
            self.catalog,
            self.payment,
            self.cart,
            self.clock,
            SagaPolicy(checkout_timeout=timedelta(minutes=15)),
            faults or no_faults,
            self.metrics,
        )

    def orders(self, faults: FaultHook | None = None) -> Orders:
        return Orders(
            self.store, self.cart, self.catalog, self.runner(faults), POLICY, "USD", self.clock
        )

    def recovery(self, faults: FaultHook | None = None) -> SagaRecovery:
        policy = RecoveryPolicy(grace=timedelta(seconds=30))
        return SagaRecovery(self.store, self.runner(faults), self.clock, policy, self.metrics)

    def metric(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0

    def only_order(self) -> Order:
        (order,) = self.store.orders.values()
        return order


def request(token: str = "tok_visa", user_id: str = "ada") -> CheckoutRequest:
    return CheckoutRequest(user_id, token, ADDRESS)


async def test_a_checkout_charges_once_clears_the_cart_and_publishes() -> None:
    shop = Shop()
    order = await shop.orders().place_order(ADA, request(), "key-1")

    assert (order.status, order.saga_step) == (OrderStatus.PAID, SagaStep.COMPLETED)
    assert order.totals.subtotal == 2 * 1250 + 2000
    assert order.totals.total == 4500 + 450 + 500
    assert order.payment_id == f"pay-{order.id}"
    assert shop.payment.provider_charges[order.id] == 1
    assert (shop.catalog.inventory("mug"), shop.catalog.inventory("tee")) == (8, 2)
    assert "ada" not in shop.cart.carts
    assert shop.store.event_types() == ["OrderPlaced", "OrderPaid"]
    assert shop.cart.tokens_seen == ["ada-token"], "the cart is read with the caller's token"


async def test_prices_the_cart_read_from_the_catalog_are_not_asked_for_again() -> None:
    shop = Shop()
    shop.cart.catalog = shop.catalog  # the real cart prices every read from the catalog
    order = await shop.orders().place_order(ADA, request(), "key-1")

    assert order.totals.subtotal == 2 * 1250 + 2000
    assert [(line.product_id, line.unit_price) for line in order.lines] == [
        ("mug", 1250),
        ("tee", 2000),
    ]
    assert shop.catalog.offer_calls == 1, "only the cart's own read asked the catalog"


async def test_a_cart_that_did_not_price_its_items_makes_the_order_ask_the_catalog() -> None:
    shop = Shop()
    await shop.orders().place_order(ADA, request(), "key-1")
    assert shop.catalog.offer_calls == 1


async def test_the_same_key_twice_gives_one_order_and_one_charge() -> None:
    shop = Shop()
    orders = shop.orders()
    first = await orders.place_order(ADA, request(), "key-1")
    second = await orders.place_order(ADA, request(), "key-1")

    assert second.id == first.id
    assert len(shop.store.orders) == 1
    assert sum(shop.payment.provider_charges.values()) == 1
    assert shop.store.event_types() == ["OrderPlaced", "OrderPaid"]


async def test_concurrent_retries_with_one_key_share_one_order() -> None:
    shop = Shop()
    orders = shop.orders()
    results = await asyncio.gather(*(orders.place_order(ADA, request(), "key-1") for _ in range(5)))
    assert len({order.id for order in results}) == 1
    assert {order.status for order in results} == {OrderStatus.PAID}
    assert sum(shop.payment.provider_charges.values()) == 1


async def test_the_same_key_with_another_request_is_rejected() -> None:
    shop = Shop()
    orders = shop.orders()
    await orders.place_order(ADA, request(), "key-1")
    with pytest.raises(AbortedError) as raised:
        await orders.place_order(ADA, request(token="tok_chargeDeclined"), "key-1")
    assert raised.value.reason == "IDEMPOTENCY_KEY_REUSED"
    assert len(shop.store.orders) == 1


async def test_keys_are_scoped_to_the_user() -> None:
    shop = Shop()
    shop.cart.carts["bob"] = [CartItem("mug", 1)]
    orders = shop.orders()
    ada_order = await orders.place_order(ADA, request(), "same-key")
    bob_order = await orders.place_order(BOB, request(user_id="bob"), "same-key")
    assert ada_order.id != bob_order.id


async def test_place_order_without_a_key_is_refused_before_anything_happens() -> None:
    shop = Shop()
    with pytest.raises(InvalidArgumentError) as raised:
        await shop.orders().place_order(ADA, request(), None)
    assert [v.field for v in raised.value.violations] == ["idempotency-key"]
    assert not shop.store.orders


async def test_a_customer_cannot_check_out_for_someone_else() -> None:
    shop = Shop()
    with pytest.raises(PermissionDeniedError):
        await shop.orders().place_order(BOB, request(user_id="ada"), "key-1")


async def test_a_declined_card_fails_the_order_and_puts_the_stock_back() -> None:
    shop = Shop()
    order = await shop.orders().place_order(ADA, request("tok_chargeDeclined"), "key-1")

    assert (order.status, order.saga_step) == (OrderStatus.PAYMENT_FAILED, SagaStep.FAILED)
    assert order.status_reason == "card_declined: declined"
    assert (shop.catalog.inventory("mug"), shop.catalog.inventory("tee")) == (10, 3)
    assert shop.cart.carts["ada"], "the cart is kept so the customer can try another card"
    assert shop.store.event_types() == ["OrderPlaced", "OrderPaymentFailed"]
    assert shop.store.outbox[-1].reason == "card_declined: declined"


async def test_a_lost_charge_answer_leaves_the_order_pending_until_recovery() -> None:
    shop = Shop()
    shop.payment.unknown_times = 1
    order = await shop.orders().place_order(ADA, request(), "key-1")
    assert (order.status, order.saga_step) == (OrderStatus.PENDING, SagaStep.CHARGING)

    shop.clock.advance(timedelta(minutes=1))
    assert await shop.recovery().run_once() == 1

    order = shop.only_order()
    assert (order.status, order.saga_step) == (OrderStatus.PAID, SagaStep.COMPLETED)
    assert shop.payment.provider_charges[order.id] == 1
    assert shop.store.event_types() == ["OrderPlaced", "OrderPaid"]


async def test_a_charge_still_unknown_long_after_checkout_is_not_compensated_blindly() -> None:
    shop = Shop()
    shop.payment.unknown_times = 2
    await shop.orders().place_order(ADA, request(), "key-1")
    shop.clock.advance(timedelta(hours=2))
    await shop.recovery().run_once()
    assert shop.only_order().saga_step is SagaStep.CHARGING
    await shop.recovery().run_once()
    assert shop.only_order().status is OrderStatus.PAID


async def test_a_refused_reservation_cancels_the_order_without_charging() -> None:
    shop = Shop()
    shop.cart.carts["ada"] = [CartItem("tee", 3)]

    async def sold_out(checkpoint: Checkpoint, order: Order) -> None:
        if checkpoint is Checkpoint.BEFORE_RESERVE:
            shop.catalog.add("tee", price=2000, inventory=1)

    order = await shop.orders(faults=sold_out).place_order(ADA, request(), "key-1")
    assert (order.status, order.saga_step) == (OrderStatus.CANCELLED, SagaStep.FAILED)
    assert "not enough tee" in order.status_reason
    assert not shop.payment.provider_charges
    assert shop.store.event_types() == []


async def test_an_out_of_stock_cart_is_refused_up_front() -> None:
    shop = Shop()
    shop.cart.carts["ada"] = [CartItem("tee", 4)]
    with pytest.raises(FailedPreconditionError) as raised:
        await shop.orders().place_order(ADA, request(), "key-1")
    assert [v.type for v in raised.value.violations] == ["STOCK"]
    assert not shop.store.orders


CHECKOUT_CHECKPOINTS = [
    point
    for point in Checkpoint
    if point not in (Checkpoint.AFTER_RELEASE, Checkpoint.AFTER_REFUND)
]


@pytest.mark.parametrize("checkpoint", CHECKOUT_CHECKPOINTS)
async def test_a_crash_at_any_checkout_step_is_finished_by_recovery(checkpoint: Checkpoint) -> None:
    shop = Shop()

    async def crash(point: Checkpoint, order: Order) -> None:
        if point is checkpoint:
            raise Crash(point)

    # The crash must happen: a fault hook that stopped firing would let the checkout finish
    # on its own and the recovery below would prove nothing.
    with pytest.raises(Crash) as crashed:
        await shop.orders(faults=crash).place_order(ADA, request(), "key-1")
    assert crashed.value.args == (checkpoint,)
    assert shop.only_order().saga_step is not SagaStep.COMPLETED
    shop.clock.advance(timedelta(minutes=1))
    await shop.recovery().run_once()

    order = shop.only_order()
    assert (order.status, order.saga_step) == (OrderStatus.PAID, SagaStep.COMPLETED)
    assert shop.payment.provider_charges[order.id] == 1
    assert "ada" not in shop.cart.carts
    assert shop.store.event_types() == ["OrderPlaced", "OrderPaid"]
    assert (shop.catalog.inventory("mug"), shop.catalog.inventory("tee")) == (8, 2)


async def test_a_crash_while_compensating_a_decline_is_compensated_by_recovery() -> None:
    shop = Shop()

    async def crash(point: Checkpoint, order: Order) -> None:
        if point is Checkpoint.AFTER_RELEASE:
            raise Crash(point)

    with pytest.raises(Crash):
        await shop.orders(faults=crash).place_order(ADA, request("tok_chargeDeclined"), "k")
    assert shop.only_order().saga_step is SagaStep.COMPENSATING
    shop.clock.advance(timedelta(minutes=1))
    await shop.recovery().run_once()

    order = shop.only_order()
    assert (order.status, order.saga_step) == (OrderStatus.PAYMENT_FAILED, SagaStep.FAILED)
    assert (shop.catalog.inventory("mug"), shop.catalog.inventory("tee")) == (10, 3)
    assert shop.store.event_types() == ["OrderPlaced", "OrderPaymentFailed"]


async def test_recovery_leaves_fresh_sagas_to_their_live_runner() -> None:
    shop = Shop()

    async def crash(point: Checkpoint, order: Order) -> None:
        if point is Checkpoint.BEFORE_CHARGE:
            raise Crash(point)

    with pytest.raises(Crash):
        await shop.orders(faults=crash).place_order(ADA, request(), "key-1")
    assert await shop.recovery().run_once() == 0
    assert shop.only_order().saga_step is SagaStep.CHARGING


async def test_one_broken_order_does_not_hold_up_the_recovery_of_others() -> None:
    shop = Shop()
    shop.cart.carts["bob"] = [CartItem("mug", 1)]

    async def crash(point: Checkpoint, order: Order) -> None:
        if point is Checkpoint.BEFORE_CHARGE:
            raise Crash(point)

    with pytest.raises(Crash):
        await shop.orders(faults=crash).place_order(ADA, request(), "key-1")
    with pytest.raises(Crash):
        await shop.orders(faults=crash).place_order(BOB, request(user_id="bob"), "key-1")
    ada_order, bob_order = shop.store.orders.values()

    async def ada_still_broken(point: Checkpoint, order: Order) -> None:
        if order.id == ada_order.id:
            raise Crash(point)

    shop.clock.advance(timedelta(minutes=1))
    assert await shop.recovery(ada_still_broken).run_once() == 1
    assert shop.store.orders[bob_order.id].status is OrderStatus.PAID
    assert shop.store.orders[ada_order.id].saga_step is SagaStep.CHARGING


async def test_outcomes_and_recoveries_are_counted() -> None:
    shop = Shop()
    shop.cart.carts["bob"] = [CartItem("mug", 1)]
    shop.payment.unknown_times = 1
    await shop.orders().place_order(ADA, request(), "key-1")
    await shop.orders().place_order(BOB, request("tok_chargeDeclined", user_id="bob"), "key-1")
    shop.clock.advance(timedelta(minutes=1))
    await shop.recovery().run_once()

    assert shop.metric("order_outcomes_total", outcome="paid") == 1
    assert shop.metric("order_outcomes_total", outcome="payment_failed") == 1
    assert shop.metric("order_charge_unknown_total") == 1
    assert shop.metric("order_saga_recoveries_total") == 1
    assert shop.metric("order_sagas_awaiting_recovery") == 1
    assert shop.metric("order_saga_steps_total", step="COMPLETED") == 1


async def test_an_abandoned_checkout_is_compensated_not_charged() -> None:
    shop = Shop()

    async def crash(point: Checkpoint, order: Order) -> None:
        if point is Checkpoint.AFTER_RESERVE:
            raise Crash(point)

    with pytest.raises(Crash):
        await shop.orders(faults=crash).place_order(ADA, request(), "key-1")
    shop.clock.advance(timedelta(hours=1))
    await shop.recovery().run_once()

    order = shop.only_order()
    assert (order.status, order.saga_step) == (OrderStatus.PAYMENT_FAILED, SagaStep.FAILED)
    assert not shop.payment.provider_charges
    assert (shop.catalog.inventory("mug"), shop.catalog.inventory("tee")) == (10, 3)


async def test_a_cart_outage_after_payment_is_retried_by_recovery() -> None:
    shop = Shop()
    shop.cart.outages = 1
    order = await shop.orders().place_order(ADA, request(), "key-1")
    assert (order.status, order.saga_step) == (OrderStatus.PAID, SagaStep.PAID)
    shop.clock.advance(timedelta(minutes=1))
    await shop.recovery().run_once()
    assert shop.only_order().saga_step is SagaStep.COMPLETED
    assert "ada" not in shop.cart.carts


async def test_cancel_refunds_releases_and_publishes_once() -> None:
    shop = Shop()
    orders = shop.orders()
    placed = await orders.place_order(ADA, request(), "key-1")

    cancelled = await orders.cancel_order(ADA, placed.id, "changed my mind")
    again = await orders.cancel_order(ADA, placed.id, "really")

    assert cancelled.status is OrderStatus.CANCELLED
    assert again == cancelled
    assert shop.payment.refunds[placed.id] == 1
    assert (shop.catalog.inventory("mug"), shop.catalog.inventory("tee")) == (10, 3)
    assert shop.store.event_types() == ["OrderPlaced", "OrderPaid", "OrderCancelled"]
    assert shop.store.outbox[-1].reason == "changed my mind"


async def test_a_crash_during_cancel_is_finished_by_recovery() -> None:
    shop = Shop()
    placed = await shop.orders().place_order(ADA, request(), "key-1")

    async def crash(point: Checkpoint, order: Order) -> None:
        if point is Checkpoint.AFTER_REFUND:
            raise Crash(point)

    with pytest.raises(Crash):
        await shop.orders(faults=crash).cancel_order(ADA, placed.id, "")
    shop.clock.advance(timedelta(minutes=1))
    await shop.recovery().run_once()

    assert shop.only_order().status is OrderStatus.CANCELLED
    assert shop.store.event_types().count("OrderCancelled") == 1
    assert (shop.catalog.inventory("mug"), shop.catalog.inventory("tee")) == (10, 3)


async def test_a_failed_order_cannot_be_cancelled() -> None:
    shop = Shop()
    orders = shop.orders()
    failed = await orders.place_order(ADA, request("tok_chargeDeclined"), "key-1")
    with pytest.raises(FailedPreconditionError):
        await orders.cancel_order(ADA, failed.id, "")
    assert not shop.payment.refunds


async def test_customers_see_only_their_own_orders_and_staff_see_all() -> None:
    shop = Shop()
    orders = shop.orders()
    placed = await orders.place_order(ADA, request(), "key-1")

    assert (await orders.get_order(ADA, placed.id)).id == placed.id
    assert (await orders.get_order(SUPPORT, placed.id)).id == placed.id
    with pytest.raises(NotFoundError):
        await orders.get_order(BOB, placed.id)
    with pytest.raises(NotFoundError):
        await orders.cancel_order(BOB, placed.id, "")
    with pytest.raises(PermissionDeniedError):
        await orders.list_orders(BOB, OrderQuery(user_id="ada"), 10, "")
    with pytest.raises(PermissionDeniedError):
        await orders.list_orders(ADA, OrderQuery(), 10, "")


async def test_listing_pages_newest_first() -> None:
    shop = Shop()
    shop.catalog.add("mug", price=100, inventory=100)
    orders = shop.orders()
    placed = []
    for n in range(5):
        shop.cart.carts["ada"] = [CartItem("mug", 1)]
        placed.append((await orders.place_order(ADA, request(), f"key-{n}")).id)

    seen: list[str] = []
    token = ""
    while True:
        page = await orders.list_orders(ADA, OrderQuery(user_id="ada"), 2, token)
        assert page.total_size == 5
        seen += [order.id for order in page.orders]
        token = page.next_page_token
        if not token:
            break
    assert seen == list(reversed(placed))


async def test_has_purchased_counts_paid_orders_only() -> None:
    shop = Shop()
    orders = shop.orders()
    placed = await orders.place_order(ADA, request(), "key-1")
    assert await orders.purchase_of(SUPPORT, "ada", "mug") == placed.id
    assert await orders.purchase_of(SUPPORT, "ada", "other") is None
    await orders.cancel_order(ADA, placed.id, "")
    assert await orders.purchase_of(SUPPORT, "ada", "mug") is None
