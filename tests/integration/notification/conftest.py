"""A real notification service (its own `build` under the whole runtime) on PostgreSQL,
Kafka and the SMTP capture server, with the real user service signing tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from launcher.testing import DatabaseFactory, SmtpCapture
from services.notification.main import TOPICS
from services.notification.main import build as build_notification

from ..service_harness import serve_environ
from ..user.harness import ORDER_SECRET, Running, service_running, user_service_fixture
from .event_bus import start_group_at_end

NOTIFICATION_SECRET = "notification-client-secret"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


user_service = user_service_fixture(
    "package",
    SERVICE_CLIENT_SECRETS=(
        f"order={_digest(ORDER_SECRET)},notification={_digest(NOTIFICATION_SECRET)}"
    ),
)


async def notification_environ(
    user_service: Running,
    database_url: str,
    kafka_bootstrap: str,
    smtp_url: str,
    state_dir: Path,
    **overrides: str,
) -> dict[str, str]:
    """A fresh consumer group that starts at the end of the topics: only this test's events."""
    group = f"notification-test-{secrets.token_hex(4)}"
    await start_group_at_end(kafka_bootstrap, group, TOPICS)
    values = {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "SMTP_URL": smtp_url,
        "USER_SERVICE_ADDR": user_service.address,
        "SERVICE_CLIENT_ID": "notification",
        "SERVICE_CLIENT_SECRET": NOTIFICATION_SECRET,
        "NOTIFICATION_CONSUMER_GROUP": group,
        "NOTIFICATION_RETRY_BACKOFF_SECONDS": "0.5",
        "NOTIFICATION_RETRY_BACKOFF_MAX_SECONDS": "2",
        "NOTIFICATION_MAX_ATTEMPTS": "8",
        "SMTP_TIMEOUT_SECONDS": "3",
    }
    return serve_environ(state_dir, **{**values, **overrides})


@pytest.fixture(scope="package")
def notification_database(postgres_dsn: DatabaseFactory) -> str:
    return postgres_dsn()


@pytest.fixture(scope="package")
async def notification_service(
    user_service: Running,
    notification_database: str,
    kafka_bootstrap: str,
    smtp_capture: SmtpCapture,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Running]:
    environ = await notification_environ(
        user_service,
        notification_database,
        kafka_bootstrap,
        smtp_capture.url,
        tmp_path_factory.mktemp("notification"),
    )
    async with service_running("notification", build_notification, environ) as running:
        yield running
