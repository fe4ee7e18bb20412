"""Publishing events to Kafka with acks=all and an idempotent producer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]

from mesh.events.envelope import Event, headers_for, topic_for
from mesh.events.security import PLAINTEXT, KafkaSecurity

__all__ = ["EventPublisher"]


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
        await self.send(
            topic_for(event.aggregate_type),
            key=event.aggregate_id.encode(),
            value=event.SerializeToString(),
            headers=headers_for(event),
        )

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
