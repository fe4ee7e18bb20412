"""Publishing events to Kafka with acks=all and an idempotent producer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]

from mesh.events.envelope import Event, headers_for, topic_for
from mesh.events.security import PLAINTEXT, KafkaSecurity

__all__ = ["EventPublisher", "OutgoingRecord"]


@dataclass(frozen=True, slots=True)
class OutgoingRecord:
    """A raw record to send: what an outbox row holds."""

    topic: str
    key: bytes | None
    value: bytes
    headers: Sequence[tuple[str, bytes]] = field(default=())


class EventPublisher:
    """`await publisher.start()` once, `publish(event)` many times, `stop()` at shutdown.

    acks=all with idempotence: the broker keeps one copy of each record even when the
    producer retries a send, so a retried send never duplicates within a producer session.
    """

    def __init__(
        self, bootstrap_servers: str, *, client_id: str, security: KafkaSecurity = PLAINTEXT
    ) -> None:
        self._producer: Any = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            **security.client_options(),
        )

    async def start(self) -> None:
        try:
            await self._producer.start()
        except BaseException:
            # A producer that failed to start still holds its client and sockets; nobody
            # calls stop() on a publisher whose start failed.
            await self._producer.stop()
            raise

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, event: Event) -> None:
        await self.send_many([record_of(event)])

    async def publish_many(self, events: Sequence[Event]) -> None:
        """Events in order, sent together (see `send_many`)."""
        await self.send_many([record_of(event) for event in events])

    async def send(
        self,
        topic: str,
        *,
        key: bytes | None,
        value: bytes,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        """A raw record, acknowledged by all in-sync replicas when this returns."""
        await self._producer.send_and_wait(topic, value=value, key=key, headers=list(headers))

    async def send_many(self, records: Sequence[OutgoingRecord]) -> None:
        """Records in order, all acknowledged by all in-sync replicas when this returns.

        They are queued together, so they travel in one produce request per broker instead
        of one each (and wait for the linger once, not once per record); the idempotent
        producer keeps each partition's order. If any fails, this raises after the others
        settled: the caller sends them all again, and consumers dedupe the repeats.
        """
        sent = [
            await self._producer.send(
                record.topic, value=record.value, key=record.key, headers=list(record.headers)
            )
            for record in records
        ]
        outcomes = await asyncio.gather(*sent, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome


def record_of(event: Event) -> OutgoingRecord:
    """The record an event travels in: its aggregate's topic, keyed by the aggregate's id so
    each aggregate's events stay in order on one partition."""
    return OutgoingRecord(
        topic_for(event.aggregate_type),
        key=event.aggregate_id.encode(),
        value=event.SerializeToString(),
        headers=headers_for(event),
    )
