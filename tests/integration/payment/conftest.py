"""A real payment service and the real user service that signs its callers' tokens, both
assembled by their own `build` and run by the whole runtime, on PostgreSQL and Kafka."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mesh.platform.testing import DatabaseFactory
from services.payment.adapters.sandbox import SandboxLatency, SandboxProvider
from services.payment.domain.provider import ChargeOutcome, ProviderCharge, ProviderRefund
from services.payment.main import build as build_payment
from services.user.main import build as build_user

from ..user.harness import Running, service_running, user_environ


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


@pytest.fixture(scope="module")
async def user_service(
    postgres_dsn: DatabaseFactory, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Running]:
    environ = user_environ(postgres_dsn, kafka_bootstrap, tmp_path_factory.mktemp("user"))
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
        "GRPC_PORT": "0",
        "METRICS_PORT": "0",
        "GRPC_GRACE_SECONDS": "1",
        "SHOP_STATE_DIR": str(state_dir),
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
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
