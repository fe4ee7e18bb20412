"""The runtime's Kafka clients over SASL/SCRAM and TLS, as in the cluster, on a real broker.

The broker (the launcher's Kafka jars) listens only on SASL_SSL with SCRAM-SHA-512 users
created when its storage is formatted, and a certificate from a throw-away CA. The publisher
and the consumer get their settings from `KafkaSecurity.from_env`, as a service would."""

from __future__ import annotations

import asyncio
import datetime
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka.errors import KafkaError  # type: ignore[import-untyped]
from shop.events.v1 import events_pb2

from launcher.sidecars.ca import LocalCA
from launcher.stores.kafka import KAFKA_VERSION, kafka_cluster_id
from launcher.toolchain import java_home
from mesh.events import Event, EventConsumer, EventPublisher, new_event
from mesh.events.dedupe import HandlerDedupes
from mesh.events.security import KafkaSecurity
from mesh.settings import SettingsError

pytestmark = pytest.mark.integration

ADMIN = ("admin", "admin-secret")
ORDER = ("order", "order-secret")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class SecureBroker:
    bootstrap: str
    ca_file: Path

    def environ(self, username: str, password: str) -> dict[str, str]:
        return {
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "KAFKA_SASL_USERNAME": username,
            "KAFKA_SASL_PASSWORD": password,
            "KAFKA_SSL_CAFILE": str(self.ca_file),
        }


def _properties(root: Path, port: int, controller: int) -> str:
    jaas = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required"
        f' username="{ADMIN[0]}" password="{ADMIN[1]}";'
    )
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller}",
        "listeners": f"SASL_SSL://localhost:{port},CONTROLLER://127.0.0.1:{controller}",
        "advertised.listeners": f"SASL_SSL://localhost:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "SASL_SSL",
        "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": jaas,
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(root / "broker.pem"),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(root / "ca.pem"),
        "log.dirs": str(root / "data"),
        "num.partitions": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    root = tmp_path_factory.mktemp("kafka-sasl")
    ca = LocalCA.create("shopmesh test Kafka CA")
    issued = ca.issue("spiffe://test/kafka", datetime.timedelta(hours=1), "localhost")
    (root / "ca.pem").write_text(ca.certificate_pem())
    (root / "broker.pem").write_text(issued.private_key_pem + issued.certificate_pem)
    port, controller = _free_port(), _free_port()
    properties = root / "server.properties"
    properties.write_text(_properties(root, port, controller))
    lib = Path.home() / ".cache" / "shopmesh" / f"kafka-{KAFKA_VERSION}" / "lib" / "*"
    java = str(java_home() / "bin" / "java")
    users = [
        f"SCRAM-SHA-512=[name={name},password={password}]" for name, password in (ADMIN, ORDER)
    ]
    subprocess.run(
        [java, "-Xmx256m", "-cp", str(lib), "kafka.tools.StorageTool", "format"]
        + ["-t", kafka_cluster_id(), "-c", str(properties)]
        + [arg for user in users for arg in ("--add-scram", user)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    log = (root / "broker.log").open("wb")
    process = subprocess.Popen(
        [java, "-Xmx384m", "-XX:TieredStopAtLevel=1", "-cp", str(lib), "kafka.Kafka"]
        + [str(properties)],
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 90
        while b"Kafka Server started" not in (root / "broker.log").read_bytes():
            assert process.poll() is None, (root / "broker.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the SASL_SSL broker did not start"
            time.sleep(0.3)
        yield SecureBroker(f"localhost:{port}", root / "ca.pem")
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


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
    security = KafkaSecurity.from_env(secure_broker.environ(*ORDER))
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

    consumer = EventConsumer(
        bootstrap_servers=secure_broker.bootstrap,
        group_id=f"sasl-test-{uuid.uuid4().hex[:8]}",
        topics=["shop.order.events"],
        handler=handle,
        processed=HandlerDedupes(),
        dead_letters=publisher,
        security=KafkaSecurity.from_env(secure_broker.environ(*ORDER)),
    )
    task = asyncio.create_task(consumer.run())
    try:
        got = await asyncio.wait_for(received.get(), 60)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert got.event_id == event.event_id


async def test_a_wrong_password_is_refused(secure_broker: SecureBroker) -> None:
    security = KafkaSecurity.from_env(secure_broker.environ(ORDER[0], "guessed"))
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
