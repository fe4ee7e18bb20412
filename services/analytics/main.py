"""The one place that assembles the analytics service."""

from __future__ import annotations

from datetime import UTC, date, datetime

import asyncpg
from shop.analytics.v1 import analytics_pb2, analytics_pb2_grpc

from mesh.bootstrap import Runtime
from mesh.events import (
    MIGRATIONS,
    EventConsumer,
    EventPublisher,
    PostgresProcessedEvents,
    topic_for,
)
from mesh.migrations import apply_migrations, load_migrations
from mesh.server import ServiceSpec
from services.analytics.adapters.postgres import PostgresAnalyticsStore
from services.analytics.analytics import Analytics, DedupedByHandler
from services.analytics.domain.metrics import BusinessMetrics
from services.analytics.servicer import AnalyticsServicer
from services.analytics.settings import Settings

SERVICE_NAME = analytics_pb2.DESCRIPTOR.services_by_name["AnalyticsService"].full_name
TOPICS = [topic_for("order"), topic_for("payment"), topic_for("cart"), topic_for("product")]


def utc_today() -> date:
    return datetime.now(UTC).date()


async def build(runtime: Runtime) -> ServiceSpec:
    settings = Settings.from_env(runtime.environ)
    pool = await asyncpg.create_pool(
        settings.database_url, min_size=1, max_size=settings.db_pool_max_size
    )
    async with pool.acquire() as conn:
        await apply_migrations(conn, [*MIGRATIONS, *load_migrations("services.analytics")])

    analytics = Analytics(
        PostgresAnalyticsStore(pool),
        PostgresProcessedEvents(pool),
        # On the registry the runtime's /metrics serves.
        BusinessMetrics(runtime.metrics_registry),
        utc_today,
        consumer=settings.consumer_group,
    )
    servicer = AnalyticsServicer(analytics)

    dead_letters = EventPublisher(settings.kafka_bootstrap_servers, client_id="analytics")
    await dead_letters.start()
    consumer = EventConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.consumer_group,
        topics=TOPICS,
        handler=analytics.handle_event,
        processed=DedupedByHandler(),
        dead_letters=dead_letters,
        tracer=runtime.tracer_provider.get_tracer("analytics"),
    )

    async def probe_database() -> None:
        await pool.fetchval("SELECT 1")

    return ServiceSpec(
        name="analytics",
        services=[SERVICE_NAME],
        register=[
            lambda server: analytics_pb2_grpc.add_AnalyticsServiceServicer_to_server(
                servicer, server
            )
        ],
        probes={"postgres": probe_database},
        background=[consumer.run],
        cleanup=[pool.close, dead_letters.stop],
    )
