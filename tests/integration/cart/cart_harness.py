"""A real cart server with a real catalog behind it: Valkey, FerretDB, Kafka, grpc.aio."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import grpc
from shop.cart.v1 import cart_pb2_grpc

from services.cart.main import build

from ..service_harness import Running, TokenKeys, run_service


@asynccontextmanager
async def cart_server(environ: Mapping[str, str], keys: TokenKeys) -> AsyncIterator[Running]:
    """A cart instance assembled by its own `build`."""
    async with run_service("cart", build, environ, keys) as running:
        yield running


def cart_environ(
    redis_url: str, kafka_bootstrap: str, catalog: Running, ttl_seconds: int = 3600
) -> dict[str, str]:
    return {
        "GRPC_PORT": "0",
        "REDIS_URL": redis_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "CATALOG_SERVICE_ADDR": catalog.address,
        "CART_TTL_SECONDS": str(ttl_seconds),
    }


def new_user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


@asynccontextmanager
async def cart_stub(address: str) -> AsyncIterator[cart_pb2_grpc.CartServiceAsyncStub]:
    async with grpc.aio.insecure_channel(address) as channel:
        yield cart_pb2_grpc.CartServiceStub(channel)
