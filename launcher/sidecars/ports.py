"""The extra ports of mesh mode: each application's private port, each sidecar's admin port
and the outbound listeners a workload dials to reach its upstreams."""

from __future__ import annotations

import json
import random
import socket
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

# Ports below Linux's ephemeral range (32768-60999) are never handed out by the kernel, neither
# as another program's port-0 bind nor as an outgoing connection's source port.
# Fixed plan of `shop up --mesh`: apps at gRPC port - 29000 (21051...), sidecar admins at
# 22051... (gateway 22080), outbound listeners from 23000 in blocks of 20 per workload.
APP_OFFSET: Final = -29000
ADMIN_OFFSET: Final = -28000
GATEWAY_ADMIN: Final = 22080
OUTBOUND_BASE: Final = 23000
OUTBOUND_BLOCK: Final = 20
# Test meshes take random free ports above the fixed plan and below the ephemeral range.
QUIET_RANGE: Final = range(24000, 32000)


@dataclass(frozen=True)
class MeshPorts:
    """Ports by instance: a workload's first instance has the workload's name, further
    replicas of a service are `<service>-2`, `<service>-3`... (`replica_of` names their service;
    `inbound` and `metrics` hold their public and metrics ports)."""

    app: Mapping[str, int]
    admin: Mapping[str, int]
    outbound: Mapping[str, Mapping[str, int]]
    replica_of: Mapping[str, str] = field(default_factory=dict)
    inbound: Mapping[str, int] = field(default_factory=dict)
    metrics: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def fixed(
        cls, grpc_ports: Mapping[str, int], upstreams: Mapping[str, Sequence[str]]
    ) -> MeshPorts:
        """Ports derived from the services' fixed gRPC ports, so they are the same every run."""
        admin = {
            name: grpc_ports[name] + ADMIN_OFFSET if name in grpc_ports else GATEWAY_ADMIN
            for name in upstreams
        }
        outbound = {
            name: {
                upstream: OUTBOUND_BASE + OUTBOUND_BLOCK * index + slot
                for slot, upstream in enumerate(targets)
            }
            for index, (name, targets) in enumerate(upstreams.items())
        }
        return cls(
            app={name: port + APP_OFFSET for name, port in grpc_ports.items()},
            admin=admin,
            outbound=outbound,
        )

    @classmethod
    def free(
        cls,
        services: Sequence[str],
        upstreams: Mapping[str, Sequence[str]],
        ports: Iterator[int],
        replicas: Mapping[str, int] | None = None,
    ) -> MeshPorts:
        """Currently unused ports, so a test's mesh runs beside a developer's platform;
        `replicas` asks for more than one instance of some services."""
        replica_of = {
            f"{service}-{number}": service
            for service, count in (replicas or {}).items()
            for number in range(2, count + 1)
        }
        instances = {**{name: name for name in upstreams}, **replica_of}
        return cls(
            app={name: next(ports) for name in [*services, *replica_of]},
            admin={name: next(ports) for name in instances},
            outbound={
                name: {upstream: next(ports) for upstream in upstreams[workload]}
                for name, workload in instances.items()
            },
            replica_of=replica_of,
            inbound={name: next(ports) for name in replica_of},
            metrics={name: next(ports) for name in replica_of},
        )

    def save(self, path: Path) -> None:
        document = {
            "app": self.app,
            "admin": self.admin,
            "outbound": self.outbound,
            "replica_of": self.replica_of,
            "inbound": self.inbound,
            "metrics": self.metrics,
        }
        path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> MeshPorts:
        document = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            app={k: int(v) for k, v in document["app"].items()},
            admin={k: int(v) for k, v in document["admin"].items()},
            outbound={
                name: {k: int(v) for k, v in targets.items()}
                for name, targets in document["outbound"].items()
            },
            replica_of=dict(document.get("replica_of", {})),
            inbound={k: int(v) for k, v in document.get("inbound", {}).items()},
            metrics={k: int(v) for k, v in document.get("metrics", {}).items()},
        )


def quiet_ports(taken: Collection[int] = ()) -> Iterator[int]:
    """Distinct ports of QUIET_RANGE that nothing listens on right now."""
    seen = set(taken)
    while True:
        port = random.choice(QUIET_RANGE)
        if port in seen:
            continue
        seen.add(port)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        yield port
