"""Helpers for the runtime's integration tests against real PostgreSQL and Kafka."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]

from mesh.events import MIGRATIONS
from mesh.migrations import apply_migrations

Records = list[Any]


@dataclass(frozen=True)
class Database:
    dsn: str
    pool: Any


@pytest.fixture
async def database(postgres_dsn: Callable[[], str]) -> AsyncIterator[Database]:
    """A fresh database with the runtime's tables (outbox, processed_events)."""
    dsn = postgres_dsn()
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=5)
    async with pool.acquire() as conn:
        await apply_migrations(conn, MIGRATIONS)
    yield Database(dsn, pool)
    await pool.close()


async def read_topic(
    bootstrap: str,
    topic: str,
    until: Callable[[Records], bool],
    *,
    timeout: float = 30.0,
) -> Records:
    """Every record of `topic` from the beginning, polling until `until(records)` holds."""
    # No group: every partition is read from its beginning, nothing is committed.
    consumer: Any = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        records: Records = []
        while not until(records):
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up on {topic} with {len(records)} records")
            batch = await consumer.getmany(timeout_ms=500)
            for chunk in batch.values():
                records.extend(chunk)
        return records
    finally:
        await consumer.stop()


@pytest.fixture
def topic_reader(kafka_bootstrap: str) -> Callable[..., Any]:
    async def read(topic: str, until: Callable[[Records], bool], timeout: float = 30.0) -> Records:
        return await read_topic(kafka_bootstrap, topic, until, timeout=timeout)

    return read
