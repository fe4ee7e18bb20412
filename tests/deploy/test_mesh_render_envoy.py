"""The local sidecars and the cluster's Istio objects come from one policy and must decide alike:
for every (caller, method) pair the Envoy RBAC and the Istio AuthorizationPolicy allow or deny
the same calls, and routes carry the same timeouts, retries and outlier detection."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

NAMESPACE_ENV = "dev"
STRANGERS = ("developer", "intruder")


@pytest.fixture(scope="module")
def policy(render_module: ModuleType) -> Any:
    return render_module.Policy.load()


@pytest.fixture(scope="module")
def namespace(policy: Any) -> str:
    return str(policy.environments[NAMESPACE_ENV]["namespace"])


def _plan(render_module: ModuleType, policy: Any, workload: str, namespace: str) -> Any:
    upstreams = policy.upstreams_of(workload)
    is_service = workload in policy.services
    return render_module.envoy.SidecarPlan(
        workload=workload,
        namespace=namespace,
        admin=15000,
        certificate_sds=Path("/state/identities") / workload / "sds" / "secret.json",
        trusted_ca=Path("/state/identities/ca.pem"),
        inbound=20000 if is_service else None,
        app=20001 if is_service else None,
        outbound={name: 21000 + i for i, name in enumerate(upstreams)},
        peers={name: [22000 + i] for i, name in enumerate(upstreams)},
    )


# What Istio decides ------------------------------------------------------------------------


def _istio_allows(
    authorization: list[Mapping[str, Any]], workload: str, principal: str, path: str
) -> bool:
    """Istio semantics for ALLOW policies: some rule matches source and operation."""
    namespace_of_principal = principal.split("/ns/")[1].split("/")[0]
    for document in authorization:
        spec = document["spec"]
        if spec.get("selector", {}).get("matchLabels", {}).get("app") != workload:
            continue
        assert spec["action"] == "ALLOW"
        for rule in spec["rules"]:
            sources = [f["source"] for f in rule["from"]]
            operations = [t["operation"] for t in rule["to"]]
            source_ok = any(
                principal in s.get("principals", [])
                or namespace_of_principal in s.get("namespaces", [])
                for s in sources
            )
            if source_ok and any(path in o.get("paths", []) for o in operations):
                return True
    return False


# What the sidecar decides ------------------------------------------------------------------


def _principal_matches(matcher: Mapping[str, Any], spiffe_id: str) -> bool:
    name = matcher["authenticated"]["principal_name"]
    if "exact" in name:
        return bool(spiffe_id == name["exact"])
    return spiffe_id.startswith(name["prefix"])


def _permission_matches(permission: Mapping[str, Any], path: str) -> bool:
    rules = permission["or_rules"]["rules"]
    return any(rule["url_path"]["path"]["exact"] == path for rule in rules)


def _envoy_allows(rbac: Mapping[str, Any], spiffe_id: str, path: str) -> bool:
    rules = rbac["typed_config"]["rules"]
    assert rules["action"] == "ALLOW"
    return any(
        any(_permission_matches(p, path) for p in policy["permissions"])
        and any(_principal_matches(m, spiffe_id) for m in policy["principals"])
        for policy in rules["policies"].values()
    )


def test_rbac_and_authorization_policy_agree_for_every_caller_and_method(
    render_module: ModuleType, policy: Any, namespace: str
) -> None:
    authorization = render_module.istio.authorization_policies(policy, namespace)
    callers = [w.name for w in policy.workloads] + list(STRANGERS)
    checked = 0
    for workload in policy.workloads:
        if workload.is_gateway:
            continue
        grpc_service = workload.spec["grpc_service"]
        paths = [f"/{grpc_service}/{m}" for m in policy.services[workload.name]["methods"]]
        paths += [*policy.mesh_wide_paths, f"/{grpc_service}/NoSuchMethod"]
        rbac = render_module.envoy.rbac_filter(policy, workload, namespace)
        for caller in callers:
            principal = render_module.policy.principal(policy, namespace, caller)
            for path in paths:
                istio = _istio_allows(authorization, workload.name, principal, path)
                envoy = _envoy_allows(rbac, "spiffe://" + principal, path)
                assert istio == envoy, f"{caller} -> {path}: istio {istio}, envoy {envoy}"
                checked += 1
    assert checked > 500


@pytest.mark.parametrize(
    ("caller", "service", "method", "allowed"),
    [
        ("cart", "payment", "Charge", False),
        ("review", "catalog", "ReserveStock", False),
        ("order", "payment", "Charge", True),
        ("order", "catalog", "ReserveStock", True),
        ("gateway", "catalog", "GetProduct", True),
        ("developer", "catalog", "GetProduct", False),
    ],
)
def test_rbac_follows_the_policy_callers(
    render_module: ModuleType,
    policy: Any,
    namespace: str,
    caller: str,
    service: str,
    method: str,
    allowed: bool,
) -> None:
    workload = policy.workload(service)
    rbac = render_module.envoy.rbac_filter(policy, workload, namespace)
    spiffe_id = render_module.envoy.spiffe_id(policy, namespace, caller)
    path = f"/{workload.spec['grpc_service']}/{method}"
    assert _envoy_allows(rbac, spiffe_id, path) is allowed
    assert (caller in policy.method_callers(service)[method]) is allowed


def test_a_foreign_namespace_gets_nothing(
    render_module: ModuleType, policy: Any, namespace: str
) -> None:
    rbac = render_module.envoy.rbac_filter(policy, policy.workload("catalog"), namespace)
    foreign = render_module.envoy.spiffe_id(policy, "elsewhere", "order")
    assert not _envoy_allows(rbac, foreign, "/grpc.health.v1.Health/Check")
    assert not _envoy_allows(rbac, foreign, "/shop.catalog.v1.CatalogService/ReserveStock")


# Routes ------------------------------------------------------------------------------------


def _istio_routes(render_module: ModuleType, policy: Any, service: str) -> dict[str, Any]:
    """{exact gRPC path or "default": (timeout, attempts, perTryTimeout, retryOn)}."""
    virtual_service = render_module.istio.virtual_service(policy, policy.workload(service))
    routes: dict[str, Any] = {}
    for http in virtual_service["spec"]["http"]:
        matches = http.get("match", [])
        if any("headers" in m for m in matches):
            continue  # A/B routes of the canary: one replica locally, same settings as default
        key = matches[0]["uri"]["exact"] if matches else "default"
        retries = http["retries"]
        routes[key] = (
            http["timeout"],
            retries["attempts"],
            retries["perTryTimeout"],
            retries["retryOn"],
        )
    return routes


def _envoy_routes(bootstrap: Mapping[str, Any], service: str) -> dict[str, Any]:
    listener = next(
        item
        for item in bootstrap["static_resources"]["listeners"]
        if item["name"] == f"outbound|{service}"
    )
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    routes: dict[str, Any] = {}
    for route in manager["route_config"]["virtual_hosts"][0]["routes"]:
        key = route["match"].get("path", "default")
        retry = route["route"]["retry_policy"]
        routes[key] = (
            route["route"]["timeout"],
            retry["num_retries"],
            retry["per_try_timeout"],
            retry["retry_on"],
        )
    return routes


def test_outbound_routes_have_the_virtual_services_timeouts_and_retries(
    render_module: ModuleType, policy: Any, namespace: str
) -> None:
    compared = 0
    for workload in policy.workloads:
        plan = _plan(render_module, policy, workload.name, namespace)
        bootstrap = render_module.envoy.bootstrap(policy, plan)
        for upstream in plan.outbound:
            istio = _istio_routes(render_module, policy, upstream)
            envoy = _envoy_routes(bootstrap, upstream)
            assert envoy == istio, f"{workload.name} -> {upstream}"
            compared += 1
    assert compared >= 9


def test_outbound_clusters_eject_like_the_destination_rules(
    render_module: ModuleType, policy: Any, namespace: str
) -> None:
    bootstrap = render_module.envoy.bootstrap(
        policy, _plan(render_module, policy, "gateway", namespace)
    )
    clusters = {c["name"]: c for c in bootstrap["static_resources"]["clusters"]}
    for service in policy.upstreams_of("gateway"):
        rule = render_module.istio.destination_rule(policy, policy.workload(service))
        outlier = rule["spec"]["trafficPolicy"]["outlierDetection"]
        envoy = clusters[f"outbound|{service}"]["outlier_detection"]
        assert envoy["consecutive_5xx"] == outlier["consecutive5xxErrors"], service
        assert envoy["interval"] == outlier["interval"], service
        assert envoy["base_ejection_time"] == outlier["baseEjectionTime"], service
        assert envoy["max_ejection_percent"] == outlier["maxEjectionPercent"], service


def test_sidecars_speak_mtls_with_secure_naming(
    render_module: ModuleType, policy: Any, namespace: str
) -> None:
    bootstrap = render_module.envoy.bootstrap(
        policy, _plan(render_module, policy, "order", namespace)
    )
    inbound = next(
        item for item in bootstrap["static_resources"]["listeners"] if item["name"] == "inbound"
    )
    tls = inbound["filter_chains"][0]["transport_socket"]["typed_config"]
    assert tls["require_client_certificate"] is True
    clusters = {c["name"]: c for c in bootstrap["static_resources"]["clusters"]}
    upstream = clusters["outbound|payment"]["transport_socket"]["typed_config"]
    names = upstream["common_tls_context"]["validation_context"]["match_typed_subject_alt_names"]
    assert names == [
        {
            "san_type": "URI",
            "matcher": {"exact": f"spiffe://cluster.local/ns/{namespace}/sa/payment"},
        }
    ]
