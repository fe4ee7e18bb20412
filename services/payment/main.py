"""The one place that assembles the payment service."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
from shop.payment.v1 import payment_pb2, payment_pb2_grpc

from mesh.bootstrap import Runtime
from mesh.events import MIGRATIONS, EventPublisher, Outbox, OutboxRelay
from mesh.migrations import apply_migrations, load_migrations
from mesh.server import ServiceSpec
from services.payment.adapters.postgres import PostgresPaymentStore
from services.payment.adapters.sandbox import SandboxProvider
from services.payment.domain.provider import PaymentProvider
from services.payment.events import PRODUCER, OutboxEvents
from services.payment.payments import Payments
from services.payment.servicer import PaymentServicer
from services.payment.settings import Settings

SERVICE_NAME = payment_pb2.DESCRIPTOR.services_by_name["PaymentService"].full_name


def utc_now() -> datetime:
    return datetime.now(UTC)


async def build(runtime: Runtime, *, provider: PaymentProvider | None = None) -> ServiceSpec:
    """`provider` replaces the configured processor (tests count its calls)."""
    settings = Settings.from_env(runtime.environ)
    pool = await asyncpg.create_pool(
        settings.database_url, min_size=1, max_size=settings.db_pool_max_size
    )
    async with pool.acquire() as conn:
        await apply_migrations(conn, [*MIGRATIONS, *load_migrations("services.payment")])

    publisher = EventPublisher(settings.kafka_bootstrap_servers, client_id=PRODUCER)
    await publisher.start()
    payments = Payments(
        PostgresPaymentStore(pool, OutboxEvents(Outbox())),
        provider or SandboxProvider(settings.sandbox),
        utc_now,
        settings.provider_timeout_seconds,
    )
    servicer = PaymentServicer(payments)

    async def probe_database() -> None:
        await pool.fetchval("SELECT 1")

    return ServiceSpec(
        name="payment",
        services=[SERVICE_NAME],
        register=[
            lambda server: payment_pb2_grpc.add_PaymentServiceServicer_to_server(servicer, server)
        ],
        probes={"postgres": probe_database},
        background=[OutboxRelay(pool, publisher).run],
        # Reverse order: let charges already at the processor be recorded, then stop Kafka,
        # then close the pool.
        cleanup=[pool.close, publisher.stop, payments.close],
    )
