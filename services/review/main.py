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
from mesh.mongo import open_database
from mesh.server import ServiceSpec
from services.review.adapters.mongo import INDEXES, MongoReviewStore
from services.review.adapters.upstream import CatalogProducts, OrderPurchases, UserProfiles
from services.review.events import PRODUCER, event_for
from services.review.outbox import CountingRepair, OutboxRelay
from services.review.service import ReviewService
from services.review.servicer import ReviewServicer
from services.review.settings import Settings

SERVICE_NAME = review_pb2.DESCRIPTOR.services_by_name["ReviewService"].full_name


async def build(runtime: Runtime) -> ServiceSpec:
    settings = Settings.from_env(runtime.environ)
    mongo = await open_database(settings.mongodb_url, settings.database, INDEXES)
    store = MongoReviewStore(
        mongo.db, encode_event=lambda change: event_for(change).SerializeToString()
    )
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
    publisher = EventPublisher(settings.kafka_bootstrap_servers, client_id=PRODUCER)
    await publisher.start()
    relay = OutboxRelay(store, publisher, poll_seconds=settings.outbox_poll_seconds)
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
        cleanup=[mongo.close, publisher.stop],
    )
