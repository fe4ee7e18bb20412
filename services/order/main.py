"""The one place that assembles the order service."""

from __future__ import annotations

from shop.cart.v1 import cart_pb2_grpc
from shop.catalog.v1 import catalog_pb2_grpc
from shop.order.v1 import order_pb2, order_pb2_grpc
from shop.payment.v1 import payment_pb2_grpc

from mesh.bootstrap import Runtime
from mesh.clients import CallAs
from mesh.clock import utc_now
from mesh.events import EventPublisher, Outbox, OutboxRelay, new_event
from mesh.postgres import open_pool, pool_probe
from mesh.server import ServiceSpec

from .adapters.downstream import GrpcCart, GrpcCatalog, GrpcPayment
from .adapters.metrics import SagaMetrics
from .adapters.postgres import Connection, PostgresOrderStore
from .adapters.protos import event_payload
from .domain.model import OrderEvent
from .service_layer.orders import Orders
from .service_layer.recovery import SagaRecovery
from .service_layer.saga import FaultHook, SagaRunner, no_faults
from .servicer import OrderServicer
from .settings import Settings

SERVICE_NAME = order_pb2.DESCRIPTOR.services_by_name["OrderService"].full_name


async def build(runtime: Runtime, *, faults: FaultHook = no_faults) -> ServiceSpec:
    """`faults` lets crash tests stop the saga at a named step; production passes none."""
    settings = Settings.from_env(runtime.environ)
    # Each resource goes on the runtime's cleanup stack as soon as it is open: a failed later
    # step closes it, and shutdown closes everything in reverse (checkouts, Kafka, the pool).
    pool = await open_pool(
        settings.database_url,
        package="services.order",
        min_size=2,
        max_size=settings.db_pool_max_size,
    )
    runtime.cleanup.push_async_callback(pool.close)
    publisher = EventPublisher(
        settings.kafka_bootstrap_servers, client_id="order", security=settings.kafka_security
    )
    await publisher.start()
    runtime.cleanup.push_async_callback(publisher.stop)
    outbox = Outbox()

    async def add_to_outbox(conn: Connection, event: OrderEvent) -> None:
        envelope = new_event(
            event_payload(event),
            aggregate_type="order",
            aggregate_id=event.order.id,
            aggregate_version=event.order.version,
            producer="order",
            occurred_at=event.order.updated_at,
        )
        await outbox.add(conn, envelope)

    store = PostgresOrderStore(pool, add_to_outbox)
    channels = runtime.channels
    cart = GrpcCart(
        cart_pb2_grpc.CartServiceStub(channels.channel("cart")),
        cart_pb2_grpc.CartServiceStub(channels.channel("cart", call_as=CallAs.SERVICE)),
        settings.downstream,
    )
    catalog = GrpcCatalog(
        catalog_pb2_grpc.CatalogServiceStub(channels.channel("catalog")),
        catalog_pb2_grpc.CatalogServiceStub(channels.channel("catalog", call_as=CallAs.SERVICE)),
        settings.downstream,
    )
    payment = GrpcPayment(
        payment_pb2_grpc.PaymentServiceStub(channels.channel("payment", call_as=CallAs.SERVICE)),
        settings.payment,
    )
    metrics = SagaMetrics(runtime.metrics_registry)
    saga = SagaRunner(store, catalog, payment, cart, utc_now, settings.saga, faults, metrics)
    orders = Orders(store, cart, catalog, saga, settings.pricing, settings.currency, utc_now)
    # Let running checkouts reach a step before Kafka and the pool close.
    runtime.cleanup.push_async_callback(orders.drain, settings.drain_timeout_seconds)
    servicer = OrderServicer(orders)
    relay = OutboxRelay(pool, publisher)
    background = [relay.run]
    if settings.recovery_enabled:
        recovery = SagaRecovery(store, saga, utc_now, settings.recovery, metrics)
        background.append(recovery.run_forever)

    return ServiceSpec(
        name="order",
        services=[SERVICE_NAME],
        register=[
            lambda server: order_pb2_grpc.add_OrderServiceServicer_to_server(servicer, server)
        ],
        probes={"postgres": pool_probe(pool)},
        background=background,
    )
