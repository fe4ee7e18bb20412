"""Apache Kafka in KRaft mode (one node as broker and controller), jars from Maven Central.

Secured as in the cluster (deploy/helm/kafka-values.yaml): services reach it over SASL_SSL
with SCRAM-SHA-512, each as a user of its own name, and the broker's authorizer grants only
the ACLs that deploy/mesh/policy.yaml's `events` section implies (launcher/stores/
kafka_access.py), so a service cannot write another's topic or read one it does not consume.
The launcher's own client (topics, ACLs) and the inter-broker traffic log in as `admin`;
the KRaft controller listener, on loopback, takes a SASL PLAIN login of its own.

The CA, the broker's key and certificate (state dir `kafka-tls/`, 0600) and the passwords
(credentials.json, 0600) stay in the private state directory; server.properties, which
holds the admin's and the controller's passwords, is 0600 too.

A test session's broker has one more listener, plaintext on 127.0.0.1 (PortPlan's
`kafka_plaintext`): the integration tests' own clients publish and read as any service at
once, create throw-away topics and consumer groups, and take a bootstrap string only, so
they connect there as a super user. `shop up` has no such listener unless
SHOP_KAFKA_PLAINTEXT_PORT asks for one.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import logging
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from launcher.credentials import KAFKA_ADMIN, KAFKA_CONTROLLER
from launcher.process import port_open
from launcher.sidecars.ca import LocalCA, write_private
from launcher.stores.base import StoreContext, remove_tree
from launcher.stores.kafka_access import (
    apply_acls,
    policy_bindings,
    wait_for_group_coordinators,
    wait_until_enforced,
)
from launcher.toolchain import MavenArtifact, fetch_maven, java_home
from mesh.events.security import KafkaSecurity
from mesh.events.topics import ensure_topics

# aiokafka 0.14 speaks the older protocol versions that Kafka 4 removed: stay on 3.9.
KAFKA_VERSION: Final = "3.9.2"
KAFKA_ARTIFACTS: Final = (
    MavenArtifact("org.apache.kafka", "kafka_2.13", KAFKA_VERSION),
    # Kafka logs through slf4j but brings no backend; this one writes to stderr.
    MavenArtifact("org.slf4j", "slf4j-simple", "1.7.36"),
)
HOST: Final = "127.0.0.1"
# The name clients dial and the broker's certificate carries (TLS verifies host names).
BROKER_NAME: Final = "localhost"
MECHANISM: Final = "SCRAM-SHA-512"
TLS_DIR: Final = "kafka-tls"
CERTIFICATE_LIFETIME: Final = datetime.timedelta(days=30)
# Digest of the SCRAM users the log directory was formatted with (see _users_changed).
USERS_MARKER: Final = "scram-users.sha256"
logger = logging.getLogger(__name__)
# Bounded heap; C1-only JIT for a faster start (see the Elasticsearch store).
JAVA_OPTS: Final = ("-Xms128m", "-Xmx512m", "-XX:TieredStopAtLevel=1")


def server_properties(
    port: int,
    controller_port: int,
    log_dir: Path,
    *,
    tls_dir: Path,
    passwords: Mapping[str, str],
    plaintext_port: int | None = None,
) -> str:
    admin, controller = passwords[KAFKA_ADMIN], passwords[KAFKA_CONTROLLER]
    listeners = [f"SASL_SSL://{HOST}:{port}", f"CONTROLLER://{HOST}:{controller_port}"]
    advertised = [f"SASL_SSL://{BROKER_NAME}:{port}"]
    protocols = ["SASL_SSL:SASL_SSL", "CONTROLLER:SASL_PLAINTEXT"]
    super_users = [f"User:{KAFKA_ADMIN}", f"User:{KAFKA_CONTROLLER}"]
    if plaintext_port is not None:
        listeners.append(f"LOOPBACK://{HOST}:{plaintext_port}")
        advertised.append(f"LOOPBACK://{HOST}:{plaintext_port}")
        protocols.append("LOOPBACK:PLAINTEXT")
        super_users.append("User:ANONYMOUS")
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{HOST}:{controller_port}",
        "listeners": ",".join(listeners),
        "advertised.listeners": ",".join(advertised),
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "SASL_SSL",
        "listener.security.protocol.map": ",".join(protocols),
        "sasl.enabled.mechanisms": MECHANISM,
        "sasl.mechanism.inter.broker.protocol": MECHANISM,
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": (
            "org.apache.kafka.common.security.scram.ScramLoginModule required"
            f' username="{KAFKA_ADMIN}" password="{admin}";'
        ),
        # KRaft controllers cannot read SCRAM users (they live in the metadata the
        # controller serves): its listener takes PLAIN, with the one user defined here.
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config": (
            "org.apache.kafka.common.security.plain.PlainLoginModule required"
            f' username="{KAFKA_CONTROLLER}" password="{controller}"'
            f' user_{KAFKA_CONTROLLER}="{controller}";'
        ),
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(tls_dir / "broker.pem"),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(tls_dir / "ca.pem"),
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "false",
        "super.users": ";".join(super_users),
        "log.dirs": str(log_dir),
        "num.partitions": "3",
        # Only a super user may create topics (services hold no Create ACL); the launcher
        # creates the event topics up front, tests create their own.
        "auto.create.topics.enable": "true",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "log.retention.hours": "168",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def scram_users(passwords: Mapping[str, str]) -> dict[str, str]:
    """The SCRAM users of the broker: every Kafka user but the controller's PLAIN login."""
    return {name: pw for name, pw in sorted(passwords.items()) if name != KAFKA_CONTROLLER}


