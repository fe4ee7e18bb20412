"""Real catalog servers for the integration tests: FerretDB, Kafka, grpc.aio on port 0."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import grpc
from shop.catalog.v1 import catalog_pb2, catalog_pb2_grpc

from services.catalog.main import build

from ..service_harness import Running, TokenKeys, run_service, usd


@asynccontextmanager
async def catalog_server(environ: Mapping[str, str], keys: TokenKeys) -> AsyncIterator[Running]:
    """A catalog instance assembled by its own `build`."""
    async with run_service("catalog", build, environ, keys) as running:
        yield running


def catalog_environ(
    ferretdb_url: str, kafka_bootstrap: str, redis_url: str | None = None
) -> dict[str, str]:
    """A fresh database per test, so tests never see each other's products; with
    `redis_url`, the read cache in front of it (its keys are per database)."""
    environ = {
        "GRPC_PORT": "0",
        "MONGODB_URL": ferretdb_url,
        "CATALOG_MONGODB_DATABASE": f"catalog_{uuid.uuid4().hex[:10]}",
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "CATALOG_OUTBOX_POLL_SECONDS": "1",
        # Only the ratings test consumes review events: a consumer stopped while it is still
        # joining its group is not closed by the runtime yet (reported as a ResourceWarning).
        "CATALOG_CONSUME_REVIEW_EVENTS": "false",
    }
    if redis_url:
        environ["REDIS_URL"] = redis_url
    return environ


@asynccontextmanager
async def catalog_stub(address: str) -> AsyncIterator[catalog_pb2_grpc.CatalogServiceAsyncStub]:
    async with grpc.aio.insecure_channel(address) as channel:
        yield catalog_pb2_grpc.CatalogServiceStub(channel)


def new_product(
    name: str = "Mug", inventory: int = 10, category: str = "kitchen", price: int = 1299
) -> catalog_pb2.CreateProductRequest:
    return catalog_pb2.CreateProductRequest(
        product=catalog_pb2.Product(
            name=name, price=usd(price), category=category, inventory=inventory
        )
    )
