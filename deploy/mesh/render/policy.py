"""The mesh policy file, parsed once, with the lookups every renderer needs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

DEPLOY_DIR: Final = Path(__file__).resolve().parents[2]
POLICY_FILE: Final = DEPLOY_DIR / "mesh" / "policy.yaml"
GATEWAY: Final = "gateway"
METRICS_OFFSET: Final = 1000


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@dataclass(frozen=True)
class Workload:
    """One deployable unit: a gRPC service or the REST gateway."""

    name: str
    port: int
    metrics_port: int
    stores: tuple[str, ...]
    spec: Mapping[str, Any]

    @property
    def is_gateway(self) -> bool:
        return self.name == GATEWAY

    @property
    def port_name(self) -> str:
        # Istio derives the protocol from the port name.
        return "http" if self.is_gateway else "grpc"


class Policy:
    """The parsed policy file with the lookups the renderers need."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self.defaults: Mapping[str, Any] = raw["defaults"]
        self.stores: Mapping[str, Mapping[str, Any]] = raw["stores"]
        self.platform: Mapping[str, Any] = raw["platform"]
        self.environments: Mapping[str, Mapping[str, Any]] = raw["environments"]
        self.services: Mapping[str, Mapping[str, Any]] = raw["services"]
        groups: Mapping[str, list[str]] = raw.get("groups", {})
        self._groups = groups
        gateway = raw["gateway"]
        self.workloads = [
            Workload(
                name,
                int(spec["port"]),
                int(spec["port"]) + METRICS_OFFSET,
                tuple(spec.get("stores", ())),
                spec,
            )
            for name, spec in self.services.items()
        ] + [
            Workload(
                GATEWAY,
                int(gateway["port"]),
                int(gateway["metrics_port"]),
                tuple(gateway.get("stores", ())),
                gateway,
            )
        ]

    @classmethod
    def load(cls, path: Path = POLICY_FILE) -> Policy:
        return cls(yaml.safe_load(path.read_text(encoding="utf-8")))

    @property
    def mesh_wide_paths(self) -> list[str]:
        """gRPC paths every workload serves to any workload of its namespace."""
        return list(self.raw.get("mesh_wide", {}).get("paths", []))

    def workload(self, name: str) -> Workload:
        for workload in self.workloads:
            if workload.name == name:
                return workload
        raise KeyError(f"no workload {name!r} in the policy")

    def expand(self, callers: Iterable[str]) -> list[str]:
        expanded: list[str] = []
        for caller in callers:
            for name in self._groups.get(caller, [caller]):
                if name not in expanded:
                    expanded.append(name)
        return expanded

    def method_callers(self, service: str) -> dict[str, list[str]]:
        methods: Mapping[str, list[str]] = self.services[service]["methods"]
        return {method: self.expand(callers) for method, callers in methods.items()}

    def callers_of(self, service: str) -> list[str]:
        callers: list[str] = []
        for names in self.method_callers(service).values():
            callers += [name for name in names if name not in callers and name != service]
        return sorted(callers)

    def upstreams_of(self, workload: str) -> list[str]:
        return sorted(s for s in self.services if workload in self.callers_of(s))

    def owners_of(self, store: str) -> list[str]:
        return sorted(w.name for w in self.workloads if store in w.stores)

    def setting(self, workload: Workload, key: str) -> Any:
        value = self.defaults[key]
        override = workload.spec.get(key)
        if isinstance(value, Mapping) and isinstance(override, Mapping):
            return merge(value, override)
        return value if override is None else override


@dataclass(frozen=True)
class RouteSettings:
    """Timeout and retries of calls to one method (or to a service's other methods)."""

    timeout: str
    attempts: int
    per_try_timeout: str
    retry_on: str


def route_settings(policy: Policy, overrides: Mapping[str, Any]) -> RouteSettings:
    """The defaults overridden by one entry of a service's `routes` (or `default_route`)."""
    retries = merge(policy.defaults["retries"], overrides.get("retries", {}))
    return RouteSettings(
        timeout=overrides.get("timeout", policy.defaults["timeout"]),
        attempts=int(retries["attempts"]),
        per_try_timeout=retries["per_try_timeout"],
        retry_on=retries["retry_on"],
    )


def method_routes(policy: Policy, workload: Workload) -> dict[str, RouteSettings]:
    """Route settings of the methods the policy names, by method."""
    routes: Mapping[str, Mapping[str, Any]] = workload.spec.get("routes", {})
    return {method: route_settings(policy, overrides) for method, overrides in routes.items()}


def default_route(policy: Policy, workload: Workload) -> RouteSettings:
    return route_settings(policy, workload.spec.get("default_route", {}))


def principal(policy: Policy, namespace: str, account: str) -> str:
    """The SPIFFE identity (without scheme) of a ServiceAccount, as Istio names it."""
    return f"{policy.raw['trust_domain']}/ns/{namespace}/sa/{account}"
