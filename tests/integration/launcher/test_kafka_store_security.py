"""The launcher's broker keeps its CA, key, certificate and passwords private, and hands each
service the settings of its own Kafka user."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from launcher.credentials import KAFKA_ADMIN, KAFKA_CONTROLLER
from launcher.infra import Infrastructure
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
