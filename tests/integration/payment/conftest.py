"""A real payment service and the real user service that signs its callers' tokens, both
assembled by their own `build` and run by the whole runtime, on PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from grpc import aio

from mesh.bootstrap import Build, Serving, serve
from mesh.platform.testing import DatabaseFactory
from mesh.settings import RuntimeSettings
from services.payment.adapters.sandbox import SandboxLatency, SandboxProvider
from services.payment.domain.provider import ChargeOutcome, ProviderCharge, ProviderRefund
from services.payment.main import build as build_payment
from services.user.main import build as build_user

ORDER_SECRET = "order-client-secret"


@dataclass(frozen=True)
class Running:
    port: int
    channel: aio.Channel
    environ: Mapping[str, str]

    @property
    def address(self) -> str:
        return f"localhost:{self.port}"


@dataclass
class CountingProvider:
    """The sandbox processor, counting the calls the payment service makes to it."""

    sandbox: SandboxProvider
    charges: list[ProviderCharge] = field(default_factory=list)
    refunds: list[ProviderRefund] = field(default_factory=list)

    async def charge(self, charge: ProviderCharge) -> ChargeOutcome:
        self.charges.append(charge)
        return await self.sandbox.charge(charge)

    async def refund(self, refund: ProviderRefund) -> str:
        self.refunds.append(refund)
        return await self.sandbox.refund(refund)

    def charges_for(self, key: str) -> int:
        return sum(1 for charge in self.charges if charge.idempotency_key == key)


@asynccontextmanager
async def service_running(
    name: str, build: Build, environ: Mapping[str, str]
) -> AsyncIterator[Running]:
    """`serve` as in production (health, metrics, interceptors, background tasks) on port 0."""
    stop = asyncio.Event()
    serving: asyncio.Future[Serving] = asyncio.get_running_loop().create_future()
    settings = RuntimeSettings.from_env(name, environ)
    task = asyncio.create_task(
        serve(settings, build, environ, stop=stop, on_serving=serving.set_result)
    )
    watched: set[asyncio.Future[object]] = {task, serving}  # type: ignore[arg-type]
    done, _ = await asyncio.wait(watched, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    if serving not in done:
        stop.set()
        await task  # raises the start failure
        raise RuntimeError(f"{name} did not start within 60 s")
    port = serving.result().grpc_port
    channel = aio.insecure_channel(f"localhost:{port}")
    try:
        yield Running(port, channel, environ)
    finally:
        await channel.close()
        stop.set()
        await task


def _common(state_dir: Path, kafka_bootstrap: str) -> dict[str, str]:
    return {
        "GRPC_PORT": "0",
        "METRICS_PORT": "0",
        "GRPC_GRACE_SECONDS": "1",
        "SHOP_STATE_DIR": str(state_dir),
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
    }


@pytest.fixture(scope="module")
async def user_service(
    postgres_dsn: DatabaseFactory, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Running]:
    state_dir = tmp_path_factory.mktemp("user")
    environ = {
        **_common(state_dir, kafka_bootstrap),
        "DATABASE_URL": postgres_dsn(),
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "1024",
        "ARGON2_PARALLELISM": "1",
        "SERVICE_CLIENT_SECRETS": "order=" + hashlib.sha256(ORDER_SECRET.encode()).hexdigest(),
    }
    async with service_running("user", build_user, environ) as running:
        yield running


@pytest.fixture(scope="module")
def provider() -> CountingProvider:
    return CountingProvider(SandboxProvider(SandboxLatency(0.01, 0.03, slow_seconds=3.0)))


@pytest.fixture(scope="module")
def payment_database(postgres_dsn: DatabaseFactory) -> str:
    return postgres_dsn()


def payment_environ(
    user_service: Running, database_url: str, state_dir: Path, kafka_bootstrap: str
) -> dict[str, str]:
    return {
        **_common(state_dir, kafka_bootstrap),
        "DATABASE_URL": database_url,
        "USER_SERVICE_ADDR": user_service.address,
    }


@pytest.fixture(scope="module")
async def payment_service(
    user_service: Running,
    payment_database: str,
    provider: CountingProvider,
    kafka_bootstrap: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Running]:
    environ = payment_environ(
        user_service, payment_database, tmp_path_factory.mktemp("payment"), kafka_bootstrap
    )
    build = functools.partial(build_payment, provider=provider)
    async with service_running("payment", build, environ) as running:
        yield running


@pytest.fixture(scope="module")
async def second_payment_replica(
    user_service: Running,
    payment_database: str,
    provider: CountingProvider,
    kafka_bootstrap: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Running]:
    """Another process-like instance on the same database, as a second pod would be."""
    environ = payment_environ(
        user_service, payment_database, tmp_path_factory.mktemp("payment2"), kafka_bootstrap
    )
    build = functools.partial(build_payment, provider=provider)
    async with service_running("payment", build, environ) as running:
        yield running
