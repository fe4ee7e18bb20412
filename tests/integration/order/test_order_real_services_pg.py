"""The checkout saga against the REAL catalog, cart and payment services.

Every service is assembled by its own `build` and served by the runtime on port 0, on real
stores: PostgreSQL (order, payment), FerretDB (catalog), Valkey (cart), Kafka (events). Only
the token issuer is the test's (the same keys sign and verify for every service).
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

import grpc
import pytest
from shop.cart.v1 import cart_pb2, cart_pb2_grpc
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shop.common.v1 import common_pb2
from shop.order.v1 import order_pb2, order_pb2_grpc

from launcher.testing import DatabaseFactory
from mesh import rbac
from services.cart.main import build as build_cart
from services.catalog.main import build as build_catalog
from services.order.domain.model import Order
from services.order.service_layer.saga import Checkpoint, FaultHook, no_faults
from services.payment.adapters.sandbox import SandboxLatency, SandboxProvider
from services.payment.domain.provider import ChargeOutcome, ProviderCharge, ProviderRefund
from services.payment.main import build as build_payment

from ..service_harness import Running, TokenKeys, run_service, usd
from .order_harness import (
    bearer,
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
SLOW_SECONDS = 1.5


@dataclass
class CountingProvider:
    """The payment service's sandbox processor, counting the charges that reach it."""

    sandbox: SandboxProvider
    charges: Counter[str] = field(default_factory=Counter)

    async def charge(self, charge: ProviderCharge) -> ChargeOutcome:
        self.charges[charge.idempotency_key] += 1
        return await self.sandbox.charge(charge)

    async def refund(self, refund: ProviderRefund) -> str:
        return await self.sandbox.refund(refund)


@dataclass
class Shop:
    """The real upstream services, and stubs to drive them as a customer and as staff."""

    keys: TokenKeys
    provider: CountingProvider
    catalog: catalog_pb2_grpc.CatalogServiceAsyncStub
    cart: cart_pb2_grpc.CartServiceAsyncStub
    addresses: dict[str, str]
    common: dict[str, str]

    async def product(self, price_minor: int, inventory: int) -> str:
        admin = self.keys.token("admin", rbac.ADMIN)
        product = await self.catalog.CreateProduct(
            catalog_pb2.CreateProductRequest(
                product=catalog_pb2.Product(
                    name="Mug", price=usd(price_minor), category="kitchen", inventory=inventory
                )
            ),
            metadata=bearer(admin),
        )
        return product.id

    async def inventory(self, product_id: str) -> int:
        product = await self.catalog.GetProduct(catalog_pb2.GetProductRequest(id=product_id))
        return product.inventory

    async def customer_with_cart(self, product_id: str, quantity: int) -> tuple[str, str]:
        user_id = f"u{uuid.uuid4().hex[:12]}"
        token = self.keys.token(user_id, rbac.CUSTOMER)
        await self.cart.AddItem(
            cart_pb2.AddItemRequest(user_id=user_id, product_id=product_id, quantity=quantity),
            metadata=bearer(token),
        )
        return user_id, token

    async def cart_items(self, user_id: str) -> int:
        token = self.keys.token(user_id, rbac.CUSTOMER)
        cart = await self.cart.GetCart(
            cart_pb2.GetCartRequest(user_id=user_id), metadata=bearer(token)
        )
        return sum(item.quantity for item in cart.items)


