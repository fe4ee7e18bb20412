"""A real payment service and the real user service that signs its callers' tokens, both
assembled by their own `build` and run by the whole runtime, on PostgreSQL and Kafka."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from launcher.testing import DatabaseFactory
from services.payment.adapters.sandbox import SandboxLatency, SandboxProvider
from services.payment.domain.provider import ChargeOutcome, ProviderCharge, ProviderRefund
from services.payment.main import build as build_payment

from ..service_harness import serve_environ
from ..user.harness import ORDER_SECRET, Running, service_running, user_service_fixture


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


# A second workload's credentials: the search service may not read payments.
SEARCH_SECRET = "search-client-secret"


def _secret_digests(**secrets: str) -> str:
    return ",".join(
        f"{name}={hashlib.sha256(s.encode()).hexdigest()}" for name, s in secrets.items()
    )


user_service = user_service_fixture(
    "module", SERVICE_CLIENT_SECRETS=_secret_digests(order=ORDER_SECRET, search=SEARCH_SECRET)
)


@pytest.fixture(scope="module")
def provider() -> CountingProvider:
    return CountingProvider(SandboxProvider(SandboxLatency(0.01, 0.03, slow_seconds=3.0)))


@pytest.fixture(scope="module")
def payment_database(postgres_dsn: DatabaseFactory) -> str:
    return postgres_dsn()


@dataclass(frozen=True)
class PaymentLauncher:
    """Starts payment instances on one database, processor and user service, as pods would."""

    user_service: Running
    database_url: str
    provider: CountingProvider
    kafka_bootstrap: str
    tmp_path_factory: pytest.TempPathFactory

    @asynccontextmanager
    async def running(self, state_name: str) -> AsyncIterator[Running]:
        environ = serve_environ(
            self.tmp_path_factory.mktemp(state_name),
            KAFKA_BOOTSTRAP_SERVERS=self.kafka_bootstrap,
            DATABASE_URL=self.database_url,
            USER_SERVICE_ADDR=self.user_service.address,
        )
        build = functools.partial(build_payment, provider=self.provider)
        async with service_running("payment", build, environ) as running:
            yield running


@pytest.fixture(scope="module")
def payment_launcher(
    user_service: Running,
    payment_database: str,
    provider: CountingProvider,
    kafka_bootstrap: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> PaymentLauncher:
    return PaymentLauncher(
        user_service, payment_database, provider, kafka_bootstrap, tmp_path_factory
    )


@pytest.fixture(scope="module")
async def payment_service(payment_launcher: PaymentLauncher) -> AsyncIterator[Running]:
    async with payment_launcher.running("payment") as running:
        yield running


@pytest.fixture(scope="module")
async def second_payment_replica(payment_launcher: PaymentLauncher) -> AsyncIterator[Running]:
    """Another process-like instance on the same database, as a second pod would be."""
    async with payment_launcher.running("payment2") as running:
        yield running
