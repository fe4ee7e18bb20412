"""The payment service's assembly: what `build` opened is closed when a later step fails."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from opentelemetry.sdk.trace import TracerProvider

from launcher.testing import DatabaseFactory
from mesh.bootstrap import Runtime
from mesh.clients import ChannelFactory
from mesh.settings import RuntimeSettings
from services.payment.main import build

from ..service_harness import serve_environ


async def other_connections(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return count
    finally:
        await conn.close()


async def test_a_failed_kafka_start_leaves_no_database_connection_open(
    postgres_dsn: DatabaseFactory, tmp_path: Path
) -> None:
    database_url = postgres_dsn()
    # Nothing listens on port 1: the publisher cannot start after the pool was opened.
    environ = serve_environ(
        tmp_path, DATABASE_URL=database_url, KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1"
    )
    settings = RuntimeSettings.from_env("payment", environ)
    channels = ChannelFactory(settings.clients)
    runtime = Runtime(settings, environ, channels, TracerProvider())
    try:
        with pytest.raises(Exception, match=r"(?i)kafka|connect"):
            async with runtime.cleanup:
                await build(runtime)
    finally:
        await channels.close()
    assert await other_connections(database_url) == 0
