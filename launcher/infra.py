"""Starts, checks and stops the backing servers; external ones are only checked."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from launcher.config import STORES, PlatformConfig
from launcher.credentials import SERVICE_DATABASES, Credentials
from launcher.osuser import prepare_state_dir, server_user
from launcher.process import pid_file_exit
from launcher.stores.base import ExternalStore, Progress, Store, StoreContext
from launcher.stores.elasticsearch import ElasticsearchStore
from launcher.stores.ferretdb import FerretDbStore
from launcher.stores.kafka import KafkaStore
from launcher.stores.postgres import PostgresStore, database_url, ensure_database_sql, psql
from launcher.stores.smtp import SmtpCaptureStore
from launcher.stores.valkey import ValkeyStore

logger = logging.getLogger(__name__)

# Stores another store needs running first (FerretDB keeps its data in PostgreSQL).
DEPENDS_ON: Final[Mapping[str, tuple[str, ...]]] = {"ferretdb": ("postgres",)}


@dataclass
class StartReport:
    """How long each store took to come up (first start includes provisioning)."""

    seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class StoreProcess:
    """A store's server as the supervisor sees it: its pid file, and a restart through us."""

    name: str
    log_path: Path
    pid_path: Path
    infra: Infrastructure

    def exited(self) -> str | None:
        return pid_file_exit(self.pid_path)

    def start(self) -> None:
        self.infra.restart(self.name)


class Infrastructure:
    def __init__(
        self,
        config: PlatformConfig,
        credentials: Credentials,
        progress: Progress | None = None,
    ) -> None:
        self.config = config
        self.credentials = credentials
        self._progress = progress or (lambda message: logger.info("%s", message))
        self._context: StoreContext | None = None
        self._stores: dict[str, Store] = {}
        self._started: set[str] = set()
        # Set by stop(): a start still in flight (Ctrl-C during `shop up`) stops its own store.
        self._stopping = False
        self._lock = threading.RLock()
        self.report = StartReport()

    def context(self) -> StoreContext:
        if self._context is None:
            user = server_user()
            prepare_state_dir(self.config.state_dir, user)
            self._context = StoreContext(self.config, self.credentials, user, self._progress)
        return self._context

    def store(self, name: str) -> Store:
        with self._lock:
            if name not in self._stores:
                self._stores[name] = self._build(name)
            return self._stores[name]

    def _build(self, name: str) -> Store:
        if not self.config.provisions(name):
            return ExternalStore(name, self.config.external[name])
        builders: dict[str, Callable[[StoreContext], Store]] = {
            "postgres": PostgresStore,
            "redis": ValkeyStore,
            "smtp": SmtpCaptureStore,
            "kafka": KafkaStore,
            "elasticsearch": ElasticsearchStore,
            "ferretdb": lambda context: FerretDbStore(context, self.ferretdb_backend_url()),
        }
        return builders[name](self.context())

    def ferretdb_backend_url(self) -> str:
        return self.service_database_url("ferretdb")

    def ensure(self, names: Iterable[str] = STORES) -> None:
        """Start the named stores (and what they depend on) unless already running."""
        wanted = [n for n in STORES if n in set(names)]
        first = [d for n in wanted for d in DEPENDS_ON.get(n, ())]
        self._start_all([n for n in STORES if n in first])
        self._start_all([n for n in wanted if n not in first])

    def _start_all(self, names: list[str]) -> None:
        self._stopping = False
        pending = [n for n in names if n not in self._started]
        if not pending:
            return
        with ThreadPoolExecutor(max_workers=len(pending)) as pool:
            futures = {name: pool.submit(self._start_one, name) for name in pending}
        errors = []
        for name, future in futures.items():
            error = future.exception()
            if error is not None:
                errors.append(f"{name}: {error}")
        if errors:
            raise RuntimeError("could not start: " + "\n".join(errors))

    def _start_one(self, name: str) -> None:
        store = self.store(name)
        began = time.monotonic()
        try:
            store.start()
        except BaseException:
            # A server that came up half-way must not outlive the failed start.
            store.stop()
            raise
        if isinstance(store, ExternalStore) and name == "postgres":
            self._prepare_external_postgres()
        with self._lock:
            if self._stopping:
                store.stop()
                return
            self._started.add(name)
            self.report.seconds[name] = time.monotonic() - began
        logger.debug("%s ready in %.1fs", name, self.report.seconds[name])

    def _prepare_external_postgres(self) -> None:
        """Create the service databases on an existing server, when its login may."""
        try:
            sql = "".join(ensure_database_sql(f"shop_{s}") for s in SERVICE_DATABASES)
            psql(self.config.external["postgres"], sql + ensure_database_sql("ferretdb"))
        except RuntimeError as error:
            logger.warning("could not create databases on DATABASE_URL's server: %s", error)

    def stop(self) -> None:
        """Stop what this object started, dependants first."""
        with self._lock:
            self._stopping = True
            started = [n for n in reversed(STORES) if n in self._started]
            for name in started:
                self.store(name).stop()
                self._started.discard(name)

    def restart(self, name: str) -> None:
        """Stop one store (however it died) and start it again."""
        self.store(name).stop()
        with self._lock:
            self._started.discard(name)
        self.ensure([name])

    def supervised(self) -> list[StoreProcess]:
        """The servers this object started itself (external ones are only checked)."""
        with self._lock:
            started = [n for n in STORES if n in self._started and self.config.provisions(n)]
        return [
            StoreProcess(
                name,
                log_path=self.config.log_dir / f"{name}.log",
                pid_path=self.config.run_dir / f"{name}.pid",
                infra=self,
            )
            for name in started
        ]

    def purge(self) -> None:
        for name in STORES:
            if self.config.provisions(name):
                self.store(name).purge()

    def health(self) -> dict[str, bool]:
        return {name: self.store(name).healthy() for name in STORES}

    # URLs handed to services -------------------------------------------------

    def url(self, name: str) -> str:
        return self.store(name).url()

    def kafka_client_environment(self, user: str) -> dict[str, str]:
        """KAFKA_* settings (SASL_SSL, SCRAM user `user`) for a client of our broker; none
        for an external broker (a developer exports its settings themselves)."""
        store = self.store("kafka")
        if isinstance(store, KafkaStore) and user in self.credentials.kafka_passwords:
            return store.client_environment(user)
        return {}

    def kafka_test_url(self) -> str:
        """Where the test suite's own Kafka clients connect: the broker's loopback plaintext
        listener when it has one (test sessions), else its regular address."""
        store = self.store("kafka")
        plaintext = store.plaintext_url() if isinstance(store, KafkaStore) else None
        return plaintext or store.url()

    def service_database_url(self, database: str) -> str:
        """DSN for one owner's database (own role on our server; same login on an external one)."""
        store = self.store("postgres")
        if isinstance(store, PostgresStore):
            return store.service_url(database)
        return database_url(store.url(), database)

    def create_database(self, database: str) -> str:
        """A fresh database on the platform's server (for tests)."""
        self.ensure(["postgres"])
        store = self.store("postgres")
        if isinstance(store, PostgresStore):
            return store.create_database(database)
        psql(store.url(), ensure_database_sql(database))
        return database_url(store.url(), database)
