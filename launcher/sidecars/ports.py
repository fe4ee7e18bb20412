"""The extra ports of mesh mode: each application's private port, each sidecar's admin port
and the outbound listeners a workload dials to reach its upstreams."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

# Fixed plan of `shop up --mesh`: apps at gRPC port + 2000 (52051...), sidecar admins at
# 53051... (gateway 53080), outbound listeners from 54000 in blocks of 20 per workload.
APP_OFFSET: Final = 2000
ADMIN_OFFSET: Final = 3000
GATEWAY_ADMIN: Final = 53080
OUTBOUND_BASE: Final = 54000
OUTBOUND_BLOCK: Final = 20


@dataclass(frozen=True)
class MeshPorts:
    app: Mapping[str, int]
    admin: Mapping[str, int]
    outbound: Mapping[str, Mapping[str, int]]

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
        cls, services: Sequence[str], upstreams: Mapping[str, Sequence[str]], ports: Iterator[int]
    ) -> MeshPorts:
        """Currently unused ports, so a test's mesh runs beside a developer's platform."""
        return cls(
            app={name: next(ports) for name in services},
            admin={name: next(ports) for name in upstreams},
            outbound={
                name: {upstream: next(ports) for upstream in targets}
                for name, targets in upstreams.items()
            },
        )

    def all_ports(self) -> list[int]:
        ports = [*self.app.values(), *self.admin.values()]
        for targets in self.outbound.values():
            ports += targets.values()
        return ports

    def save(self, path: Path) -> None:
        document = {"app": self.app, "admin": self.admin, "outbound": self.outbound}
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
        )
