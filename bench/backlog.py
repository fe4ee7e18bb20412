"""Waits until every event consumer of the platform has caught up with its topics.

The ageing load writes events faster than the slowest consumers handle them (notification
sends one email per order and per payment over SMTP), so right after it the platform is
still working through a backlog. The aged figures are taken once every consumer group's
committed offsets have reached the end of its topics: an aged platform, not a busy one. How
long that took is a figure of its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped]

from mesh.events.security import KafkaSecurity

__all__ = ["consumer_lag", "wait_for_consumers"]

log = logging.getLogger("bench")


async def consumer_lag(kafka: str, security: KafkaSecurity) -> dict[str, int]:
    """Records each consumer group has yet to handle, by group."""
    options = security.client_options()
    admin: Any = AIOKafkaAdminClient(bootstrap_servers=kafka, **options)
    consumer: Any = AIOKafkaConsumer(
        bootstrap_servers=kafka, isolation_level="read_committed", **options
    )
    await admin.start()
    await consumer.start()
    try:
        committed: dict[str, dict[TopicPartition, int]] = {}
        for group_id, _protocol in await admin.list_consumer_groups():
            offsets = await admin.list_consumer_group_offsets(group_id)
            committed[group_id] = {tp: meta.offset for tp, meta in offsets.items()}
        partitions = {tp for offsets in committed.values() for tp in offsets}
        ends = await consumer.end_offsets(list(partitions)) if partitions else {}
    finally:
        await consumer.stop()
        await admin.close()
    return {
        group: sum(max(int(ends[tp]) - max(offset, 0), 0) for tp, offset in offsets.items())
        for group, offsets in committed.items()
    }


async def wait_for_consumers(
    kafka: str, security: KafkaSecurity, timeout_seconds: float, poll_seconds: float = 2.0
) -> float:
    """Seconds until no group has anything left to handle, seen twice in a row (an outbox
    may publish one more batch in between); `timeout_seconds` when it never happened."""
    started = time.monotonic()
    caught_up_before = False
    while time.monotonic() - started < timeout_seconds:
        lag = await consumer_lag(kafka, security)
        behind = {group: records for group, records in lag.items() if records}
        if not behind:
            if caught_up_before:
                return round(time.monotonic() - started, 1)
            caught_up_before = True
        else:
            caught_up_before = False
            log.info("waiting for consumers to catch up: %s", behind)
        await asyncio.sleep(poll_seconds)
    log.warning("consumers still behind after %.0f s", timeout_seconds)
    return timeout_seconds
