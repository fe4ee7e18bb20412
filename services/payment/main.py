"""The one place that assembles the payment service."""

from __future__ import annotations

from shop.payment.v1 import payment_pb2, payment_pb2_grpc

from mesh.bootstrap import Runtime
from mesh.clock import utc_now
from mesh.events import EventPublisher, Outbox, OutboxRelay
from mesh.postgres import open_pool, pool_probe
from mesh.server import ServiceSpec

from .adapters.events import PRODUCER, OutboxEvents
from .adapters.postgres import PostgresPaymentStore
from .adapters.sandbox import SandboxProvider
from .service_layer.payments import Payments
from .service_layer.ports import PaymentProvider
from .servicer import PaymentServicer
from .settings import Settings

SERVICE_NAME = payment_pb2.DESCRIPTOR.services_by_name["PaymentService"].full_name


async def build(runtime: Runtime, *, provider: PaymentProvider | None = None) -> ServiceSpec:
    """`provider` replaces the configured processor (tests count its calls)."""
    settings = Settings.from_env(runtime.environ)
    pool = await open_pool(
        settings.database_url, package="services.payment", max_size=settings.db_pool_max_size
    )
    runtime.cleanup.push_async_callback(pool.close)
    publisher = EventPublisher(
        settings.kafka_bootstrap_servers, client_id=PRODUCER, security=settings.kafka_security
    )
    await publisher.start()
    runtime.cleanup.push_async_callback(publisher.stop)
    payments = Payments(
        PostgresPaymentStore(pool, OutboxEvents(Outbox())),
        provider or SandboxProvider(settings.sandbox),
        utc_now,
        settings.provider_timeout_seconds,
    )
    # Closed first at shutdown: charges already at the processor are recorded before Kafka
    # stops and the pool closes.
    runtime.cleanup.push_async_callback(payments.close)
    servicer = PaymentServicer(payments)

    return ServiceSpec(
        name="payment",
        services=[SERVICE_NAME],
        register=[
            lambda server: payment_pb2_grpc.add_PaymentServiceServicer_to_server(servicer, server)
        ],
        probes={"postgres": pool_probe(pool)},
        background=[OutboxRelay(pool, publisher).run],
    )
