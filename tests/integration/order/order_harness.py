"""Building blocks for the order service's integration tests.

Real: PostgreSQL, Kafka, the order service's own gRPC server (mesh runtime, interceptors,
token checks). Fakes of OUR other services (catalog, cart, payment) implement their generated
servicer base classes and run behind the same runtime, so they also check the tokens the
order service sends them.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import grpc
from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]
from google.protobuf import empty_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc import aio
from shop.cart.v1 import cart_pb2, cart_pb2_grpc
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shop.events.v1 import events_pb2
from shop.payment.v1 import payment_pb2, payment_pb2_grpc

from mesh.auth import current_identity
from mesh.errors import FailedPreconditionError
from mesh.server import ServiceSpec
from services.order.main import build
from services.order.service_layer.saga import FaultHook, no_faults

from ..service_harness import Running, TokenKeys, run_service, serving, usd

Context = aio.ServicerContext[Any, Any]


# -- fakes of our other services ---------------------------------------------------------


async def _unimplemented(self: object, request: object, context: Context) -> None:
    await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not part of the order tests' fake")


# Typed Any: stands in for methods of every signature the fakes do not need.
_not_faked: Any = _unimplemented


@dataclass
class FakeCatalog(catalog_pb2_grpc.CatalogServiceServicer):
    products: dict[str, tuple[str, int, int]] = field(default_factory=dict)  # name, price, inv
    reservations: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    callers: list[frozenset[str]] = field(default_factory=list)

    ListProducts = GetProduct = CreateProduct = UpdateProduct = _not_faked
    DeleteProduct = ListCategories = _not_faked

    def inventory(self, product_id: str) -> int:
        return self.products[product_id][2]

    def _adjust(self, product_id: str, delta: int) -> None:
        name, price, inventory = self.products[product_id]
        self.products[product_id] = (name, price, inventory + delta)

    async def BatchGetProducts(
        self, request: catalog_pb2.BatchGetProductsRequest, context: Context
    ) -> catalog_pb2.BatchGetProductsResponse:
        found = [pid for pid in request.ids if pid in self.products]
        return catalog_pb2.BatchGetProductsResponse(
            products=[
                catalog_pb2.Product(
                    id=pid,
                    name=self.products[pid][0],
                    price=usd(self.products[pid][1]),
                    inventory=self.products[pid][2],
                )
                for pid in found
            ],
            missing_ids=[pid for pid in request.ids if pid not in self.products],
        )

    async def ReserveStock(
        self, request: catalog_pb2.ReserveStockRequest, context: Context
    ) -> catalog_pb2.ReserveStockResponse:
        self.callers.append(current_identity().roles)
        if request.order_id not in self.reservations:
            for item in request.items:
                if self.inventory(item.product_id) < item.quantity:
                    raise FailedPreconditionError(
                        f"not enough {item.product_id} in stock", reason="INSUFFICIENT_STOCK"
                    )
            for item in request.items:
                self._adjust(item.product_id, -item.quantity)
            self.reservations[request.order_id] = [
                (item.product_id, item.quantity) for item in request.items
            ]
        return catalog_pb2.ReserveStockResponse(order_id=request.order_id)

    async def ReleaseStock(
        self, request: catalog_pb2.ReleaseStockRequest, context: Context
    ) -> catalog_pb2.ReleaseStockResponse:
        self.callers.append(current_identity().roles)
        items = self.reservations.pop(request.order_id, [])
        for product_id, quantity in items:
            self._adjust(product_id, quantity)
        return catalog_pb2.ReleaseStockResponse(order_id=request.order_id, released=bool(items))


@dataclass
class FakeCart(cart_pb2_grpc.CartServiceServicer):
    carts: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    cleared_by: list[str] = field(default_factory=list)

    AddItem = UpdateItemQuantity = RemoveItem = _not_faked

    async def GetCart(self, request: cart_pb2.GetCartRequest, context: Context) -> cart_pb2.Cart:
        return cart_pb2.Cart(
            user_id=request.user_id,
            items=[
                cart_pb2.CartItem(product_id=pid, quantity=quantity)
                for pid, quantity in self.carts.get(request.user_id, [])
            ],
        )

    async def ClearCart(
        self, request: cart_pb2.ClearCartRequest, context: Context
    ) -> empty_pb2.Empty:
        self.cleared_by.append(current_identity().subject)
        self.carts.pop(request.user_id, None)
        return empty_pb2.Empty()


@dataclass
class FakePayment(payment_pb2_grpc.PaymentServiceServicer):
    """Behaves like the sandbox provider behind an idempotency-keyed ledger."""

    slow_seconds: float = 1.5
    payments: dict[str, payment_pb2.Payment] = field(default_factory=dict)
    running: dict[str, asyncio.Task[payment_pb2.Payment]] = field(default_factory=dict)
    provider_charges: Counter[str] = field(default_factory=Counter)
    charge_calls: Counter[str] = field(default_factory=Counter)
    refunds: Counter[str] = field(default_factory=Counter)

    GetPayment = _not_faked

    async def Charge(
        self, request: payment_pb2.ChargeRequest, context: Context
    ) -> payment_pb2.Payment:
        self.charge_calls[request.idempotency_key] += 1
        key = request.idempotency_key
        if key in self.payments:
            return self.payments[key]
        if key not in self.running:
            # Runs on even when this try's caller gives up, like a real provider call.
            self.running[key] = asyncio.create_task(self._charge(request))
        return await asyncio.shield(self.running[key])

    async def _charge(self, request: payment_pb2.ChargeRequest) -> payment_pb2.Payment:
        self.provider_charges[request.idempotency_key] += 1
        payment = payment_pb2.Payment(
            id=f"pay_{uuid.uuid4().hex[:12]}",
            order_id=request.order_id,
            user_id=request.user_id,
            amount=request.amount,
            status=payment_pb2.PAYMENT_STATUS_SUCCEEDED,
        )
        if request.payment_token == "tok_slow":
            await asyncio.sleep(self.slow_seconds)
        elif request.payment_token == "tok_chargeDeclined":
            payment.status = payment_pb2.PAYMENT_STATUS_FAILED
            payment.failure_code = payment_pb2.FAILURE_CODE_CARD_DECLINED
            payment.failure_message = "Your card was declined."
        self.payments[request.idempotency_key] = payment
        return payment

    async def Refund(
        self, request: payment_pb2.RefundRequest, context: Context
    ) -> payment_pb2.Payment:
        self.refunds[request.idempotency_key] += 1
        (payment,) = [p for p in self.payments.values() if p.id == request.payment_id]
        payment.status = payment_pb2.PAYMENT_STATUS_REFUNDED
        payment.refunded_amount.CopyFrom(payment.amount)
        return payment

    def charges_for(self, order_id: str) -> int:
        return self.provider_charges[order_id]


# -- serving ------------------------------------------------------------------------------


def fake_spec(name: str, full_name: str, register: Any) -> ServiceSpec:
    return ServiceSpec(name=name, services=[full_name], register=[register])


@dataclass
class Downstream:
    catalog: FakeCatalog
    cart: FakeCart
    payment: FakePayment
    addresses: dict[str, str]


@asynccontextmanager
async def fake_downstream(keys: TokenKeys) -> AsyncIterator[Downstream]:
    catalog, cart, payment = FakeCatalog(), FakeCart(), FakePayment()
    specs = {
        "CATALOG": fake_spec(
            "catalog",
            "shop.catalog.v1.CatalogService",
            lambda s: catalog_pb2_grpc.add_CatalogServiceServicer_to_server(catalog, s),
        ),
        "CART": fake_spec(
            "cart",
            "shop.cart.v1.CartService",
            lambda s: cart_pb2_grpc.add_CartServiceServicer_to_server(cart, s),
        ),
        "PAYMENT": fake_spec(
            "payment",
            "shop.payment.v1.PaymentService",
            lambda s: payment_pb2_grpc.add_PaymentServiceServicer_to_server(payment, s),
        ),
    }
    async with (
        serving(specs["CATALOG"], keys) as catalog_server,
        serving(specs["CART"], keys) as cart_server,
        serving(specs["PAYMENT"], keys) as payment_server,
    ):
        yield Downstream(
            catalog,
            cart,
            payment,
            {
                "CATALOG_SERVICE_ADDR": catalog_server.address,
                "CART_SERVICE_ADDR": cart_server.address,
                "PAYMENT_SERVICE_ADDR": payment_server.address,
            },
        )


@asynccontextmanager
async def order_service(
    environ: Mapping[str, str], keys: TokenKeys, faults: FaultHook = no_faults
) -> AsyncIterator[Running]:
    """A fresh order service instance; `faults` stops its sagas at chosen checkpoints."""
    async with run_service(
        "order",
        functools.partial(build, faults=faults),
        environ,
        keys,
        service_subject="service:order",
    ) as running:
        yield running
        # Stop only once the relay published what was committed, so tests can count events.
        await outbox_drained(environ["DATABASE_URL"])


# -- Kafka -------------------------------------------------------------------------------


async def outbox_drained(dsn: str, timeout_seconds: float = 20.0) -> None:
    """Wait until the relay has published every event the order service committed."""
    conn = await asyncpg.connect(dsn)
    try:
        async with asyncio.timeout(timeout_seconds):
            while await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"):
                await asyncio.sleep(0.1)
    finally:
        await conn.close()


async def order_events(bootstrap: str, order_id: str, settle_seconds: float = 2.0) -> list[str]:
    """Payload names of every event on shop.order.events for `order_id`, in order.

    Reads the topic from the beginning until nothing new arrives for `settle_seconds`, so
    a duplicate published late would still be counted.
    """
    consumer = AIOKafkaConsumer(
        "shop.order.events",
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[str] = []
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=int(settle_seconds * 1000))
            if not batch:
                return found
            for records in batch.values():
                for record in records:
                    event = events_pb2.Event.FromString(record.value)
                    if event.aggregate_id == order_id:
                        found.append(str(event.WhichOneof("payload")))
    finally:
        await consumer.stop()


def bearer(token: str, idempotency_key: str | None = None) -> tuple[tuple[str, str], ...]:
    metadata = [("authorization", f"Bearer {token}")]
    if idempotency_key is not None:
        metadata.append(("idempotency-key", idempotency_key))
    return tuple(metadata)


@dataclass(frozen=True)
class ErrorDetails:
    reason: str
    field_violations: list[str]


def error_details(error: grpc.aio.AioRpcError) -> ErrorDetails:
    """ErrorInfo.reason and BadRequest fields from the rich status sent with the error."""
    raw = dict(error.trailing_metadata() or ()).get("grpc-status-details-bin")
    assert isinstance(raw, bytes), "the error carries no google.rpc.Status"
    status = status_pb2.Status.FromString(raw)
    reason, fields = "", []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields += [violation.field for violation in bad.field_violations]
    return ErrorDetails(reason, fields)
