"""Assembles the cart service: settings in, Redis store and catalog client built, servicer wired."""

from __future__ import annotations

from grpc import aio
from redis.asyncio import Redis
from shop.cart.v1 import cart_pb2, cart_pb2_grpc
from shop.catalog.v1 import catalog_pb2_grpc

from mesh.bootstrap import Runtime
from mesh.events import EventPublisher
from mesh.server import ServiceSpec
from services.cart.adapters.catalog_client import GrpcProductCatalog
from services.cart.adapters.redis_store import RedisCartStore
from services.cart.events import PRODUCER
from services.cart.outbox import OutboxRelay
from services.cart.service import CartService
from services.cart.servicer import CartServicer
from services.cart.settings import Settings

SERVICE_NAME = cart_pb2.DESCRIPTOR.services_by_name["CartService"].full_name


async def build(runtime: Runtime) -> ServiceSpec:
    settings = Settings.from_env(runtime.environ)
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    store = RedisCartStore(redis, ttl_seconds=settings.cart_ttl_seconds)
    await store.create_outbox_group()
    catalog = GrpcProductCatalog(
        catalog_pb2_grpc.CatalogServiceStub(runtime.channels.channel("catalog"))
    )
    publisher = EventPublisher(settings.kafka_bootstrap_servers, client_id=PRODUCER)
    await publisher.start()
    relay = OutboxRelay(store, publisher)
    servicer = CartServicer(CartService(store, catalog, settings.default_currency))

    def register(server: aio.Server) -> None:
        cart_pb2_grpc.add_CartServiceServicer_to_server(servicer, server)

    async def ping_redis() -> None:
        await redis.ping()

    return ServiceSpec(
        name="cart",
        services=[SERVICE_NAME],
        register=[register],
        probes={"redis": ping_redis},
        background=[relay.run],
        cleanup=[redis.aclose, publisher.stop],
    )
