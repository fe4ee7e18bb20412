"""Assembles the catalog service: settings in, store, cache and relay built, servicer wired."""

from __future__ import annotations

from collections.abc import Sequence

from grpc import aio
from redis.asyncio import Redis
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc

from mesh.bootstrap import Runtime
from mesh.events import EventConsumer, EventPublisher, HandlerDedupes, topic_for
from mesh.mongo import MongoOutboxRelay, PendingEvent, open_database
from mesh.server import ServiceSpec

from .adapters.cache import CachedCatalogStore, CacheMetrics, RedisLayer
from .adapters.events import PRODUCER, encode_event
from .adapters.mongo import INDEXES, MongoCatalogStore, catalog_outbox
from .adapters.protos import ProductMessages
from .adapters.review_events import CONSUMER_GROUP, RatingUpdater
from .service_layer.catalog import CatalogService
from .service_layer.ports import CatalogStore
from .servicer import CatalogServicer
from .settings import Settings

SERVICE_NAME = catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"].full_name


async def build(runtime: Runtime) -> ServiceSpec:
    settings = Settings.from_env(runtime.environ)
    # Each resource goes on the runtime's cleanup stack as soon as it is open: a failed later
    # step closes it, and shutdown closes everything in reverse (Redis, Kafka, the database).
    mongo = await open_database(settings.mongodb_url, settings.database, INDEXES)
    runtime.cleanup.push_async_callback(mongo.close)
    publisher = EventPublisher(
        settings.kafka_bootstrap_servers, client_id=PRODUCER, security=settings.kafka_security
    )
    await publisher.start()
    runtime.cleanup.push_async_callback(publisher.stop)
    outbox = catalog_outbox(mongo.db)
    mongo_store = MongoCatalogStore(mongo.db, outbox, encode_event)
    store: CatalogStore = mongo_store
    cached: CachedCatalogStore | None = None
    if settings.redis_url:
        # Short timeouts: a slow or absent Redis must cost a read little before it falls
        # back to the store.
        redis = Redis.from_url(settings.redis_url, socket_timeout=0.25, socket_connect_timeout=0.25)
        runtime.cleanup.push_async_callback(redis.aclose)
        metrics = CacheMetrics(runtime.metrics_registry)
        cached = CachedCatalogStore(
            mongo_store,
            RedisLayer(redis, metrics),
            metrics,
            namespace=f"catalog:{settings.database}",
            ttl_seconds=settings.cache_ttl_seconds,
            local_seconds=settings.cache_local_seconds,
        )
        store = cached

    async def before_publish(batch: Sequence[PendingEvent]) -> None:
        """A consumer that reads the product back sees at least the event's version."""
        newest: dict[str, int] = {}
        for pending in batch:
            newest[pending.stream] = max(newest.get(pending.stream, 0), pending.seq)
        for product_id, version in newest.items():
            product = await mongo_store.catch_up(product_id, version)
            if cached is not None:
                await cached.refresh(product, product_id)

    relay = MongoOutboxRelay(
        outbox,
        publisher,
        what="product events",
        before_publish=before_publish,
        safety_poll_seconds=settings.outbox_poll_seconds,
    )
    catalog = CatalogService(store)
    background = [relay.run]
    if settings.consume_review_events:
        ratings = EventConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            security=settings.kafka_security,
            group_id=CONSUMER_GROUP,
            topics=[topic_for("review")],
            handler=RatingUpdater(catalog),
            # Applying a rating summary is idempotent by its version: no dedupe store needed.
            processed=HandlerDedupes(),
            dead_letters=publisher,
        )
        background.append(ratings.run)
    servicer = CatalogServicer(catalog, ProductMessages())

    def register(server: aio.Server) -> None:
        catalog_pb2_grpc.add_CatalogServiceServicer_to_server(servicer, server)

    return ServiceSpec(
        name="catalog",
        services=[SERVICE_NAME],
        register=[register],
        probes={"mongodb": mongo.ping},
        background=background,
    )
