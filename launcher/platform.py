"""The whole local platform: backing stores, every existing service, and the gateway."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from launcher.catalogdemo_loader import admin_token, load_catalog, product_count
from launcher.components import GATEWAY, Component, EnvironmentBuilder, discover, owns_database
from launcher.config import STORES, PlatformConfig
from launcher.credentials import Credentials
from launcher.democatalog import DemoProduct, generate
from launcher.health import grpc_serving, http_ok
from launcher.infra import Infrastructure
from launcher.mailbox import Mailbox
from launcher.process import ManagedProcess, StartError, group_rss_bytes, read_pid
from launcher.reindex import run_reindex
from launcher.sidecars.meshmode import SIDECAR_SUFFIX, Mesh
from launcher.supervisor import STATE_FILE, Supervisor

logger = logging.getLogger(__name__)
DEMO_MARKER: Final = "demo-catalog.loaded"
START_TIMEOUT_SECONDS: Final = 180.0


@dataclass(frozen=True)
class Endpoint:
    component: str
    kind: str
    address: str


class LocalPlatform:
    """Starts and stops everything; owns the stores unless it was handed running ones."""

    def __init__(
        self,
        config: PlatformConfig,
        credentials: Credentials,
        *,
        infra: Infrastructure | None = None,
        base_env: Mapping[str, str] | None = None,
        mesh: Mesh | None = None,
    ) -> None:
        self.config = config
        self.credentials = credentials
        self.infra = infra or Infrastructure(config, credentials)
        self._owns_infra = infra is None
        self.components = discover(config.repo_root)
        self._base_env = dict(base_env if base_env is not None else os.environ)
        self._processes: dict[str, ManagedProcess] = {}
        self.failed: dict[str, str] = {}
        # Components that run but wait on failed upstreams (the gateway), with those upstreams.
        self.waiting_on: dict[str, list[str]] = {}
        self.supervisor: Supervisor | None = None
        # Mesh mode: Envoy sidecars in front of every service and the gateway.
        self.mesh = mesh

    # Start and stop ----------------------------------------------------------------------

    def start(
        self, *, load_demo: bool = True, strict: bool = False, stores: Sequence[str] = STORES
    ) -> None:
        """Start everything; with `strict` (or under CI) a component that fails is an error.

        `stores` narrows the stores started (tests that run a few services only).
        """
        began = time.monotonic()
        self.infra.ensure(stores)
        logger.info(
            "stores ready in %.1fs (%s)",
            time.monotonic() - began,
            ", ".join(f"{n} {s:.1f}s" for n, s in self.infra.report.seconds.items()),
        )
        began = time.monotonic()
        if self.mesh is not None:
            self.mesh.prepare()
            # Sidecars first: a service's peers are reached through them from the start.
            self._processes.update((s.name, s) for s in self.mesh.sidecars())
        environments = self.environments()
        for component in self.components:
            process = ManagedProcess(
                component.name,
                component.argv(),
                log_path=self.config.log_dir / f"{component.name}.log",
                pid_path=self.config.run_dir / f"{component.name}.pid",
                env=environments[component.name],
                cwd=self.config.repo_root,
                ports=self._ports_of(component),
            )
            self._processes[component.name] = process
        if self.mesh is not None:
            argv = {c.name: c.argv() for c in self.components}
            self._processes.update((r.name, r) for r in self.mesh.replicas(argv, environments))
        self.supervisor = Supervisor(
            [*self.infra.supervised(), *self._processes.values()],
            self.config.run_dir / STATE_FILE,
        )
        for name, process in self._processes.items():
            try:
                process.start()
            except StartError as error:
                # Retried like a crash: the port may be free again in a moment.
                self.supervisor.start_failed(name, f"start failed: {error}")
        self._wait_healthy(strict=strict or self.config.ci)
        if self.mesh is not None:
            self.mesh.start_rotation()
        logger.info(
            "%d components healthy in %.1fs",
            len(self._processes) - len(self.failed) - len(self.waiting_on),
            time.monotonic() - began,
        )
        if load_demo:
            self.load_demo_catalog()

    def supervise(self, stop: threading.Event) -> None:
        """Restart whatever exits (stores, services, gateway) until `stop` is set."""
        self._started_supervisor().run(stop)

    def _ports_of(self, component: Component) -> list[int]:
        ports = self.config.ports
        if component.is_gateway:
            return [ports.gateway, ports.gateway_metrics]
        if self.mesh is not None:
            return [self.mesh.ports.app[component.name], ports.metrics[component.name]]
        return [ports.grpc[component.name], ports.metrics[component.name]]

    def _wait_healthy(self, *, strict: bool) -> None:
        """Wait until every component serves, restarting the ones that exit meanwhile.

        Stops early once only crash-looping services are left (and the gateway that waits on
        them): the supervisor keeps retrying those after `shop up` has reported them.
        """
        supervisor = self._started_supervisor()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        waiting = set(self._processes)
        while waiting and time.monotonic() < deadline:
            supervisor.tick()
            waiting -= {name for name in waiting if self.component_healthy(name)}
            if waiting and all(supervisor.failing(n) for n in _culprits(waiting)):
                break
            time.sleep(0.3)
        for name in sorted(_culprits(waiting)):
            status = supervisor.status()[name]
            if status.crashes:
                self.failed[name] = f"{status.describe()}; restarting with back-off"
            else:
                self.failed[name] = f"not healthy after {START_TIMEOUT_SECONDS:.0f}s"
            logger.error(
                "%s did not start (log: %s): %s\n%s",
                name,
                self.log_path(name),
                self.failed[name],
                self._processes[name].log_tail(10),
            )
        if GATEWAY in waiting and GATEWAY not in self.failed:
            self.waiting_on[GATEWAY] = sorted(waiting - {GATEWAY})
            logger.warning(
                "%s runs but waits on %s; it turns ready once they serve",
                GATEWAY,
                ", ".join(self.waiting_on[GATEWAY]),
            )
        if (self.failed or self.waiting_on) and strict:
            raise StartError("components failed to start: " + ", ".join(sorted(self.failed)))

    def _started_supervisor(self) -> Supervisor:
        if self.supervisor is None:
            raise RuntimeError("the platform has not been started")
        return self.supervisor

    def stop(self) -> None:
        """Gateway first, then services, then (when ours) the stores."""
        for name in reversed(list(self._processes)):
            self._processes[name].stop()
        self._processes.clear()
        if self.supervisor is not None:
            self.supervisor.forget()
            self.supervisor = None
        if self.mesh is not None:
            self.mesh.stop()
        if self._owns_infra:
            self.infra.stop()

    # Demo data ------------------------------------------------------------------------------

    def load_demo_catalog(self) -> None:
        """Load the demo catalog once per state directory, then run the search reindex hook."""
        marker = self.config.state_dir / DEMO_MARKER
        if marker.exists():
            return
        names = {c.name for c in self.components}
        if not {"user", "catalog"} <= names - set(self.failed):
            logger.info(
                "demo catalog not loaded: the user and catalog services must both be running"
            )
            return
        products = generate()
        try:
            loaded = asyncio.run(self._load(products))
        except Exception as error:  # the platform stays usable without demo data
            logger.error("demo catalog could not be loaded: %s", error)
            return
        marker.write_text(f"{loaded}\n")
        if loaded:
            logger.info("demo catalog: %d products loaded", loaded)
        if "search" in names:
            run_reindex(self.config.repo_root, self.environments()["search"])

    async def _load(self, products: Sequence[DemoProduct]) -> int:
        token = await admin_token(
            self.grpc_address("user"), self.credentials.admin_email, self.credentials.admin_password
        )
        catalog = self.grpc_address("catalog")
        if await product_count(catalog, token) > 0:
            logger.info("demo catalog: the catalog already has products; not loading again")
            return 0
        return await load_catalog(catalog, token, products)

    # What the platform looks like --------------------------------------------------------------

    def environments(self) -> dict[str, dict[str, str]]:
        builder = EnvironmentBuilder(
            config=self.config,
            credentials=self.credentials,
            store_urls={name: self.infra.url(name) for name in STORES},
            database_urls={
                c.name: self.infra.service_database_url(f"shop_{c.name}")
                for c in self.components
                if owns_database(c.name)
            },
            base=self._base_env,
            services=[c.name for c in self.components if not c.is_gateway],
            kafka_clients={
                c.name: self.infra.kafka_client_environment(c.name)
                for c in self.components
                if not c.is_gateway
            },
        )
        environments = {c.name: builder.for_component(c) for c in self.components}
        if self.mesh is not None:
            mesh = self.mesh
            return {name: mesh.environment(name, env) for name, env in environments.items()}
        return environments

    def grpc_address(self, service: str) -> str:
        """Where the launcher's own tools reach a service (in mesh mode: the app itself)."""
        if self.mesh is not None:
            return self.mesh.app_address(service)
        return f"127.0.0.1:{self.config.ports.grpc[service]}"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.config.ports.gateway}"

    @property
    def mailbox(self) -> Mailbox:
        return Mailbox(self.config.state_dir / "mail")

    def log_path(self, name: str) -> Path:
        return self.config.log_dir / f"{name}.log"

    def component_names(self) -> list[str]:
        """Services, the gateway and, in mesh mode, their sidecars."""
        names = [c.name for c in self.components]
        if self.mesh is not None:
            names += list(self.mesh.ports.replica_of)
            names += [f"{i}{SIDECAR_SUFFIX}" for i in self.mesh.instances]
        return names

    def component_healthy(self, name: str) -> bool:
        if self.mesh is not None and name.endswith(SIDECAR_SUFFIX):
            return self.mesh.sidecar_healthy(name.removesuffix(SIDECAR_SUFFIX))
        if self.mesh is not None and self.mesh.is_replica(name):
            return grpc_serving(self.mesh.app_address(name))
        if name == GATEWAY:
            return http_ok(f"{self.base_url}/readyz")
        return grpc_serving(self.grpc_address(name))

    def health(self) -> dict[str, bool]:
        status = self.infra.health()
        status.update({name: self.component_healthy(name) for name in self.component_names()})
        return status

    def endpoints(self) -> list[Endpoint]:
        rows = []
        for component in self.components:
            rows.extend(_component_endpoints(component, self.config))
        if self.mesh is not None:
            rows += [Endpoint(e.component, e.kind, e.address) for e in self.mesh.endpoints()]
        for store in STORES:
            rows.append(Endpoint(store, "store", _redact(self.infra.url(store))))
        rows.append(Endpoint("mail", "maildir", str(self.config.state_dir / "mail")))
        return rows

    def memory_bytes(self) -> dict[str, int]:
        """Resident memory per running component or store, from the pid files."""
        usage = {}
        for pid_file in sorted(self.config.run_dir.glob("*.pid")):
            pid = read_pid(pid_file)
            if pid is not None:
                usage[pid_file.stem] = group_rss_bytes(pid)
        return usage


def _culprits(waiting: set[str]) -> set[str]:
    """The components to blame: the gateway only when no upstream is down as well."""
    services = waiting - {GATEWAY}
    return services or waiting


def _component_endpoints(component: Component, config: PlatformConfig) -> list[Endpoint]:
    if component.is_gateway:
        return [
            Endpoint(GATEWAY, "http", f"http://127.0.0.1:{config.ports.gateway}"),
            Endpoint(
                GATEWAY, "metrics", f"http://127.0.0.1:{config.ports.gateway_metrics}/metrics"
            ),
        ]
    name = component.name
    return [
        Endpoint(name, "grpc", f"127.0.0.1:{config.ports.grpc[name]}"),
        Endpoint(name, "metrics", f"http://127.0.0.1:{config.ports.metrics[name]}/metrics"),
    ]


def _redact(url: str) -> str:
    """Hide the password part of a URL in tables and logs."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if user else f"{scheme}://***@{host}"
