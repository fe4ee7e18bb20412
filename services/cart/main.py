"""The one place that assembles the cart service."""

from __future__ import annotations

from grpc import aio
from redis.asyncio import Redis
from shop.cart.v1 import cart_pb2, cart_pb2_grpc
from shop.catalog.v1 import catalog_pb2_grpc

from mesh.bootstrap import Runtime
from mesh.events import EventPublisher
from mesh.server import ServiceSpec

from .adapters.catalog import GrpcProductCatalog
from .adapters.events import PRODUCER
from .adapters.outbox import OutboxRelay
from .adapters.redis_store import RedisCartStore
from .service_layer.carts import CartService
from .servicer import CartServicer
from .settings import Settings

SERVICE_NAME = cart_pb2.DESCRIPTOR.services_by_name["CartService"].full_name


async def build(runtime: Runtime) -> ServiceSpec:
    settings = Settings.from_env(runtime.environ)
    # Each resource goes on the runtime's cleanup stack as soon as it is open: a failed later
    # step closes it, and shutdown closes everything in reverse (Kafka, then Redis).
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    runtime.cleanup.push_async_callback(redis.aclose)
    store = RedisCartStore(redis, ttl_seconds=settings.cart_ttl_seconds)
    await store.create_outbox_group()
    publisher = EventPublisher(
        settings.kafka_bootstrap_servers, client_id=PRODUCER, security=settings.kafka_security
    )
    await publisher.start()
    runtime.cleanup.push_async_callback(publisher.stop)
    catalog = GrpcProductCatalog(
        catalog_pb2_grpc.CatalogServiceStub(runtime.channels.channel("catalog"))
    )
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
    )
