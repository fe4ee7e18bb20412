"""Consuming events in a group: handle, then commit; retries, backoff and dead letters.

Records are fetched in batches (whatever arrived since the last fetch, at most
`max_batch`) and their offsets committed once per batch, after every record of it was
handled: one commit request per batch instead of one per record, with the same guarantee
(a crash before the commit redelivers, and the dedupe makes a redelivery harmless). A handler
that can take a whole batch at once (`BatchEventHandler`, for handlers idempotent by
themselves, run with `HandlerDedupes`) gets each partition's batch in one call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, Protocol, runtime_checkable

from aiokafka import AIOKafkaConsumer, TopicPartition  # type: ignore[import-untyped]
from google.protobuf.message import DecodeError
from opentelemetry import trace

from mesh.cancellation import raise_if_cancelling
from mesh.events.dedupe import HandlerDedupes, ProcessedEvents
from mesh.events.envelope import Event, dlq_topic, trace_context_of
from mesh.events.publisher import EventPublisher
from mesh.events.security import PLAINTEXT, KafkaSecurity

__all__ = ["BatchEventHandler", "EventConsumer", "EventHandler", "RetryPolicy"]

logger = logging.getLogger(__name__)

EventHandler = Callable[[Event], Awaitable[None]]
# Records fetched and handled between two commits, at most.
MAX_BATCH: Final = 500
# How long one fetch waits for records (it returns as soon as some are there).
FETCH_WAIT_MS: Final = 1000
BROKER_WAIT_MS: Final = 5000
# How long a stopping consumer may spend committing what it handled.
FINAL_COMMIT_SECONDS: Final = 5.0


@runtime_checkable
class BatchEventHandler(Protocol):
    """A handler that also takes the events of one partition's batch in one call, in order.

    Only for handlers idempotent by themselves (the consumer calls it only with
    `HandlerDedupes`): when the batch call fails, the consumer handles the batch's events one
    by one, with retries and dead letters, so some may be handled twice.
    """

    async def __call__(self, event: Event) -> None: ...

    async def handle_batch(self, events: Sequence[Event]) -> None: ...


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
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._group_id = group_id
        self._handler = handler
        self._batch_handler = (
            handler
            if isinstance(handler, BatchEventHandler) and isinstance(processed, HandlerDedupes)
            else None
        )
        self._max_batch = max_batch
        # Offsets handled but not yet committed, per partition.
        self._handled: dict[Any, int] = {}
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
            fetch_max_wait_ms=BROKER_WAIT_MS,
            **security.client_options(),
        )

    async def run(self) -> None:
        """Consumes until cancelled (a `ServiceSpec.background` task)."""
        # start() inside the try: a service stopped while the consumer is still joining its
        # group must close it too, or its connections leak.
        try:
            await self._consumer.start()
            while True:
                raise_if_cancelling()
                fetched = await self._consumer.getmany(
                    timeout_ms=FETCH_WAIT_MS, max_records=self._max_batch
                )
                for partition, records in fetched.items():
                    await self._handle_partition(partition, records)
                await self._commit_handled()
        finally:
            try:
                # Stopping (or failing) mid-batch: what was handled need not come again.
                await asyncio.wait_for(self._commit_handled(), FINAL_COMMIT_SECONDS)
            except Exception as error:
                logger.warning("could not commit the handled offsets at stop: %r", error)
            await self._consumer.stop()

    async def _commit_handled(self) -> None:
        offsets, self._handled = self._handled, {}
        # A partition taken away by a rebalance meanwhile goes to another member, which
        # reads it from the last commit (the dedupe absorbs the repeat); committing it here
        # would be refused.
        assigned = self._consumer.assignment()
        offsets = {
            partition: offset for partition, offset in offsets.items() if partition in assigned
        }
        if offsets:
            await self._consumer.commit(offsets)

    async def _handle_partition(self, partition: TopicPartition, records: list[Any]) -> None:
        if self._batch_handler is not None and len(records) > 1:
            if await self._handled_as_batch(self._batch_handler, records):
                self._handled[partition] = records[-1].offset + 1
                return
        for record in records:
            await self._handle_record(record)
            self._handled[partition] = record.offset + 1

    async def _handled_as_batch(self, handler: BatchEventHandler, records: list[Any]) -> bool:
        """True when the batch handler took every record; False to go one by one instead
        (a record that does not parse, or a failed batch call)."""
        events: list[Event] = []
        for record in records:
            try:
                event = Event.FromString(record.value or b"")
            except DecodeError:
                return False
            if not event.event_id:
                return False
            events.append(event)
        topic = records[0].topic
        links = [link for link in map(_producer_link, records) if link is not None]
        with self._tracer.start_as_current_span(
            f"consume {topic}",
            kind=trace.SpanKind.CONSUMER,
            links=links,
            attributes={
                "messaging.destination.name": topic,
                "messaging.batch.message_count": len(events),
            },
        ):
            try:
                await handler.handle_batch(events)
            except Exception as error:
                logger.warning(
                    "a batch of %d events failed (%r); handling them one by one", len(events), error
                )
                return False
        return True

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


def _producer_link(record: Any) -> trace.Link | None:
    """A link to the span that published `record`, for a span that handles many records."""
    context = trace.get_current_span(trace_context_of(record.headers)).get_span_context()
    return trace.Link(context) if context.is_valid else None
