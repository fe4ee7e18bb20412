"""Consuming events in a group: handle, then commit; retries, backoff and dead letters."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition  # type: ignore[import-untyped]
from google.protobuf.message import DecodeError
from opentelemetry import trace

from mesh.events.dedupe import ProcessedEvents
from mesh.events.envelope import Event, dlq_topic, trace_context_of
from mesh.events.publisher import EventPublisher
from mesh.events.security import PLAINTEXT, KafkaSecurity

__all__ = ["EventConsumer", "EventHandler", "RetryPolicy"]

logger = logging.getLogger(__name__)

EventHandler = Callable[[Event], Awaitable[None]]


class RetryPolicy:
    def __init__(
        self, *, attempts: int = 5, first_delay: float = 0.2, max_delay: float = 5.0
    ) -> None:
        self.attempts = attempts
        self.first_delay = first_delay
        self.max_delay = max_delay

    def delay(self, attempt: int) -> float:
        return float(min(self.max_delay, self.first_delay * 2 ** (attempt - 1)))


class EventConsumer:
    """Reads `topics` as `group_id` and calls `handler` once per event id.

    An offset is committed only after its record was handled (or dead-lettered), so a crash
    redelivers instead of losing. A record that still fails after the retry policy, or that
    cannot be parsed, goes to `<topic>.dlq` with headers saying why, and consumption moves on.
    """

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        group_id: str,
        topics: Sequence[str],
        handler: EventHandler,
        processed: ProcessedEvents,
        dead_letters: EventPublisher,
        retry: RetryPolicy | None = None,
        tracer: trace.Tracer | None = None,
        security: KafkaSecurity = PLAINTEXT,
    ) -> None:
        self._group_id = group_id
        self._handler = handler
        self._processed = processed
        self._dead_letters = dead_letters
        self._retry = retry or RetryPolicy()
        self._tracer = tracer or trace.get_tracer(__name__)
        self._consumer: Any = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            **security.client_options(),
        )

    async def run(self) -> None:
        """Consumes until cancelled (a `ServiceSpec.background` task)."""
        # start() inside the try: a service stopped while the consumer is still joining its
        # group must close it too, or its connections leak.
        try:
            await self._consumer.start()
            async for record in self._consumer:
                await self._handle_record(record)
                await self._consumer.commit(
                    {TopicPartition(record.topic, record.partition): record.offset + 1}
                )
        finally:
            await self._consumer.stop()

    async def _handle_record(self, record: Any) -> None:
        try:
            event = Event.FromString(record.value or b"")
        except DecodeError as error:
            await self._dead_letter(record, f"undecodable record: {error}", attempts=0)
            return
        if not event.event_id:
            await self._dead_letter(record, "event without event_id", attempts=0)
            return
        with self._tracer.start_as_current_span(
            f"consume {record.topic}",
            context=trace_context_of(record.headers),
            kind=trace.SpanKind.CONSUMER,
            attributes={"messaging.destination.name": record.topic, "event.id": event.event_id},
        ):
            await self._handle_with_retries(record, event)

    async def _handle_with_retries(self, record: Any, event: Event) -> None:
        for attempt in range(1, self._retry.attempts + 1):
            try:
                handled = await self._processed.process_once(
                    self._group_id, event.event_id, lambda: self._handler(event)
                )
                if not handled:
                    logger.debug("skipping duplicate event %s", event.event_id)
                return
            except Exception as error:
                if attempt == self._retry.attempts:
                    logger.exception(
                        "event %s failed %d times; dead-lettering", event.event_id, attempt
                    )
                    await self._dead_letter(record, repr(error), attempts=attempt)
                    return
                logger.warning("event %s failed (attempt %d): %r", event.event_id, attempt, error)
                await asyncio.sleep(self._retry.delay(attempt))

    async def _dead_letter(self, record: Any, reason: str, *, attempts: int) -> None:
        headers = [
            *(record.headers or ()),
            ("x-dlq-reason", reason.encode("utf-8", "replace")[:1024]),
            ("x-dlq-original-topic", record.topic.encode()),
            ("x-dlq-original-partition", str(record.partition).encode()),
            ("x-dlq-original-offset", str(record.offset).encode()),
            ("x-dlq-consumer-group", self._group_id.encode()),
            ("x-dlq-attempts", str(attempts).encode()),
        ]
        await self._dead_letters.send(
            dlq_topic(record.topic), key=record.key, value=record.value or b"", headers=headers
        )
