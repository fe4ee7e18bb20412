"""The transactional outbox and migrations against real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from shop.events.v1 import events_pb2

from mesh.events import (
    MIGRATIONS,
    Event,
    EventPublisher,
    InMemoryProcessedEvents,
    Outbox,
    OutboxRelay,
    new_event,
    topic_for,
)
from mesh.migrations import Migration, apply_migrations

pytestmark = pytest.mark.integration

CHILD = Path(__file__).with_name("outbox_crash_child.py")
TOPIC = topic_for("user")


def user_event(user_id: str, version: int) -> Event:
    return new_event(
        events_pb2.UserUpdated(user_id=user_id, display_name=f"v{version}"),
        aggregate_type="user",
        aggregate_id=user_id,
        aggregate_version=version,
        producer="user",
    )


async def add_committed(pool: Any, events: list[Event]) -> None:
    outbox = Outbox()
    async with pool.acquire() as conn, conn.transaction():
        for event in events:
            await outbox.add(conn, event)


async def unpublished(pool: Any) -> int:
    count: int = await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
    return count


def ids_of(records: list[Any]) -> list[str]:
    return [Event.FromString(r.value).event_id for r in records]


async def test_migrations_apply_once_even_concurrently(postgres_dsn: Callable[[], str]) -> None:
    dsn = postgres_dsn()
    extra = Migration("meshtest/0001_things.sql", "CREATE TABLE things (id int PRIMARY KEY);")
    first, second = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        applied = await asyncio.gather(
            apply_migrations(first, [*MIGRATIONS, extra]),
            apply_migrations(second, [*MIGRATIONS, extra]),
        )
        assert sorted(map(len, applied)) == [0, 3]
        assert await apply_migrations(first, [*MIGRATIONS, extra]) == []
        versions = [
            r["version"] for r in await first.fetch("SELECT version FROM schema_migrations")
        ]
        assert sorted(versions) == sorted(m.version for m in [*MIGRATIONS, extra])
        edited = Migration(extra.version, extra.sql + " -- edited")
        with pytest.raises(RuntimeError, match="modified"):
            await apply_migrations(first, [edited])
    finally:
        await first.close()
        await second.close()


async def test_outbox_row_exists_only_if_the_transaction_commits(database: Any) -> None:
    pg_pool = database.pool
    with pytest.raises(RuntimeError):
        async with pg_pool.acquire() as conn, conn.transaction():
            await Outbox().add(conn, user_event("u-rollback", 1))
            raise RuntimeError("the state change failed")
    assert await unpublished(pg_pool) == 0
    await add_committed(pg_pool, [user_event("u-commit", 1)])
    assert await unpublished(pg_pool) == 1


async def test_relay_publishes_in_order_and_marks(
    database: Any, kafka_bootstrap: str, topic_reader: Any
) -> None:
    pg_pool = database.pool
    events = [user_event("u-ordered", version) for version in range(1, 6)]
    await add_committed(pg_pool, events)
    publisher = EventPublisher(kafka_bootstrap, client_id="outbox-test")
    await publisher.start()
    try:
        assert await OutboxRelay(pg_pool, publisher).publish_batch() == 5
    finally:
        await publisher.stop()
    assert await unpublished(pg_pool) == 0
    wanted = [e.event_id for e in events]
    records = await topic_reader(TOPIC, lambda rs: set(wanted) <= set(ids_of(rs)))
    ours = [r for r in records if Event.FromString(r.value).event_id in wanted]
    assert [Event.FromString(r.value).aggregate_version for r in ours] == [1, 2, 3, 4, 5]
    assert {r.key for r in ours} == {b"u-ordered"}
    headers = dict(ours[0].headers)
    assert headers["event_type"] == b"shop.events.v1.UserUpdated"


async def test_relay_killed_between_publish_and_mark_loses_nothing(
    database: Any, kafka_bootstrap: str, topic_reader: Any
) -> None:
    pg_pool = database.pool
    events = [user_event(f"u-crash-{n}", 1) for n in range(3)]
    await add_committed(pg_pool, events)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CHILD),
        database.dsn,
        kafka_bootstrap,
        str(len(events)),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert child.stdout is not None
    line = await asyncio.wait_for(child.stdout.readline(), 60)
    assert line == b"PUBLISHED\n"
    os.kill(child.pid, signal.SIGKILL)
    await child.wait()

    # Published but never marked: the relay's transaction died with the process.
    wanted = {e.event_id for e in events}
    await topic_reader(TOPIC, lambda rs: wanted <= set(ids_of(rs)))
    assert await unpublished(pg_pool) == len(events)

    publisher = EventPublisher(kafka_bootstrap, client_id="outbox-test-restart")
    await publisher.start()
    try:
        relay = OutboxRelay(pg_pool, publisher)
        deadline = time.monotonic() + 30
        while await unpublished(pg_pool) and time.monotonic() < deadline:
            # The killed backend may hold the relay lock for a moment.
            if not await relay.publish_batch():
                await asyncio.sleep(0.2)
    finally:
        await publisher.stop()
    assert await unpublished(pg_pool) == 0

    # At least once on the topic (here exactly twice), exactly once after dedupe.
    records = await topic_reader(TOPIC, lambda rs: all(ids_of(rs).count(i) >= 2 for i in wanted))
    handled: list[str] = []
    processed = InMemoryProcessedEvents()
    for record in records:
        event = Event.FromString(record.value)
        if event.event_id in wanted:

            async def handle(event: Event = event) -> None:
                handled.append(event.event_id)

            await processed.process_once("test", event.event_id, handle)
    assert sorted(handled) == sorted(wanted)


async def test_published_rows_are_purged_after_the_retention_once_a_minute(
    database: Any,
) -> None:
    pg_pool = database.pool
    await add_committed(pg_pool, [user_event("u-purge", version) for version in range(1, 5)])
    ids = [row["id"] for row in await pg_pool.fetch("SELECT id FROM outbox ORDER BY id")]
    old, recent, unpublished_id = ids[:2], ids[2], ids[3]
    await pg_pool.execute(
        "UPDATE outbox SET published_at = now() - interval '25 hours' WHERE id = ANY($1)", old
    )
    await pg_pool.execute("UPDATE outbox SET published_at = now() WHERE id = $1", recent)
    now = [1000.0]
    never_publishes: Any = object()  # the purge publishes nothing
    relay = OutboxRelay(pg_pool, never_publishes, clock=lambda: now[0])

    async def left() -> list[int]:
        return [row["id"] for row in await pg_pool.fetch("SELECT id FROM outbox ORDER BY id")]

    await relay.purge_published()
    assert await left() == [recent, unpublished_id]
    await pg_pool.execute(
        "UPDATE outbox SET published_at = now() - interval '25 hours' WHERE id = $1", recent
    )
    now[0] += 30  # within the purge interval: nothing read, nothing deleted
    await relay.purge_published()
    assert await left() == [recent, unpublished_id]
    now[0] += 31
    await relay.purge_published()
    assert await left() == [unpublished_id]
