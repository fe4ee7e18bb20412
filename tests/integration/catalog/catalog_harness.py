"""Real catalog servers for the integration tests: FerretDB, Kafka, grpc.aio on port 0."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import grpc
import jwt
from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from opentelemetry.sdk.trace import TracerProvider
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shop.common.v1 import common_pb2

from mesh.auth.jwt import JwksCache, JwtVerifier
from mesh.bootstrap import Runtime
from mesh.clients import ChannelFactory
from mesh.events import Event
from mesh.metrics import ServerMetrics
from mesh.server import ServiceSpec, create_server
from mesh.settings import RuntimeSettings
from services.catalog.main import build

ISSUER = AUDIENCE = "shopmesh"


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

    def metadata(self, subject: str, *roles: str) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token(subject, *roles)}"),)

    def verifier(self) -> JwtVerifier:
        return JwtVerifier(JwksCache(self), issuer=ISSUER, audience=AUDIENCE)


@dataclass(frozen=True)
class Running:
    port: int

    @property
    def address(self) -> str:
        return f"localhost:{self.port}"


@asynccontextmanager
async def serving(spec: ServiceSpec, keys: TokenKeys) -> AsyncIterator[Running]:
    """The spec on a real grpc.aio server (port 0) with the runtime's interceptors."""
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


@asynccontextmanager
async def catalog_server(environ: Mapping[str, str], keys: TokenKeys) -> AsyncIterator[Running]:
    """A catalog instance assembled by its own `build`."""
    settings = RuntimeSettings.from_env("catalog", environ)
    channels = ChannelFactory(settings.clients)
    try:
        spec = await build(Runtime(settings, environ, channels, TracerProvider()))
        async with serving(spec, keys) as running:
            yield running
    finally:
        await channels.close()


def catalog_environ(mongodb_url: str, kafka_bootstrap: str) -> dict[str, str]:
    """A fresh database per test, so tests never see each other's products."""
    return {
        "GRPC_PORT": "0",
        "MONGODB_URL": mongodb_url,
        "CATALOG_MONGODB_DATABASE": f"catalog_{uuid.uuid4().hex[:10]}",
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "CATALOG_OUTBOX_POLL_SECONDS": "0.05",
        # Only the ratings test consumes review events: a consumer stopped while it is still
        # joining its group is not closed by the runtime yet (reported as a ResourceWarning).
        "CATALOG_CONSUME_REVIEW_EVENTS": "false",
    }


@asynccontextmanager
async def catalog_stub(address: str) -> AsyncIterator[catalog_pb2_grpc.CatalogServiceAsyncStub]:
    async with grpc.aio.insecure_channel(address) as channel:
        yield catalog_pb2_grpc.CatalogServiceStub(channel)


def usd(minor: int) -> common_pb2.Money:
    return common_pb2.Money(currency_code="USD", units=minor // 100, nanos=minor % 100 * 10**7)


def new_product(
    name: str = "Mug", inventory: int = 10, category: str = "kitchen", price: int = 1299
) -> catalog_pb2.CreateProductRequest:
    return catalog_pb2.CreateProductRequest(
        product=catalog_pb2.Product(
            name=name, price=usd(price), category=category, inventory=inventory
        )
    )


async def product_events(
    bootstrap: str,
    product_id: str,
    until: Callable[[list[Event]], bool],
    *,
    timeout: float = 30.0,
    topic: str = "shop.product.events",
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
                    if event.aggregate_id == product_id:
                        events.append(event)
        return events
    finally:
        await consumer.stop()
