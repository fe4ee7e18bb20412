"""Assembles the review service: settings in, store, upstreams and relay built, servicer wired."""

from __future__ import annotations

from datetime import timedelta

from grpc import aio
from shop.catalog.v1 import catalog_pb2_grpc
from shop.order.v1 import order_pb2_grpc
from shop.review.v1 import review_pb2, review_pb2_grpc
from shop.user.v1 import user_pb2_grpc

from mesh.bootstrap import Runtime
from mesh.clients import CallAs
from mesh.events import EventPublisher
from mesh.mongo import MongoOutboxRelay, open_database
from mesh.server import ServiceSpec

from .adapters.events import PRODUCER, encode_event
from .adapters.mongo import INDEXES, MongoReviewStore, review_outbox
from .adapters.upstream import CatalogProducts, OrderPurchases, UserProfiles
from .service_layer.repair import CountingRepair
from .service_layer.reviews import ReviewService
from .servicer import ReviewServicer
from .settings import Settings

SERVICE_NAME = review_pb2.DESCRIPTOR.services_by_name["ReviewService"].full_name


async def build(runtime: Runtime) -> ServiceSpec:
    settings = Settings.from_env(runtime.environ)
    # Each resource goes on the runtime's cleanup stack as soon as it is open: a failed later
    # step closes it, and shutdown closes everything in reverse (Kafka, then the database).
    mongo = await open_database(settings.mongodb_url, settings.database, INDEXES)
    runtime.cleanup.push_async_callback(mongo.close)
    publisher = EventPublisher(
        settings.kafka_bootstrap_servers, client_id=PRODUCER, security=settings.kafka_security
    )
    await publisher.start()
    runtime.cleanup.push_async_callback(publisher.stop)
    outbox = review_outbox(mongo.db)
    store = MongoReviewStore(mongo.db, outbox, encode_event)
    channels = runtime.channels
    reviews = ReviewService(
        store,
        products=CatalogProducts(catalog_pb2_grpc.CatalogServiceStub(channels.channel("catalog"))),
        # HasPurchased is internal: only the service's own token passes.
        purchases=OrderPurchases(
            order_pb2_grpc.OrderServiceStub(channels.channel("order", call_as=CallAs.SERVICE))
        ),
        profiles=UserProfiles(user_pb2_grpc.UserServiceStub(channels.channel("user"))),
    )
    relay = MongoOutboxRelay(
        outbox,
        publisher,
        what="review events",
        before_publish=store.remove_uncounted,
        safety_poll_seconds=settings.outbox_poll_seconds,
    )
    repair = CountingRepair(reviews, grace=timedelta(seconds=settings.repair_after_seconds))
    servicer = ReviewServicer(reviews)

    def register(server: aio.Server) -> None:
        review_pb2_grpc.add_ReviewServiceServicer_to_server(servicer, server)

    return ServiceSpec(
        name="review",
        services=[SERVICE_NAME],
        register=[register],
        probes={"mongodb": mongo.ping},
        background=[relay.run, repair.run],
    )
