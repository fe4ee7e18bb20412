"""Creating the event topics (and their dead-letter topics) when they are missing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]

from mesh.events.envelope import AGGREGATE_TYPES, dlq_topic, topic_for
from mesh.events.security import PLAINTEXT, KafkaSecurity

__all__ = ["ALL_TOPICS", "ensure_topics"]

ALL_TOPICS: Final = tuple(
    name
    for aggregate in AGGREGATE_TYPES
    for name in (topic_for(aggregate), dlq_topic(topic_for(aggregate)))
)
_TOPIC_ALREADY_EXISTS: Final = 36


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[str] = ALL_TOPICS,
    *,
    partitions: int = 3,
    replication_factor: int = 1,
    security: KafkaSecurity = PLAINTEXT,
) -> list[str]:
    """Creates the missing topics; returns their names. Safe to run from several services
    at once. Brokers with auto-creation need no call; production clusters usually do."""
    admin: Any = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, **security.client_options()
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in dict.fromkeys(topics) if name not in existing]
        if not missing:
            return []
        response = await admin.create_topics(
            [NewTopic(name, partitions, replication_factor) for name in missing]
        )
        for name, code, *_ in response.topic_errors:
            if code not in (0, _TOPIC_ALREADY_EXISTS):
                raise RuntimeError(f"could not create topic {name}: error code {code}")
        return missing
    finally:
        await admin.close()
