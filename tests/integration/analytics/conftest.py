"""A real analytics service (its own `build` under the whole runtime) on PostgreSQL and Kafka,
with the real user service signing the staff and customer tokens."""

from __future__ import annotations

import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from launcher.testing import DatabaseFactory
from services.analytics.main import TOPICS
from services.analytics.main import build as build_analytics

from ..notification.event_bus import start_group_at_end
from ..service_harness import serve_environ
from ..user.harness import Running, service_running, user_service_fixture


@dataclass(frozen=True)
class RunningAnalytics:
    service: Running
    database_url: str
    consumer_group: str
    metrics_url: str


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


user_service = user_service_fixture("package")


@pytest.fixture(scope="package")
async def analytics_service(
    user_service: Running,
    postgres_dsn: DatabaseFactory,
    kafka_bootstrap: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RunningAnalytics]:
    # A fresh group at the end of the topics: only this package's events count.
    group = f"analytics-test-{secrets.token_hex(4)}"
    await start_group_at_end(kafka_bootstrap, group, TOPICS)
    database_url = postgres_dsn()
    metrics_port = free_port()
    environ = serve_environ(
        tmp_path_factory.mktemp("analytics"),
        METRICS_PORT=str(metrics_port),
        DATABASE_URL=database_url,
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
        USER_SERVICE_ADDR=user_service.address,
        ANALYTICS_CONSUMER_GROUP=group,
    )
    async with service_running("analytics", build_analytics, environ) as running:
        yield RunningAnalytics(
            running, database_url, group, f"http://127.0.0.1:{metrics_port}/metrics"
        )