def users_digest(passwords: Mapping[str, str]) -> str:
    pairs = "\n".join(f"{name}:{pw}" for name, pw in scram_users(passwords).items())
    return hashlib.sha256(pairs.encode()).hexdigest()


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
        self._plaintext_port = context.config.ports.kafka_plaintext
        self._cache = context.config.cache_dir / f"kafka-{KAFKA_VERSION}"
        self._tls_dir = context.config.state_dir / TLS_DIR
        self._passwords = context.credentials.kafka_passwords
        ports = [self._port, self._controller_port]
        if self._plaintext_port is not None:
            ports.append(self._plaintext_port)
        # argv is filled in at start: it needs the JDK, which `status` and `down` do not.
        self._process = context.process("kafka", [], ports=ports)

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
        """The SASL_SSL bootstrap address the services use."""
        return f"{BROKER_NAME}:{self._port}"

    def plaintext_url(self) -> str | None:
        """The loopback plaintext listener of a test session (None: there is none)."""
        return None if self._plaintext_port is None else f"{HOST}:{self._plaintext_port}"

    @property
    def ca_file(self) -> Path:
        return self._tls_dir / "ca.pem"

    def client_environment(self, user: str) -> dict[str, str]:
        """What `mesh.events.security.KafkaSecurity.from_env` reads, for Kafka user `user`."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.url(),
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": MECHANISM,
            "KAFKA_SASL_USERNAME": user,
            "KAFKA_SASL_PASSWORD": self._passwords[user],
            "KAFKA_SSL_CAFILE": str(self.ca_file),
        }

    def admin_security(self) -> KafkaSecurity:
        return KafkaSecurity.from_env(self.client_environment(KAFKA_ADMIN))

    def start(self) -> None:
        fetch_maven(self._cache, KAFKA_ARTIFACTS, self._context.progress, "kafka")
        log_dir = self._root / "data"
        self._root.mkdir(parents=True, exist_ok=True)
        self._issue_certificate()
        properties = self._root / "server.properties"
        write_private(
            properties,
            server_properties(
                self._port,
                self._controller_port,
                log_dir,
                tls_dir=self._tls_dir,
                passwords=self._passwords,
                plaintext_port=self._plaintext_port,
            ),
        )
        if self._users_changed(log_dir):
            logger.warning(
                "kafka: the local log was formatted with other SCRAM users (or none, before"
                " SASL); starting it afresh (the services' outboxes have delivered its events)"
            )
            remove_tree(log_dir)
        if not (log_dir / "meta.properties").exists():
            self._format(properties)
            write_private(self._root / USERS_MARKER, users_digest(self._passwords))
        self._process.argv = self._argv()
        log_size = self._log_size()
        self._process.start()
        self._process.wait_until(
            lambda: self._started_since(log_size) and self.healthy(), 120, "start the broker"
        )
        asyncio.run(self._provision())

    def _issue_certificate(self) -> None:
        """The broker's certificate, new at every start, from the state directory's CA."""
        ca = LocalCA.load_or_create(self._tls_dir, "shopmesh local Kafka CA")
        issued = ca.issue("spiffe://shopmesh.local/kafka", CERTIFICATE_LIFETIME, BROKER_NAME)
        write_private(self._tls_dir / "broker.pem", issued.private_key_pem + issued.certificate_pem)

    def _users_changed(self, log_dir: Path) -> bool:
        """SCRAM users are written when the log is formatted; other passwords mean a new log."""
        if not (log_dir / "meta.properties").exists():
            return False
        marker = self._root / USERS_MARKER
        return not marker.exists() or marker.read_text() != users_digest(self._passwords)

    async def _provision(self) -> None:
        """The event topics up front (services may not create topics), then the ACLs."""
        security = self.admin_security()
        created = await ensure_topics(self.url(), security=security)
        if created:
            logger.info("kafka: created topics %s", ", ".join(created))
        bindings = policy_bindings(self._context.config.repo_root)
        count = await apply_acls(self.url(), security, bindings)
        logger.debug("kafka: %d ACLs in place", count)
        # One user's topic stands for all: the broker takes in a request's ACLs at once.
        last = [binding for binding in bindings if binding.resource == "topic"][-1]
        await wait_until_enforced(
            self.url(), KafkaSecurity.from_env(self.client_environment(last.principal)), last.name
        )
        groups = [binding.name for binding in bindings if binding.resource == "group"]
        await wait_for_group_coordinators(self.url(), security, groups)

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
                *(
                    argument
                    for name, password in scram_users(self._passwords).items()
                    for argument in (
                        "--add-scram",
                        f"{MECHANISM}=[name={name},password={password}]",
                    )
                ),
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
        remove_tree(self._tls_dir)
