"""The one place that assembles the analytics service."""

from __future__ import annotations

from shop.analytics.v1 import analytics_pb2, analytics_pb2_grpc

from mesh.bootstrap import Runtime
from mesh.clock import utc_today
from mesh.events import (
    EventConsumer,
    EventPublisher,
    HandlerDedupes,
    PostgresProcessedEvents,
    topic_for,
)
from mesh.postgres import open_pool, pool_probe
from mesh.server import ServiceSpec

from .adapters.events import AnalyticsEvents
from .adapters.metrics import BusinessMetrics
from .adapters.postgres import PostgresAnalyticsStore
from .service_layer.analytics import Analytics
from .servicer import AnalyticsServicer
from .settings import Settings

SERVICE_NAME = analytics_pb2.DESCRIPTOR.services_by_name["AnalyticsService"].full_name
TOPICS = [topic_for("order"), topic_for("payment"), topic_for("cart"), topic_for("product")]


async def build(runtime: Runtime) -> ServiceSpec:
    settings = Settings.from_env(runtime.environ)
    # Each resource goes on the runtime's cleanup stack as soon as it is open: a failed later
    # step closes it, and shutdown closes everything in reverse (Kafka, then the pool).
    pool = await open_pool(
        settings.database_url, package="services.analytics", max_size=settings.db_pool_max_size
    )
    runtime.cleanup.push_async_callback(pool.close)
    dead_letters = EventPublisher(
        settings.kafka_bootstrap_servers, client_id="analytics", security=settings.kafka_security
    )
    await dead_letters.start()
    runtime.cleanup.push_async_callback(dead_letters.stop)

    analytics = Analytics(
        PostgresAnalyticsStore(pool),
        PostgresProcessedEvents(pool),
        # On the registry the runtime's /metrics serves.
        BusinessMetrics(runtime.metrics_registry),
        utc_today,
        consumer=settings.consumer_group,
    )
    servicer = AnalyticsServicer(analytics)
    consumer = EventConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        security=settings.kafka_security,
        group_id=settings.consumer_group,
        topics=TOPICS,
        # Callable with a handle_batch: a partition's batch is recorded in one transaction.
        handler=AnalyticsEvents(analytics),
        processed=HandlerDedupes(),
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
    )
