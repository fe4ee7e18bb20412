"""The runtime's Kafka clients over SASL/SCRAM and TLS, as in the cluster, on a real broker:
the session's own, which the launcher starts as `shop up` does (launcher/stores/kafka.py).

It serves clients on SASL_SSL with SCRAM-SHA-512, one user per service, a certificate from the
state directory's CA, and only the ACLs deploy/mesh/policy.yaml's `events` section implies.
The publisher and the consumer get their settings from `KafkaSecurity.from_env`, given the
environment the launcher hands each service, as a service would."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]
from aiokafka.errors import (  # type: ignore[import-untyped]
    GroupAuthorizationFailedError,
    KafkaError,
    TopicAuthorizationFailedError,
)
from shop.events.v1 import events_pb2

from launcher.infra import Infrastructure
from mesh.events import Event, EventConsumer, EventPublisher, new_event
from mesh.events.dedupe import HandlerDedupes
from mesh.events.security import KafkaSecurity
from mesh.settings import SettingsError

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class SecureBroker:
    bootstrap: str
    ca_file: Path
    infra: Infrastructure

    def environ(self, user: str, password: str | None = None) -> dict[str, str]:
        """The environment the launcher gives service `user` (optionally another password)."""
        env = self.infra.kafka_client_environment(user)
        if password is not None:
            env["KAFKA_SASL_PASSWORD"] = password
        return env

    def security(self, user: str) -> KafkaSecurity:
        return KafkaSecurity.from_env(self.environ(user))


@pytest.fixture(scope="module")
def secure_broker(shop_infra: Infrastructure) -> Iterator[SecureBroker]:
    shop_infra.ensure(["kafka"])
    env = shop_infra.kafka_client_environment("order")
    yield SecureBroker(env["KAFKA_BOOTSTRAP_SERVERS"], Path(env["KAFKA_SSL_CAFILE"]), shop_infra)


def order_event() -> Event:
    placed = events_pb2.OrderPlaced()
    placed.order.id = str(uuid.uuid4())
    return new_event(
        placed,
        aggregate_type="order",
        aggregate_id=placed.order.id,
        aggregate_version=1,
        producer="order",
    )


@pytest.fixture
async def publisher(secure_broker: SecureBroker) -> AsyncIterator[EventPublisher]:
    security = secure_broker.security("order")
    publisher = EventPublisher(secure_broker.bootstrap, client_id="order", security=security)
    await publisher.start()
    try:
        yield publisher
    finally:
        await publisher.stop()


async def test_publish_and_consume_over_sasl_ssl(
    secure_broker: SecureBroker, publisher: EventPublisher
) -> None:
    event = order_event()
    await publisher.publish(event)
    received: asyncio.Queue[Event] = asyncio.Queue()

    async def handle(incoming: Event) -> None:
        await received.put(incoming)

    # notification consumes order events, with the consumer group of its own name.
    consumer = EventConsumer(
        bootstrap_servers=secure_broker.bootstrap,
        group_id="notification",
        topics=["shop.order.events"],
        handler=handle,
        processed=HandlerDedupes(),
        dead_letters=publisher,
        security=secure_broker.security("notification"),
    )
    task = asyncio.create_task(consumer.run())
    try:
        while (got := await asyncio.wait_for(received.get(), 60)).event_id != event.event_id:
            pass
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert got.event_id == event.event_id


async def test_a_service_cannot_write_another_services_topic(secure_broker: SecureBroker) -> None:
    """notification may write only dead letters: an OrderPlaced from it is refused."""
    forger = EventPublisher(
        secure_broker.bootstrap,
        client_id="notification",
        security=secure_broker.security("notification"),
    )
    await forger.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await asyncio.wait_for(forger.publish(order_event()), 30)
    finally:
        await forger.stop()


async def read_one(secure_broker: SecureBroker, user: str, topic: str, group: str) -> None:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=secure_broker.bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        **secure_broker.security(user).client_options(),
    )
    try:
        await consumer.start()
        await asyncio.wait_for(consumer.getone(), 30)
    finally:
        await consumer.stop()


async def test_a_service_cannot_read_a_topic_it_does_not_consume(
    secure_broker: SecureBroker, publisher: EventPublisher
) -> None:
    """search consumes product and review events, not orders (they carry addresses)."""
    await publisher.publish(order_event())
    with pytest.raises(TopicAuthorizationFailedError):
        await read_one(secure_broker, "search", "shop.order.events", "search")


async def test_a_consumer_reads_only_with_its_own_group(
    secure_broker: SecureBroker, publisher: EventPublisher
) -> None:
    await publisher.publish(order_event())
    with pytest.raises(GroupAuthorizationFailedError):
        await read_one(secure_broker, "notification", "shop.order.events", "analytics")


async def test_a_wrong_password_is_refused(secure_broker: SecureBroker) -> None:
    security = KafkaSecurity.from_env(secure_broker.environ("order", "guessed"))
    publisher = EventPublisher(secure_broker.bootstrap, client_id="order", security=security)
    with pytest.raises(KafkaError):
        await asyncio.wait_for(publisher.start(), 60)


async def test_plaintext_clients_are_not_served(secure_broker: SecureBroker) -> None:
    publisher = EventPublisher(secure_broker.bootstrap, client_id="order")
    with pytest.raises((KafkaError, TimeoutError)):
        await asyncio.wait_for(publisher.start(), 20)
    await publisher.stop()


def test_sasl_without_credentials_fails_at_start_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="KAFKA_SASL_USERNAME"):
        KafkaSecurity.from_env({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"})
    with pytest.raises(SettingsError, match="KAFKA_SSL_CAFILE"):
        KafkaSecurity.from_env(
            {
                "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "KAFKA_SASL_USERNAME": "order",
                "KAFKA_SASL_PASSWORD": "x",
                "KAFKA_SSL_CAFILE": "/nonexistent/ca.pem",
            }
        )
