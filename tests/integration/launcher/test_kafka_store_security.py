"""The launcher's broker keeps its CA, key, certificate and passwords private, and hands each
service the settings of its own Kafka user."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from launcher.credentials import KAFKA_ADMIN, KAFKA_CONTROLLER
from launcher.infra import Infrastructure
from launcher.stores.kafka import USERS_MARKER
from launcher.testing import discard, session_infrastructure
from mesh.events import EventPublisher
from mesh.events.envelope import topic_for
from mesh.events.security import KafkaSecurity
from mesh.roster import SERVICE_PORTS

pytestmark = pytest.mark.integration


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ca_key_certificate_and_broker_settings_are_private(shop_infra: Infrastructure) -> None:
    shop_infra.ensure(["kafka"])
    state = shop_infra.config.state_dir
    for path in (
        state / "kafka-tls" / "ca.pem",
        state / "kafka-tls" / "ca-key.pem",
        state / "kafka-tls" / "broker.pem",
        # It holds the admin's and the controller's passwords.
        state / "kafka" / "server.properties",
        state / "credentials.json",
    ):
        assert mode(path) == 0o600, path
    assert mode(state / "kafka-tls") == 0o700


def test_every_service_has_a_kafka_user_of_its_own(shop_infra: Infrastructure) -> None:
    shop_infra.ensure(["kafka"])
    passwords = shop_infra.credentials.kafka_passwords
    assert set(passwords) == {*SERVICE_PORTS, KAFKA_ADMIN, KAFKA_CONTROLLER}
    assert len(set(passwords.values())) == len(passwords)
    for service in SERVICE_PORTS:
        security = KafkaSecurity.from_env(shop_infra.kafka_client_environment(service))
        assert (security.protocol, security.username) == ("SASL_SSL", service)
        assert security.password == passwords[service]
    # The gateway publishes nothing and gets no Kafka login.
    assert shop_infra.kafka_client_environment("gateway") == {}


@pytest.fixture(scope="module")
def own_infra() -> Iterator[Infrastructure]:
    infra = session_infrastructure()
    yield infra
    discard(infra)


async def publish_as(infra: Infrastructure, service: str) -> None:
    security = KafkaSecurity.from_env(infra.kafka_client_environment(service))
    publisher = EventPublisher(infra.url("kafka"), client_id=service, security=security)
    await publisher.start()
    try:
        await publisher.send(topic_for(service), key=b"k", value=b"v")
    finally:
        await publisher.stop()


async def test_a_log_formatted_without_these_users_starts_afresh(own_infra: Infrastructure) -> None:
    """A state directory from before SASL (or with other passwords) holds a log whose SCRAM
    users are not the credentials': the broker is formatted again, and services log in."""
    own_infra.ensure(["kafka"])
    await publish_as(own_infra, "order")
    own_infra.stop()
    marker = own_infra.config.state_dir / "kafka" / USERS_MARKER
    marker.unlink()
    own_infra.ensure(["kafka"])
    assert marker.exists()
    await publish_as(own_infra, "order")