@pytest.fixture(scope="module")
async def shop(
    postgres_dsn: DatabaseFactory, kafka_bootstrap: str, ferretdb_url: str, redis_url: str
) -> AsyncIterator[Shop]:
    keys = TokenKeys()
    common = {"GRPC_PORT": "0", "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}
    provider = CountingProvider(SandboxProvider(SandboxLatency(0.01, 0.03, SLOW_SECONDS)))
    catalog_env = {
        **common,
        "MONGODB_URL": ferretdb_url,
        "CATALOG_MONGODB_DATABASE": f"order_it_{uuid.uuid4().hex[:8]}",
    }
    payment_env = {**common, "DATABASE_URL": postgres_dsn()}
    async with (
        run_service(
            "catalog", build_catalog, catalog_env, keys, service_subject="service:catalog"
        ) as catalog,
        run_service(
            "payment",
            functools.partial(build_payment, provider=provider),
            payment_env,
            keys,
            service_subject="service:payment",
        ) as payment,
        run_service(
            "cart",
            build_cart,
            {**common, "REDIS_URL": redis_url, "CATALOG_SERVICE_ADDR": catalog.address},
            keys,
            service_subject="service:cart",
        ) as cart,
    ):
        catalog_channel = grpc.aio.insecure_channel(catalog.address)
        cart_channel = grpc.aio.insecure_channel(cart.address)
        async with catalog_channel, cart_channel:
            yield Shop(
                keys,
                provider,
                catalog_pb2_grpc.CatalogServiceStub(catalog_channel),
                cart_pb2_grpc.CartServiceStub(cart_channel),
                {
                    "CATALOG_SERVICE_ADDR": catalog.address,
                    "CART_SERVICE_ADDR": cart.address,
                    "PAYMENT_SERVICE_ADDR": payment.address,
                },
                common,
            )


OrderFactory = Callable[..., AbstractAsyncContextManager[Running]]


@pytest.fixture
def start_order(shop: Shop, postgres_dsn: DatabaseFactory) -> OrderFactory:
    environ = {
        **shop.common,
        **shop.addresses,
        "DATABASE_URL": postgres_dsn(),
        "PAYMENT_TRY_TIMEOUT_SECONDS": "0.5",
        "PAYMENT_RETRY_BACKOFF_SECONDS": "0.1",
        "SAGA_RECOVERY_INTERVAL_SECONDS": "0.2",
        "SAGA_RECOVERY_GRACE_SECONDS": "0",
    }

    def start(
        faults: FaultHook = no_faults, **overrides: str
    ) -> AbstractAsyncContextManager[Running]:
        return order_service({**environ, **overrides}, shop.keys, faults)

    return start


def order_stub(running: Running) -> tuple[grpc.aio.Channel, order_pb2_grpc.OrderServiceAsyncStub]:
    channel = grpc.aio.insecure_channel(running.address)
    return channel, order_pb2_grpc.OrderServiceStub(channel)


def checkout(user_id: str, token: str = "tok_visa") -> order_pb2.PlaceOrderRequest:
    return order_pb2.PlaceOrderRequest(
        user_id=user_id, payment_token=token, shipping_address=ADDRESS
    )


async def test_one_key_twice_is_one_order_and_one_charge(
    shop: Shop, start_order: OrderFactory, kafka_bootstrap: str
) -> None:
    mug = await shop.product(1250, inventory=10)
    user_id, token = await shop.customer_with_cart(mug, 2)
    async with start_order() as running:
        channel, orders = order_stub(running)
        async with channel:
            first = await orders.PlaceOrder(checkout(user_id), metadata=bearer(token, "k1"))
            second = await orders.PlaceOrder(checkout(user_id), metadata=bearer(token, "k1"))

    assert first.status == order_pb2.ORDER_STATUS_PAID
    assert second.id == first.id and second.status == first.status
    assert shop.provider.charges[first.id] == 1
    assert await shop.inventory(mug) == 8
    assert await shop.cart_items(user_id) == 0
    assert await order_events(kafka_bootstrap, first.id) == ["order_placed", "order_paid"]


async def test_a_declined_card_puts_the_stock_back(shop: Shop, start_order: OrderFactory) -> None:
    mug = await shop.product(1250, inventory=10)
    user_id, token = await shop.customer_with_cart(mug, 3)
    async with start_order() as running:
        channel, orders = order_stub(running)
        async with channel:
            order = await orders.PlaceOrder(
                checkout(user_id, "tok_chargeDeclined"), metadata=bearer(token, "k1")
            )

    assert order.status == order_pb2.ORDER_STATUS_PAYMENT_FAILED
    assert order.failure_reason.startswith("card_declined")
    assert await shop.inventory(mug) == 10
    assert await shop.cart_items(user_id) == 3


@pytest.mark.parametrize(
    ("payment_token", "provider_calls"),
    [
        ("tok_slow", 1),  # answers after more than one try's deadline
        ("tok_processingError", 2),  # fails once at the processor, then succeeds
    ],
)
async def test_a_slow_or_flaky_processor_is_retried_with_the_same_key(
    shop: Shop, start_order: OrderFactory, payment_token: str, provider_calls: int
) -> None:
    mug = await shop.product(1250, inventory=10)
    user_id, token = await shop.customer_with_cart(mug, 1)
    async with start_order() as running:
        channel, orders = order_stub(running)
        async with channel:
            order = await orders.PlaceOrder(
                checkout(user_id, payment_token), metadata=bearer(token, "k1")
            )

    assert order.status == order_pb2.ORDER_STATUS_PAID
    assert shop.provider.charges[order.id] == provider_calls
    assert await shop.inventory(mug) == 9


async def test_a_crash_after_the_charge_ends_paid_after_restart(
    shop: Shop, start_order: OrderFactory, kafka_bootstrap: str
) -> None:
    mug = await shop.product(1250, inventory=10)
    user_id, token = await shop.customer_with_cart(mug, 2)

    async def die_after_charge(checkpoint: Checkpoint, order: Order) -> None:
        if checkpoint is Checkpoint.AFTER_CHARGE:
            raise RuntimeError("simulated crash after the charge")

    async with start_order(die_after_charge, SAGA_RECOVERY_ENABLED="false") as crashing:
        channel, orders = order_stub(crashing)
        async with channel:
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await orders.PlaceOrder(checkout(user_id), metadata=bearer(token, "k1"))
            listed = await orders.ListOrders(
                order_pb2.ListOrdersRequest(user_id=user_id), metadata=bearer(token)
            )
    assert raised.value.code() is grpc.StatusCode.INTERNAL
    (pending,) = listed.orders
    assert pending.status == order_pb2.ORDER_STATUS_PENDING
    assert shop.provider.charges[pending.id] == 1
    assert await shop.cart_items(user_id) == 2

    async with start_order() as restarted:
        channel, orders = order_stub(restarted)
        async with channel:
            for _ in range(100):
                order = await orders.GetOrder(
                    order_pb2.GetOrderRequest(id=pending.id), metadata=bearer(token)
                )
                if order.status == order_pb2.ORDER_STATUS_PAID and not await shop.cart_items(
                    user_id
                ):
                    break
                await asyncio.sleep(0.1)

    assert order.status == order_pb2.ORDER_STATUS_PAID
    assert shop.provider.charges[pending.id] == 1
    assert await shop.cart_items(user_id) == 0
    assert await shop.inventory(mug) == 8
    events = await order_events(kafka_bootstrap, pending.id)
    assert events.count("order_paid") == 1
    assert events == ["order_placed", "order_paid"]
