"""Apache Kafka in KRaft mode (one node as broker and controller), jars from Maven Central."""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid
from pathlib import Path
from typing import Final

from launcher.process import port_open
from launcher.stores.base import StoreContext, remove_tree
from launcher.toolchain import MavenArtifact, fetch_maven, java_home
from mesh.events.topics import ensure_topics

# aiokafka 0.14 speaks the older protocol versions that Kafka 4 removed: stay on 3.9.
KAFKA_VERSION: Final = "3.9.2"
KAFKA_ARTIFACTS: Final = (
    MavenArtifact("org.apache.kafka", "kafka_2.13", KAFKA_VERSION),
    # Kafka logs through slf4j but brings no backend; this one writes to stderr.
    MavenArtifact("org.slf4j", "slf4j-simple", "1.7.36"),
)
HOST: Final = "127.0.0.1"
logger = logging.getLogger(__name__)
# Bounded heap; C1-only JIT for a faster start (see the Elasticsearch store).
JAVA_OPTS: Final = ("-Xms128m", "-Xmx512m", "-XX:TieredStopAtLevel=1")


def server_properties(port: int, controller_port: int, log_dir: Path) -> str:
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{HOST}:{controller_port}",
        "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(log_dir),
        "num.partitions": "3",
        "auto.create.topics.enable": "true",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "log.retention.hours": "168",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def kafka_cluster_id() -> str:
    """A random cluster id (base64 of a UUID) that the tool's argument parser accepts.

    An id starting with "-" would be read as an option, so those are drawn again.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


class KafkaStore:
    name = "kafka"

    def __init__(self, context: StoreContext) -> None:
        self._context = context
        self._port = context.config.ports.kafka
        self._controller_port = context.config.ports.kafka_controller
        self._root = context.data_dir("kafka")
        self._cache = context.config.cache_dir / f"kafka-{KAFKA_VERSION}"
        # argv is filled in at start: it needs the JDK, which `status` and `down` do not.
        self._process = context.process("kafka", [], ports=[self._port, self._controller_port])

    def _argv(self) -> list[str]:
        java = java_home() / "bin" / "java"
        return [
            str(java),
            *JAVA_OPTS,
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            "-Dorg.slf4j.simpleLogger.showDateTime=true",
            "-Dorg.slf4j.simpleLogger.log.kafka.coordinator=warn",
            "-Dorg.slf4j.simpleLogger.log.org.apache.kafka.clients=warn",
            "-cp",
            str(self._cache / "lib" / "*"),
            "kafka.Kafka",
            str(self._root / "server.properties"),
        ]

    def url(self) -> str:
        return f"{HOST}:{self._port}"

    def start(self) -> None:
        fetch_maven(self._cache, KAFKA_ARTIFACTS, self._context.progress, "kafka")
        log_dir = self._root / "data"
        self._root.mkdir(parents=True, exist_ok=True)
        properties = self._root / "server.properties"
        properties.write_text(server_properties(self._port, self._controller_port, log_dir))
        if not (log_dir / "meta.properties").exists():
            self._format(properties)
        self._process.argv = self._argv()
        log_size = self._log_size()
        self._process.start()
        self._process.wait_until(
            lambda: self._started_since(log_size) and self.healthy(), 120, "start the broker"
        )
        self._create_topics()

    def _create_topics(self) -> None:
        """Create the event topics up front, so the first consumers find them."""
        try:
            created = asyncio.run(ensure_topics(self.url()))
        except Exception as error:  # auto-creation still covers them
            logger.warning("kafka: could not create the event topics: %s", error)
            return
        if created:
            logger.info("kafka: created topics %s", ", ".join(created))

    def _format(self, properties: Path) -> None:
        cluster_id = kafka_cluster_id()
        java = java_home() / "bin" / "java"
        formatter = self._context.process(
            "kafka-format",
            [
                str(java),
                "-Xmx256m",
                "-cp",
                str(self._cache / "lib" / "*"),
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(properties),
            ],
        )
        formatter.start()
        formatter.wait_until(lambda: not formatter.alive(), 120, "format its log directory")
        code = formatter.exit_code()
        formatter.stop()
        if code not in (0, None):
            raise RuntimeError(f"kafka storage format failed:\n{formatter.log_tail()}")

    def _log_size(self) -> int:
        try:
            return self._process.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def _started_since(self, offset: int) -> bool:
        with self._process.log_path.open("rb") as log:
            log.seek(offset)
            return b"Kafka Server started" in log.read()

    def stop(self) -> None:
        self._process.stop(timeout=30)

    def healthy(self) -> bool:
        return port_open(HOST, self._port)

    def purge(self) -> None:
        remove_tree(self._root)
