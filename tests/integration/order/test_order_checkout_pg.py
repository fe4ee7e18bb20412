"""PlaceOrder end to end on real PostgreSQL and Kafka, through a real gRPC server.

The catalog, cart and payment services are fakes of our own contracts (see order_harness);
every store is real.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import asyncpg
import grpc
import pytest
from shop.common.v1 import common_pb2
from shop.order.v1 import order_pb2, order_pb2_grpc

from launcher.testing import DatabaseFactory
from mesh import rbac
from services.order.domain.model import Order
from services.order.service_layer.saga import Checkpoint, FaultHook, no_faults

from ..service_harness import Running, TokenKeys
from .order_harness import (
    Downstream,
    bearer,
    error_details,
    fake_downstream,
    order_events,
    order_service,
)

pytestmark = pytest.mark.integration

ADDRESS = common_pb2.Address(
    name="Ada Lovelace",
    line1="1 Main St",
    city="Springfield",
    postal_code="12345",
    country_code="US",
)
MUG_PRICE, TEE_PRICE = 1250, 2000


class SimulatedCrash(Exception):
    """The process 'dies' here: nothing after this point runs in that instance."""


@pytest.fixture(scope="module")
def keys() -> TokenKeys:
    return TokenKeys()


@pytest.fixture
async def downstream(keys: TokenKeys) -> AsyncIterator[Downstream]:
    async with fake_downstream(keys) as services:
        services.catalog.products.update(
            {"mug": ("Mug", MUG_PRICE, 10), "tee": ("Tee", TEE_PRICE, 3)}
        )
        services.cart.carts["ada"] = [("mug", 2), ("tee", 1)]
        yield services


OrderFactory = Callable[..., AbstractAsyncContextManager[Running]]


@pytest.fixture
def environ(
    postgres_dsn: DatabaseFactory, kafka_bootstrap: str, downstream: Downstream
) -> dict[str, str]:
    return {
        "GRPC_PORT": "0",
        "DATABASE_URL": postgres_dsn(),
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "TAX_RATE_BPS": "1000",
        "SHIPPING_FEE_MINOR": "500",
        "FREE_SHIPPING_THRESHOLD_MINOR": "10000",
        "PAYMENT_TRY_TIMEOUT_SECONDS": "0.5",
        "PAYMENT_RETRY_BACKOFF_SECONDS": "0.1",
        "SAGA_RECOVERY_INTERVAL_SECONDS": "0.2",
        "SAGA_RECOVERY_GRACE_SECONDS": "0",
        **downstream.addresses,
    }


@pytest.fixture
def start_order(environ: dict[str, str], keys: TokenKeys) -> OrderFactory:
    def start(
        faults: FaultHook = no_faults, **overrides: str
    ) -> AbstractAsyncContextManager[Running]:
        return order_service({**environ, **overrides}, keys, faults)

    return start


def stub(running: Running) -> tuple[grpc.aio.Channel, order_pb2_grpc.OrderServiceAsyncStub]:
    channel = grpc.aio.insecure_channel(running.address)
    return channel, order_pb2_grpc.OrderServiceStub(channel)


def checkout(token: str = "tok_visa", user_id: str = "ada") -> order_pb2.PlaceOrderRequest:
    return order_pb2.PlaceOrderRequest(
        user_id=user_id, payment_token=token, shipping_address=ADDRESS
    )


async def count_rows(dsn: str, sql: str, *args: object) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


async def test_place_order_twice_with_one_key_gives_one_order_and_one_charge(
    start_order: OrderFactory,
    downstream: Downstream,
    keys: TokenKeys,
    environ: dict[str, str],
    kafka_bootstrap: str,
) -> None:
    ada = keys.token("ada", rbac.CUSTOMER)
    async with start_order() as running:
        channel, orders = stub(running)
        async with channel:
            first = await orders.PlaceOrder(checkout(), metadata=bearer(ada, "checkout-1"))
            downstream.cart.carts["ada"] = [("mug", 1)]  # the cart changes; the key wins
            again = await orders.PlaceOrder(checkout(), metadata=bearer(ada, "checkout-1"))
            concurrent = await asyncio.gather(
                *(
                    orders.PlaceOrder(checkout(), metadata=bearer(ada, "checkout-1"))
                    for _ in range(5)
                )
            )

    assert first.status == order_pb2.ORDER_STATUS_PAID
    assert {again.id, *(o.id for o in concurrent)} == {first.id}
    assert again == first
    subtotal = 2 * MUG_PRICE + TEE_PRICE
    assert (first.subtotal.units, first.subtotal.nanos) == (subtotal // 100, 0)
    assert first.total.units * 100 + first.total.nanos // 10**7 == subtotal + 450 + 500
    assert downstream.payment.charges_for(first.id) == 1
    assert await count_rows(environ["DATABASE_URL"], "SELECT count(*) FROM orders") == 1
    assert downstream.catalog.inventory("mug") == 8
    assert await order_events(kafka_bootstrap, first.id) == ["order_placed", "order_paid"]


async def test_the_same_key_for_another_request_is_aborted(
    start_order: OrderFactory, keys: TokenKeys
) -> None:
    ada = keys.token("ada", rbac.CUSTOMER)
    async with start_order() as running:
        channel, orders = stub(running)
        async with channel:
            await orders.PlaceOrder(checkout(), metadata=bearer(ada, "checkout-1"))
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await orders.PlaceOrder(
                    checkout("tok_chargeDeclined"), metadata=bearer(ada, "checkout-1")
                )
    assert raised.value.code() is grpc.StatusCode.ABORTED
    assert error_details(raised.value).reason == "IDEMPOTENCY_KEY_REUSED"


async def test_place_order_without_an_idempotency_key_is_a_field_violation(
    start_order: OrderFactory, keys: TokenKeys, downstream: Downstream
) -> None:
    ada = keys.token("ada", rbac.CUSTOMER)
    async with start_order() as running:
        channel, orders = stub(running)
        async with channel:
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await orders.PlaceOrder(checkout(), metadata=bearer(ada))
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    details = error_details(raised.value)
    assert (details.reason, details.field_violations) == (
        "IDEMPOTENCY_KEY_REQUIRED",
        ["idempotency-key"],
    )
    assert not downstream.payment.provider_charges


async def test_many_concurrent_checkouts_share_a_small_pool(
    start_order: OrderFactory, downstream: Downstream, keys: TokenKeys
) -> None:
    shoppers = [f"shopper{n}" for n in range(12)]
    for shopper in shoppers:
        downstream.cart.carts[shopper] = [("mug", 1)]
    downstream.catalog.products["mug"] = ("Mug", MUG_PRICE, len(shoppers))
    async with start_order(DATABASE_POOL_MAX_SIZE="3") as running:
        channel, orders = stub(running)
        async with channel:
            placed = await asyncio.wait_for(
                asyncio.gather(
                    *(
                        orders.PlaceOrder(
                            checkout(user_id=shopper),
                            metadata=bearer(keys.token(shopper, rbac.CUSTOMER), "k"),
                        )
                        for shopper in shoppers
                    )
                ),
                timeout=30,
            )
    assert {order.status for order in placed} == {order_pb2.ORDER_STATUS_PAID}
    assert len({order.id for order in placed}) == len(shoppers)
    assert downstream.catalog.inventory("mug") == 0


async def test_a_declined_card_fails_the_order_and_puts_the_stock_back(
    start_order: OrderFactory, downstream: Downstream, keys: TokenKeys, kafka_bootstrap: str
) -> None:
    ada = keys.token("ada", rbac.CUSTOMER)
    stock_before = (downstream.catalog.inventory("mug"), downstream.catalog.inventory("tee"))
    async with start_order() as running:
        channel, orders = stub(running)
        async with channel:
            order = await orders.PlaceOrder(
                checkout("tok_chargeDeclined"), metadata=bearer(ada, "checkout-1")
            )
            fetched = await orders.GetOrder(
                order_pb2.GetOrderRequest(id=order.id), metadata=bearer(ada)
            )

    assert order.status == order_pb2.ORDER_STATUS_PAYMENT_FAILED
    assert order.failure_reason == "card_declined: Your card was declined."
    assert fetched == order
    stock_after = (downstream.catalog.inventory("mug"), downstream.catalog.inventory("tee"))
    assert stock_after == stock_before
    assert order.id not in downstream.catalog.reservations
    assert downstream.cart.carts["ada"], "the cart stays for another try"
    assert await order_events(kafka_bootstrap, order.id) == [
        "order_placed",
        "order_payment_failed",
    ]


async def test_a_slow_charge_is_retried_with_the_same_key_and_charged_once(
    start_order: OrderFactory, downstream: Downstream, keys: TokenKeys
) -> None:
    ada = keys.token("ada", rbac.CUSTOMER)
    downstream.payment.slow_seconds = 1.2  # more than one try's 0.5 s deadline
    async with start_order() as running:
        channel, orders = stub(running)
        async with channel:
            order = await orders.PlaceOrder(checkout("tok_slow"), metadata=bearer(ada, "slow-1"))

    assert order.status == order_pb2.ORDER_STATUS_PAID
    assert downstream.payment.charge_calls[order.id] > 1, "the first try timed out"
    assert downstream.payment.charges_for(order.id) == 1


async def test_a_crash_after_the_charge_is_finished_by_a_restarted_instance(
    start_order: OrderFactory,
    downstream: Downstream,
    keys: TokenKeys,
    environ: dict[str, str],
    kafka_bootstrap: str,
) -> None:
    ada = keys.token("ada", rbac.CUSTOMER)

    async def die_after_charge(checkpoint: Checkpoint, order: Order) -> None:
        if checkpoint is Checkpoint.AFTER_CHARGE:
            raise SimulatedCrash(order.id)

    async with start_order(die_after_charge, SAGA_RECOVERY_ENABLED="false") as crashing:
        channel, orders = stub(crashing)
        async with channel:
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await orders.PlaceOrder(checkout(), metadata=bearer(ada, "checkout-1"))
    assert raised.value.code() is grpc.StatusCode.INTERNAL
    (order_id,) = downstream.payment.provider_charges
    dsn = environ["DATABASE_URL"]
    assert (
        await count_rows(
            dsn, "SELECT count(*) FROM orders WHERE id = $1 AND saga_step = 'CHARGING'", order_id
        )
        == 1
    ), "charged, but PAID was never recorded"
    assert downstream.cart.carts["ada"]

    async with start_order() as restarted:  # a fresh instance on the same database
        channel, orders = stub(restarted)
        async with channel:
            order = await wait_for_status(
                orders, order_id, keys.token("ada", rbac.CUSTOMER), order_pb2.ORDER_STATUS_PAID
            )
            replay = await orders.PlaceOrder(checkout(), metadata=bearer(ada, "checkout-1"))

    assert replay.id == order.id and replay.status == order_pb2.ORDER_STATUS_PAID
    assert downstream.payment.charges_for(order_id) == 1
    assert "ada" not in downstream.cart.carts
    assert downstream.cart.cleared_by == ["service:order"], "recovery clears with the service token"
    events = await order_events(kafka_bootstrap, order_id)
    assert events.count("order_paid") == 1
    assert events == ["order_placed", "order_paid"]


async def wait_for_status(
    orders: order_pb2_grpc.OrderServiceAsyncStub,
    order_id: str,
    token: str,
    status: order_pb2.OrderStatus.ValueType,
    timeout_seconds: float = 15.0,
) -> order_pb2.Order:
    async with asyncio.timeout(timeout_seconds):
        while True:
            order = await orders.GetOrder(
                order_pb2.GetOrderRequest(id=order_id), metadata=bearer(token)
            )
            if order.status == status:
                return order
            await asyncio.sleep(0.1)


async def test_cancel_refunds_releases_and_publishes_once(
    start_order: OrderFactory, downstream: Downstream, keys: TokenKeys, kafka_bootstrap: str
) -> None:
    ada = keys.token("ada", rbac.CUSTOMER)
    async with start_order() as running:
        channel, orders = stub(running)
        async with channel:
            placed = await orders.PlaceOrder(checkout(), metadata=bearer(ada, "checkout-1"))
            request = order_pb2.CancelOrderRequest(id=placed.id, reason="changed my mind")
            cancelled = await orders.CancelOrder(request, metadata=bearer(ada))
            again = await orders.CancelOrder(request, metadata=bearer(ada))

    assert cancelled.status == order_pb2.ORDER_STATUS_CANCELLED
    assert again == cancelled
    assert downstream.payment.refunds[f"refund:{placed.id}"] == 1
    assert (downstream.catalog.inventory("mug"), downstream.catalog.inventory("tee")) == (10, 3)
    events = await order_events(kafka_bootstrap, placed.id)
    assert events == ["order_placed", "order_paid", "order_cancelled"]


async def test_customers_reach_only_their_own_orders(
    start_order: OrderFactory, keys: TokenKeys
) -> None:
    ada = keys.token("ada", rbac.CUSTOMER)
    bob = keys.token("bob", rbac.CUSTOMER)
    support = keys.token("sam", rbac.CUSTOMER_SERVICE)
    async with start_order() as running:
        channel, orders = stub(running)
        async with channel:
            placed = await orders.PlaceOrder(checkout(), metadata=bearer(ada, "checkout-1"))
            get = order_pb2.GetOrderRequest(id=placed.id)
            with pytest.raises(grpc.aio.AioRpcError) as as_bob:
                await orders.GetOrder(get, metadata=bearer(bob))
            with pytest.raises(grpc.aio.AioRpcError) as bob_for_ada:
                await orders.PlaceOrder(checkout(), metadata=bearer(bob, "checkout-2"))
            with pytest.raises(grpc.aio.AioRpcError) as bob_lists_ada:
                await orders.ListOrders(
                    order_pb2.ListOrdersRequest(user_id="ada"), metadata=bearer(bob)
                )
            as_support = await orders.GetOrder(get, metadata=bearer(support))
            listed = await orders.ListOrders(
                order_pb2.ListOrdersRequest(user_id="ada"), metadata=bearer(ada)
            )
            purchased = await orders.HasPurchased(
                order_pb2.HasPurchasedRequest(user_id="ada", product_id="mug"),
                metadata=bearer(keys.token("service:review", rbac.SERVICE)),
            )

    assert as_bob.value.code() is grpc.StatusCode.NOT_FOUND
    assert bob_for_ada.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert bob_lists_ada.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert as_support.id == placed.id
    assert [o.id for o in listed.orders] == [placed.id] and listed.total_size == 1
    assert (purchased.purchased, purchased.order_id) == (True, placed.id)
