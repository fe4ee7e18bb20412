"""Kubernetes NetworkPolicies: default deny, then exactly the callers and stores of each pod."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .manifest import Manifest, dump, labels_of, meta
from .policy import Policy, Workload


def _apps(names: Iterable[str]) -> dict[str, Any]:
    values = sorted(names)
    return {"matchExpressions": [{"key": "app", "operator": "In", "values": values}]}


def _namespace(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in sorted(set(ports))]


def network_policy(policy: Policy, workload: Workload) -> Manifest:
    if workload.is_gateway:
        ingress_sources: dict[str, Any] = _namespace(policy.platform["ingress"]["namespace"])
    else:
        ingress_sources = {"podSelector": _apps(policy.callers_of(workload.name))}
    monitoring = _namespace(policy.platform["monitoring_namespace"])
    ingress = [
        {"from": [ingress_sources], "ports": _tcp(workload.port)},
        {"from": [monitoring], "ports": _tcp(workload.metrics_port)},
    ]
    upstreams = policy.upstreams_of(workload.name)
    egress: list[dict[str, Any]] = []
    if upstreams:
        ports = [int(policy.services[name]["port"]) for name in upstreams]
        egress.append({"to": [{"podSelector": _apps(upstreams)}], "ports": _tcp(*ports)})
    for store in workload.stores:
        spec = policy.stores[store]
        egress.append(
            {
                "to": [{"podSelector": {"matchLabels": dict(spec["selector"])}}],
                "ports": _tcp(spec["port"]),
            }
        )
    if workload.spec.get("smtp"):
        # The SMTP relay lives outside the cluster; only submission ports leave.
        egress.append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": _tcp(25, 587)})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(workload.name, labels_of(policy, workload)),
        "spec": {
            "podSelector": {"matchLabels": {"app": workload.name}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": egress,
        },
    }


def shared_network_policies(policy: Policy) -> list[Manifest]:
    part_of = {"app.kubernetes.io/part-of": policy.raw["part_of"]}
    baseline_egress = [
        {
            "to": [_namespace("kube-system")],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        },
        # istiod: xDS and certificates for the sidecars.
        {"to": [_namespace("istio-system")], "ports": _tcp(15012, 15014)},
        # OpenTelemetry collector (OTLP gRPC and HTTP).
        {"to": [_namespace(policy.platform["observability_namespace"])], "ports": _tcp(4317, 4318)},
    ]
    manifests: list[Manifest] = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "allow-mesh-baseline"},
            "spec": {
                "podSelector": {"matchLabels": part_of},
                "policyTypes": ["Egress"],
                "egress": baseline_egress,
            },
        },
    ]
    for store, spec in policy.stores.items():
        selector = {"matchLabels": dict(spec["selector"])}
        manifests.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": f"allow-{store}-clients"},
                "spec": {
                    "podSelector": selector,
                    "policyTypes": ["Ingress", "Egress"],
                    "ingress": [
                        {
                            "from": [{"podSelector": _apps(policy.owners_of(store))}],
                            "ports": _tcp(spec["port"]),
                        },
                        # Replication and cluster membership between the store's own pods.
                        {"from": [{"podSelector": selector}]},
                        {"from": [_namespace(policy.platform["monitoring_namespace"])]},
                    ],
                    "egress": [
                        {"to": [{"podSelector": selector}]},
                        {
                            "to": [_namespace("kube-system")],
                            "ports": [{"protocol": "UDP", "port": 53}],
                        },
                    ],
                },
            }
        )
    return manifests


def files(policy: Policy) -> dict[Path, str]:
    return {Path("k8s/base/network/policies.yaml"): dump(shared_network_policies(policy))}
