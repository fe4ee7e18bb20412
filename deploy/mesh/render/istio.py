"""Istio objects: routes with timeouts and retries, outlier detection, STRICT mTLS and the
per-method AuthorizationPolicies."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .manifest import Manifest, dump, labels_of, meta
from .policy import Policy, Workload, principal, route_settings


def _route(
    policy: Policy, workload: Workload, overrides: Mapping[str, Any], name: str
) -> dict[str, Any]:
    settings = route_settings(policy, overrides)
    return {
        "name": name,
        "route": _destinations(workload),
        "timeout": settings.timeout,
        "retries": {
            "attempts": settings.attempts,
            "perTryTimeout": settings.per_try_timeout,
            "retryOn": settings.retry_on,
        },
    }


def _destinations(workload: Workload, subset: str | None = None) -> list[dict[str, Any]]:
    canary = workload.spec.get("canary")
    if canary is None or subset is not None:
        destination: dict[str, Any] = {"host": workload.name, "port": {"number": workload.port}}
        if subset is not None:
            destination["subset"] = subset
        return [{"destination": destination}]
    return [
        {
            "destination": {
                "host": workload.name,
                "subset": name,
                "port": {"number": workload.port},
            },
            "weight": weight,
        }
        for name, weight in canary["subsets"].items()
    ]


def _with_match(
    route: dict[str, Any], match: dict[str, Any], destinations: list[dict[str, Any]]
) -> dict[str, Any]:
    # Keep name and match first so a route reads top-down.
    return {"name": route["name"], "match": [match], **route, "route": destinations}


def virtual_service(policy: Policy, workload: Workload) -> Manifest:
    routes_spec: Mapping[str, Mapping[str, Any]] = workload.spec.get("routes", {})
    grpc_service = workload.spec["grpc_service"]
    http: list[dict[str, Any]] = []
    canary = workload.spec.get("canary")
    if canary is not None:
        for value, subset in canary["ab_values"].items():
            match: dict[str, Any] = {"headers": {canary["ab_header"]: {"exact": value}}}
            route = _route(
                policy, workload, workload.spec.get("default_route", {}), f"ab-{value.lower()}"
            )
            http.append(_with_match(route, match, _destinations(workload, subset)))
    for method, overrides in routes_spec.items():
        route = _route(policy, workload, overrides, method.lower())
        uri = {"uri": {"exact": f"/{grpc_service}/{method}"}}
        http.append(_with_match(route, uri, route["route"]))
    http.append(_route(policy, workload, workload.spec.get("default_route", {}), "default"))
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": meta(workload.name, labels_of(policy, workload)),
        "spec": {"hosts": [workload.name], "http": http},
    }


def destination_rule(policy: Policy, workload: Workload) -> Manifest:
    spec: dict[str, Any] = {
        "host": workload.name,
        "trafficPolicy": {
            "connectionPool": policy.setting(workload, "connection_pool"),
            "outlierDetection": policy.setting(workload, "outlier_detection"),
            "tls": {"mode": "ISTIO_MUTUAL"},
        },
    }
    canary = workload.spec.get("canary")
    if canary is not None:
        spec["subsets"] = [
            {"name": name, "labels": {"version": name}} for name in canary["subsets"]
        ]
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": meta(workload.name, labels_of(policy, workload)),
        "spec": spec,
    }


def peer_authentication() -> Manifest:
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "PeerAuthentication",
        "metadata": {"name": "default"},
        "spec": {"mtls": {"mode": "STRICT"}},
    }


def authorization_policies(policy: Policy, namespace: str) -> list[Manifest]:
    """ALLOW rules per method and caller on top of a namespace-wide allow-nothing."""
    manifests: list[Manifest] = [
        {
            "apiVersion": "security.istio.io/v1",
            "kind": "AuthorizationPolicy",
            "metadata": {"name": "allow-nothing", "namespace": namespace},
            "spec": {},
        }
    ]
    ingress = policy.platform["ingress"]
    for workload in policy.workloads:
        if workload.is_gateway:
            ingress_principal = principal(policy, ingress["namespace"], ingress["service_account"])
            rules = [
                {
                    "from": [{"source": {"principals": [ingress_principal]}}],
                    "to": [{"operation": {"ports": [str(workload.port)]}}],
                }
            ]
        else:
            by_callers: dict[tuple[str, ...], list[str]] = {}
            grpc_service = workload.spec["grpc_service"]
            for method, callers in policy.method_callers(workload.name).items():
                by_callers.setdefault(tuple(sorted(callers)), []).append(
                    f"/{grpc_service}/{method}"
                )
            rules = [
                {
                    "from": [
                        {
                            "source": {
                                "principals": [principal(policy, namespace, c) for c in callers]
                            }
                        }
                    ],
                    "to": [{"operation": {"paths": sorted(paths)}}],
                }
                for callers, paths in sorted(by_callers.items())
            ]
            if policy.mesh_wide_paths:
                rules.append(
                    {
                        "from": [{"source": {"namespaces": [namespace]}}],
                        "to": [{"operation": {"paths": sorted(policy.mesh_wide_paths)}}],
                    }
                )
        manifests.append(
            {
                "apiVersion": "security.istio.io/v1",
                "kind": "AuthorizationPolicy",
                "metadata": {
                    "name": workload.name,
                    "namespace": namespace,
                    "labels": labels_of(policy, workload),
                },
                "spec": {
                    "selector": {"matchLabels": {"app": workload.name}},
                    "action": "ALLOW",
                    "rules": rules,
                },
            }
        )
    return manifests


def files(policy: Policy) -> dict[Path, str]:
    base = Path("k8s/base/istio")
    rendered = {
        base / f"{workload.name}.yaml": dump(
            [destination_rule(policy, workload), virtual_service(policy, workload)]
        )
        for workload in policy.workloads
        if not workload.is_gateway
    }
    rendered[base / "peer-authentication.yaml"] = dump([peer_authentication()])
    for env, spec in policy.environments.items():
        path = Path("k8s/overlays") / env / "generated" / "authorization-policies.yaml"
        rendered[path] = dump(authorization_policies(policy, spec["namespace"]))
    return rendered
