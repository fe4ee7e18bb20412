"""Assembles the catalog service: settings in, store and relay built, servicer wired."""

from __future__ import annotations

from grpc import aio
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc

from mesh.bootstrap import Runtime
from mesh.events import EventConsumer, EventPublisher, InMemoryProcessedEvents, topic_for
from mesh.mongo import open_database
from mesh.server import ServiceSpec
from services.catalog.adapters.mongo import INDEXES, MongoCatalogStore
from services.catalog.events import PRODUCER, event_for
from services.catalog.outbox import OutboxRelay
from services.catalog.reviews import CONSUMER_GROUP, RatingUpdater
from services.catalog.service import CatalogService
from services.catalog.servicer import CatalogServicer
from services.catalog.settings import Settings

SERVICE_NAME = catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"].full_name


async def build(runtime: Runtime) -> ServiceSpec:
    settings = Settings.from_env(runtime.environ)
    mongo = await open_database(settings.mongodb_url, settings.database, INDEXES)
    store = MongoCatalogStore(
        mongo.db, encode_event=lambda change: event_for(change).SerializeToString()
    )
    publisher = EventPublisher(settings.kafka_bootstrap_servers, client_id=PRODUCER)
    await publisher.start()
    relay = OutboxRelay(store, publisher, poll_seconds=settings.outbox_poll_seconds)
    catalog = CatalogService(store)
    background = [relay.run]
    if settings.consume_review_events:
        ratings = EventConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=CONSUMER_GROUP,
            topics=[topic_for("review")],
            handler=RatingUpdater(catalog),
            # Applying a rating summary is idempotent by its version: no dedupe store needed.
            processed=InMemoryProcessedEvents(),
            dead_letters=publisher,
        )
        background.append(ratings.run)
    servicer = CatalogServicer(catalog)

    def register(server: aio.Server) -> None:
        catalog_pb2_grpc.add_CatalogServiceServicer_to_server(servicer, server)

    return ServiceSpec(
        name="catalog",
        services=[SERVICE_NAME],
        register=[register],
        probes={"mongodb": mongo.ping},
        background=background,
        cleanup=[mongo.close, publisher.stop],
    )
