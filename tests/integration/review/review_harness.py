"""Real review, catalog and search services for the integration tests.

FerretDB, Kafka and Elasticsearch come from the shared fixtures; every service runs in a
real grpc.aio server on port 0, assembled by its own `build`. The order and user services
are small fakes answering the two calls the review service makes (HasPurchased, GetUser).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
import jwt
from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from opentelemetry.sdk.trace import TracerProvider
from shop.catalog.v1 import catalog_pb2
from shop.common.v1 import common_pb2
from shop.order.v1 import order_pb2, order_pb2_grpc
from shop.user.v1 import user_pb2, user_pb2_grpc

from mesh import rbac
from mesh.auth.jwt import JwksCache, JwtVerifier
from mesh.auth.service_token import IssuedToken, ServiceTokenProvider
from mesh.bootstrap import Build, Runtime
from mesh.clients import ChannelFactory
from mesh.events import Event
from mesh.metrics import ServerMetrics
from mesh.server import ServiceSpec, create_server
from mesh.settings import RuntimeSettings

ISSUER = AUDIENCE = "shopmesh"
Context = grpc.aio.ServicerContext[Any, Any]
Metadata = tuple[tuple[str, str], ...]
T = TypeVar("T")


class TokenKeys:
    """Signs tokens like the user service would, and serves the JWKS to verify them."""

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = f"test-{uuid.uuid4().hex[:8]}"

    async def fetch_jwks(self) -> Sequence[Mapping[str, Any]]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        return [{**jwk, "kid": self._kid, "use": "sig", "alg": "RS256"}]

    def token(self, subject: str, *roles: str) -> str:
        now = int(time.time())
        claims = {
            "sub": subject,
            "roles": list(roles),
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 900,
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self._kid})

    def metadata(self, subject: str, *roles: str) -> Metadata:
        return (("authorization", f"Bearer {self.token(subject, *roles)}"),)

    def verifier(self) -> JwtVerifier:
        return JwtVerifier(JwksCache(self), issuer=ISSUER, audience=AUDIENCE)


class StaticIssuer:
    def __init__(self, token: str) -> None:
        self._token = token

    async def issue(self) -> IssuedToken:
        return IssuedToken(self._token, 900.0)


@dataclass(frozen=True)
class Running:
    port: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@asynccontextmanager
async def run_service(
    name: str, build: Build, environ: Mapping[str, str], keys: TokenKeys
) -> AsyncIterator[Running]:
    """A service assembled by its own `build`, on a real server with the runtime's
    interceptors; its outgoing calls without a caller carry its service token."""
    settings = RuntimeSettings.from_env(name, environ)
    issuer = StaticIssuer(keys.token(f"service:{name}", rbac.SERVICE))
    channels = ChannelFactory(settings.clients, service_tokens=ServiceTokenProvider(issuer))
    try:
        spec = await build(Runtime(settings, environ, channels, TracerProvider()))
        async with _serving(spec, keys) as running:
            yield running
    finally:
        await channels.close()


@asynccontextmanager
async def _serving(spec: ServiceSpec, keys: TokenKeys) -> AsyncIterator[Running]:
    server, port = create_server(spec, verifier=keys.verifier(), metrics=ServerMetrics())
    await server.start()
    tasks = [asyncio.ensure_future(task()) for task in spec.background]
    try:
        yield Running(port)
    finally:
        await server.stop(0)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for cleanup in reversed(spec.cleanup):
            await cleanup()


# -- fakes of the order and user services -------------------------------------------------


async def _unimplemented(self: object, request: object, context: Context) -> None:
    await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not part of the review tests' fake")


# Typed Any: stands in for the methods the fakes do not need.
_not_faked: Any = _unimplemented


@dataclass
class FakeOrders(order_pb2_grpc.OrderServiceServicer):
    purchases: set[tuple[str, str]] = field(default_factory=set)
    # The roles of each HasPurchased caller: the review service must call as itself.
    caller_roles: list[str] = field(default_factory=list)

    PlaceOrder = GetOrder = ListOrders = CancelOrder = _not_faked

    async def HasPurchased(
        self, request: order_pb2.HasPurchasedRequest, context: Context
    ) -> order_pb2.HasPurchasedResponse:
        metadata = dict(context.invocation_metadata() or ())
        token = str(metadata.get("authorization", "")).removeprefix("Bearer ")
        claims = jwt.decode(token, options={"verify_signature": False}) if token else {}
        self.caller_roles += claims.get("roles", [])
        bought = (request.user_id, request.product_id) in self.purchases
        return order_pb2.HasPurchasedResponse(
            purchased=bought, order_id="order-1" if bought else ""
        )


class FakeUsers(user_pb2_grpc.UserServiceServicer):
    Register = Login = RefreshToken = Logout = UpdateUser = ListUsers = _not_faked
    GetJwks = IssueServiceToken = _not_faked

    async def GetUser(self, request: user_pb2.GetUserRequest, context: Context) -> user_pb2.User:
        return user_pb2.User(id=request.id, display_name=f"Shopper {request.id}")


@asynccontextmanager
async def fake_upstreams(orders: FakeOrders) -> AsyncIterator[Running]:
    server = grpc.aio.server()
    order_pb2_grpc.add_OrderServiceServicer_to_server(orders, server)
    user_pb2_grpc.add_UserServiceServicer_to_server(FakeUsers(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield Running(port)
    finally:
        await server.stop(0)


# -- environments -------------------------------------------------------------------------


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def catalog_environ(mongodb_url: str, kafka: str) -> dict[str, str]:
    return {
        "GRPC_PORT": "0",
        "MONGODB_URL": mongodb_url,
        "CATALOG_MONGODB_DATABASE": unique("catalog"),
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "CATALOG_OUTBOX_POLL_SECONDS": "0.05",
    }


def review_environ(mongodb_url: str, kafka: str, *, catalog: str, upstreams: str) -> dict[str, str]:
    return {
        "GRPC_PORT": "0",
        "MONGODB_URL": mongodb_url,
        "REVIEW_MONGODB_DATABASE": unique("review"),
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "REVIEW_OUTBOX_POLL_SECONDS": "0.05",
        "CATALOG_SERVICE_ADDR": catalog,
        "ORDER_SERVICE_ADDR": upstreams,
        "USER_SERVICE_ADDR": upstreams,
    }


def search_environ(elasticsearch_url: str, kafka: str, *, catalog: str) -> dict[str, str]:
    return {
        "GRPC_PORT": "0",
        "ELASTICSEARCH_URL": elasticsearch_url,
        "SEARCH_INDEX_ALIAS": unique("products"),
        "SEARCH_CONSUMER_GROUP": unique("search"),
        "SEARCH_REINDEX_GRACE_SECONDS": "0.5",
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "CATALOG_SERVICE_ADDR": catalog,
    }


# -- helpers ------------------------------------------------------------------------------


def usd(minor: int) -> common_pb2.Money:
    return common_pb2.Money(currency_code="USD", units=minor // 100, nanos=minor % 100 * 10**7)


def new_product(
    name: str,
    *,
    price: int = 1299,
    category: str = "kitchen",
    inventory: int = 10,
    description: str = "",
) -> catalog_pb2.CreateProductRequest:
    return catalog_pb2.CreateProductRequest(
        product=catalog_pb2.Product(
            name=name,
            description=description,
            price=usd(price),
            category=category,
            inventory=inventory,
        )
    )


async def eventually(
    probe: Callable[[], Awaitable[T]],
    accept: Callable[[T], bool],
    *,
    timeout: float = 15.0,
    interval: float = 0.2,
) -> T:
    """Polls `probe` until `accept` holds for its result; fails with the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if accept(result):
            return result
        assert time.monotonic() < deadline, f"still not there after {timeout}s: {result}"
        await asyncio.sleep(interval)


async def read_events(
    bootstrap: str,
    topic: str,
    aggregate_id: str,
    until: Callable[[list[Event]], bool],
    *,
    timeout: float = 30.0,
) -> list[Event]:
    """The events of one aggregate on `topic`, read from the beginning until `until` holds."""
    consumer: Any = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        metadata_max_age_ms=500,
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        events: list[Event] = []
        while not until(events):
            assert time.monotonic() < deadline, f"gave up with {len(events)} events"
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    event = Event.FromString(record.value)
                    if event.aggregate_id == aggregate_id:
                        events.append(event)
        return events
    finally:
        await consumer.stop()
