"""Test helpers on the real Kafka: start a consumer group at the end of its topics (so a
service under test sees only this test's events), publish events, read dead letters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped]

from mesh.events import EventPublisher, ensure_topics


async def start_group_at_end(bootstrap: str, group_id: str, topics: Sequence[str]) -> None:
    """Commits the current end offsets for `group_id`: events published before are skipped."""
    await ensure_topics(bootstrap)
    admin: Any = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    partitions = [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        for partition in topic["partitions"]
    ]
    consumer: Any = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.commit(dict(ends))
    finally:
        await consumer.stop()


@asynccontextmanager
async def publisher(bootstrap: str) -> AsyncIterator[EventPublisher]:
    events = EventPublisher(bootstrap, client_id="test-producer")
    await events.start()
    try:
        yield events
    finally:
        await events.stop()


async def dead_letters(
    bootstrap: str, topic: str, *, event_id: str, timeout: float = 30.0
) -> dict[str, bytes]:
    """The headers of the dead letter carrying `event_id` (read from the start of `topic`)."""
    record = await _first_record(
        bootstrap,
        topic,
        lambda record: dict(record.headers or ()).get("event_id") == event_id.encode(),
        timeout,
    )
    return {key: value for key, value in record.headers or ()}


async def wait_until_consumed(
    bootstrap: str, group_id: str, topics: Sequence[str], *, timeout: float = 60.0
) -> None:
    """Returns once `group_id` has committed every record now in `topics` (the runtime's
    consumer commits only after a record was handled or dead-lettered)."""
    admin: Any = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    reader: Any = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await reader.start()
    try:
        described = await admin.describe_topics(list(topics))
        partitions = [
            TopicPartition(topic["topic"], partition["partition"])
            for topic in described
            for partition in topic["partitions"]
        ]
        ends = await reader.end_offsets(partitions)
        async with asyncio.timeout(timeout):
            while True:
                committed = await admin.list_consumer_group_offsets(group_id)
                if all(
                    end == 0 or (tp in committed and committed[tp].offset >= end)
                    for tp, end in ends.items()
                ):
                    return
                await asyncio.sleep(0.2)
    finally:
        await reader.stop()
        await admin.close()


async def wait_for_record(bootstrap: str, topic: str, *, key: str, timeout: float = 30.0) -> None:
    """Returns once a record with `key` is in `topic` (e.g. an outbox relay published it)."""
    await _first_record(bootstrap, topic, lambda record: record.key == key.encode(), timeout)


async def _first_record(
    bootstrap: str, topic: str, matches: Callable[[Any], bool], timeout: float
) -> Any:
    """The first record of `topic` (read from the start) that `matches`."""
    consumer: Any = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        async with asyncio.timeout(timeout):
            async for record in consumer:
                if matches(record):
                    return record
    finally:
        await consumer.stop()
    raise AssertionError("unreachable")
