"""Domain events on Kafka: envelopes, publisher, consumer, dedupe, the outbox and relays."""

from mesh.events.consumer import BatchEventHandler, EventConsumer, EventHandler, RetryPolicy
from mesh.events.dedupe import (
    HandlerDedupes,
    InMemoryProcessedEvents,
    PostgresProcessedEvents,
    ProcessedEvents,
    current_transaction,
)
from mesh.events.envelope import Event, dlq_topic, new_event, topic_for
from mesh.events.outbox import Outbox, OutboxRelay
from mesh.events.publisher import EventPublisher, OutgoingRecord
from mesh.events.relay import relay_forever
from mesh.events.topics import ALL_TOPICS, ensure_topics
from mesh.migrations import Migration, load_migrations

__all__ = [
    "ALL_TOPICS",
    "MIGRATIONS",
    "BatchEventHandler",
    "Event",
    "EventConsumer",
    "EventHandler",
    "EventPublisher",
    "HandlerDedupes",
    "InMemoryProcessedEvents",
    "Outbox",
    "OutboxRelay",
    "OutgoingRecord",
    "PostgresProcessedEvents",
    "ProcessedEvents",
    "RetryPolicy",
    "current_transaction",
    "dlq_topic",
    "ensure_topics",
    "new_event",
    "relay_forever",
    "topic_for",
]

# The outbox and processed_events tables; PostgreSQL services apply these before their own.
MIGRATIONS: list[Migration] = load_migrations("mesh.events")
