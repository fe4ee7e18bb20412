"""The one place that assembles the analytics service."""

from __future__ import annotations

from datetime import UTC, date, datetime

from shop.analytics.v1 import analytics_pb2, analytics_pb2_grpc

from mesh.bootstrap import Runtime
from mesh.events import (
    EventConsumer,
    EventPublisher,
    PostgresProcessedEvents,
    topic_for,
)
from mesh.postgres import open_pool, pool_probe
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
    pool = await open_pool(
        settings.database_url, package="services.analytics", max_size=settings.db_pool_max_size
    )

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

    return ServiceSpec(
        name="analytics",
        services=[SERVICE_NAME],
        register=[
            lambda server: analytics_pb2_grpc.add_AnalyticsServiceServicer_to_server(
                servicer, server
            )
        ],
        probes={"postgres": pool_probe(pool)},
        background=[consumer.run],
        cleanup=[pool.close, dead_letters.stop],
    )
