"""Every kustomization builds, every object validates against its schema, and the rendered
overlays follow the platform's deployment rules."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pytest

from mesh.roster import SERVICE_NAMES

from .deploy_schemas import Validator
from .deploy_tools import KUSTOMIZATIONS, ROOT

Docs = list[dict[str, Any]]
SERVICES = SERVICE_NAMES
WORKLOADS = (*SERVICES, "gateway")
# Istio's protocol selection by port name: <protocol>[-<suffix>].
ISTIO_PORT_NAME = re.compile(
    r"^(grpc|grpc-web|http|http2|https|mongo|mysql|redis|tcp|tls|udp)(-[a-z0-9-]+)?$"
)


def _of(docs: Iterable[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if not selector:
        return True
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        value = labels.get(expression["key"])
        if expression["operator"] == "In" and value not in expression["values"]:
            return False
        if expression["operator"] == "NotIn" and value in expression["values"]:
            return False
        if expression["operator"] == "Exists" and value is None:
            return False
    return True


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_kustomization_builds_and_validates(
    name: str, builds: dict[str, Docs], validator: Validator
) -> None:
    problems = []
    for doc in builds[name]:
        for error in validator.errors(doc):
            problems.append(f"{doc['kind']}/{doc['metadata'].get('name')}: {error}")
    assert builds[name], f"{name} rendered nothing"
    assert not problems, "\n".join(problems)


def test_validator_rejects_unknown_fields(validator: Validator) -> None:
    route = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "x"},
    }
    assert validator.errors({**route, "spec": {"hosts": ["x"], "http": [{"timeout": "1s"}]}}) == []
    assert validator.errors({**route, "spec": {"hosts": ["x"], "htttp": []}})
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}}
    assert validator.errors({**deployment, "spec": {"replicas": "three"}})
    assert validator.errors({"apiVersion": "example.com/v1", "kind": "Unknown", "metadata": {}})


def _proto_services() -> set[str]:
    """Services with contracts in proto/shop/<name>/v1 (shared packages excluded)."""
    shared = {"common", "events", "api"}
    return {p.parent.parent.name for p in (ROOT / "proto" / "shop").glob("*/v1/*.proto")} - shared


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_every_service_has_its_objects(overlay: str, builds: dict[str, Docs]) -> None:
    docs = builds[overlay]
    services = set(SERVICES) | _proto_services()
    workloads = services | {"gateway"}
    for kind in (
        "Deployment",
        "Service",
        "ServiceAccount",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "AuthorizationPolicy",
        "NetworkPolicy",
    ):
        missing = workloads - set(_of(docs, kind))
        assert not missing, f"{overlay}: {kind} missing for {sorted(missing)}"
    for kind in ("DestinationRule", "VirtualService"):
        missing = services - set(_of(docs, kind))
        assert not missing, f"{overlay}: {kind} missing for {sorted(missing)}"


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_deployments_are_hardened_and_probed(overlay: str, builds: dict[str, Docs]) -> None:
    docs = builds[overlay]
    policies = _of(docs, "NetworkPolicy")
    grace = int(
        next(
            d
            for d in docs
            if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("global-config")
        )["data"]["GRPC_GRACE_SECONDS"]
    )
    assert "default-deny" in policies
    for name, deployment in _of(docs, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["terminationGracePeriodSeconds"] > grace, name
        assert {c["topologyKey"] for c in pod.get("topologySpreadConstraints", [])} >= {
            "topology.kubernetes.io/zone"
        }, name
        for container in pod["containers"]:
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                assert probe in container, f"{name}: no {probe}"
            if labels.get("app") in SERVICES:
                assert (
                    "grpc" in container["readinessProbe"] and "grpc" in container["livenessProbe"]
                ), name
            resources = container["resources"]
            for section in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(section, {})), f"{name}: {section}"
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
        selecting = [
            p
            for p, spec in policies.items()
            if p != "default-deny" and _selects(spec["spec"]["podSelector"], labels)
        ]
        assert selecting, f"{overlay}: no NetworkPolicy selects Deployment {name}"


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_service_ports_follow_istio_naming(overlay: str, builds: dict[str, Docs]) -> None:
    for name, service in _of(builds[overlay], "Service").items():
        for port in service["spec"]["ports"]:
            assert ISTIO_PORT_NAME.match(port["name"]), f"{name}: port name {port['name']}"
    for name in SERVICES:
        names = [p["name"] for p in _of(builds[overlay], "Service")[name]["spec"]["ports"]]
        assert names == ["grpc", "http-metrics"], name


def _images(docs: Docs) -> list[str]:
    images = []
    for doc in docs:
        spec = doc.get("spec", {})
        template = spec.get("template", {}).get("spec", {}) if isinstance(spec, dict) else {}
        images += [
            c["image"] for c in template.get("containers", []) + template.get("initContainers", [])
        ]
    return images


def test_prod_images_are_pinned(builds: dict[str, Docs]) -> None:
    images = _images(builds["prod"])
    assert images
    for image in images:
        reference = image.split("@")[0]
        tag = reference.rsplit(":", 1)[1] if ":" in reference.rsplit("/", 1)[-1] else None
        assert "@sha256:" in image or (tag and tag != "latest"), f"prod image not pinned: {image}"
        assert re.match(r"^[\w.-]+(:\d+)?/shopmesh/[a-z]+[:@]", image), f"image naming: {image}"


def test_prod_replicas_autoscaling_and_budgets(builds: dict[str, Docs]) -> None:
    docs = builds["prod"]
    rollouts = _of(docs, "Rollout")
    managed = {
        r["spec"]["workloadRef"]["name"] for r in rollouts.values() if "workloadRef" in r["spec"]
    }
    for name, deployment in _of(docs, "Deployment").items():
        if name in managed:
            assert rollouts[name]["spec"]["replicas"] >= 3
        elif deployment["metadata"]["labels"].get("version", "v1") == "v1":
            assert deployment["spec"]["replicas"] >= 3, name
    for name, hpa in _of(docs, "HorizontalPodAutoscaler").items():
        spec = hpa["spec"]
        assert (spec["minReplicas"], spec["maxReplicas"]) == (3, 10), name
        targets = {
            m["resource"]["name"]: m["resource"]["target"]["averageUtilization"]
            for m in spec["metrics"]
        }
        assert targets == {"cpu": 70, "memory": 80}, name
    for name, pdb in _of(docs, "PodDisruptionBudget").items():
        assert pdb["spec"]["minAvailable"] == 2, name


def test_dev_is_small_and_verbose(builds: dict[str, Docs]) -> None:
    docs = builds["dev"]
    for name, deployment in _of(docs, "Deployment").items():
        assert 1 <= deployment["spec"]["replicas"] <= 2, name
    config = next(
        d
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("global-config")
    )
    assert config["data"]["LOG_LEVEL"] == "DEBUG"
    assert {d["metadata"]["namespace"] for d in docs if "namespace" in d["metadata"]} == {
        "ecommerce-dev"
    }


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_istio_policy(overlay: str, builds: dict[str, Docs]) -> None:
    docs = builds[overlay]
    namespace = "ecommerce-dev" if overlay == "dev" else "ecommerce"
    assert _of(docs, "PeerAuthentication")["default"]["spec"]["mtls"]["mode"] == "STRICT"
    payment = _of(docs, "VirtualService")["payment"]["spec"]["http"]
    charge = next(
        r
        for r in payment
        if r.get("match", [{}])[0].get("uri", {}).get("exact")
        == "/shop.payment.v1.PaymentService/Charge"
    )
    assert charge["timeout"] == "5s"
    assert charge["retries"] == {
        "attempts": 3,
        "perTryTimeout": "2s",
        "retryOn": "gateway-error,connect-failure,refused-stream",
    }
    user = _of(docs, "VirtualService")["user"]["spec"]["http"]
    assert sorted(d["weight"] for d in user[-1]["route"]) == [10, 90]
    headers = [
        r["match"][0]["headers"]["x-test-group"]["exact"]
        for r in user
        if "headers" in r.get("match", [{}])[0]
    ]
    assert headers == ["A", "B"]
    for name, rule in _of(docs, "DestinationRule").items():
        traffic = rule["spec"]["trafficPolicy"]
        assert traffic["connectionPool"]["tcp"]["maxConnections"] > 0, name
        assert traffic["outlierDetection"]["baseEjectionTime"], name
    authz = _of(docs, "AuthorizationPolicy")
    assert authz["allow-nothing"]["spec"] == {}
    charge_rules = [
        rule
        for rule in authz["payment"]["spec"]["rules"]
        if "/shop.payment.v1.PaymentService/Charge" in rule["to"][0]["operation"]["paths"]
    ]
    assert [r["from"][0]["source"]["principals"] for r in charge_rules] == [
        [f"cluster.local/ns/{namespace}/sa/order"]
    ]


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_stores_admit_only_their_owners(overlay: str, builds: dict[str, Docs]) -> None:
    policies = _of(builds[overlay], "NetworkPolicy")
    owners = {
        "postgresql": ["analytics", "notification", "order", "payment", "user"],
        "mongodb": ["catalog", "review"],
        "redis": ["cart", "catalog", "gateway", "user"],
        "elasticsearch": ["search"],
    }
    for store, expected in owners.items():
        rule = policies[f"allow-{store}-clients"]["spec"]["ingress"][0]
        assert rule["from"][0]["podSelector"]["matchExpressions"][0]["values"] == expected
    gateway = policies["gateway"]["spec"]["ingress"][0]["from"][0]
    assert gateway == {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kong"}}
    }


def test_kong_ingress_points_at_the_gateway_with_the_seed_plugins(builds: dict[str, Docs]) -> None:
    docs = builds["prod"]
    plugins = _of(docs, "KongPlugin")
    services = _of(docs, "Service")
    ingresses = _of(docs, "Ingress")
    assert ingresses
    for name, ingress in ingresses.items():
        enabled = ingress["metadata"]["annotations"]["konghq.com/plugins"].split(",")
        assert {"cors", "bot-detection"} <= set(enabled), name
        assert any(p.startswith("rate-limiting") for p in enabled), name
        assert set(enabled) <= set(plugins), f"{name}: unknown plugin"
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert path["backend"]["service"]["name"] == "gateway"
                assert path["backend"]["service"]["name"] in services
    assert "jwt-auth" in ingresses["shopmesh-api"]["metadata"]["annotations"]["konghq.com/plugins"]
    assert plugins["jwt-auth"]["plugin"] == "jwt"
    assert {c["username"] for c in _of(docs, "KongConsumer").values()} == {"web-app", "mobile-app"}


def test_observability_objects(builds: dict[str, Docs]) -> None:
    prod = builds["prod"]
    monitors = _of(prod, "ServiceMonitor")
    assert monitors["shopmesh"]["spec"]["endpoints"][0]["port"] == "http-metrics"
    rules = _of(prod, "PrometheusRule")
    alerts = {
        r["alert"]
        for rule in rules.values()
        for g in rule["spec"]["groups"]
        for r in g["rules"]
        if "alert" in r
    }
    assert "PossibleMemoryLeak" in alerts
    slo_groups = {g["name"] for g in rules["shopmesh-slo"]["spec"]["groups"]}
    assert slo_groups == {f"slo-{w}" for w in WORKLOADS}
    for group in rules["shopmesh-slo"]["spec"]["groups"]:
        names = {r.get("alert") for r in group["rules"]}
        assert {"AvailabilityBudgetBurn", "LatencyBudgetBurn"} <= names, group["name"]
    observability = builds["observability"]
    assert _of(observability, "Jaeger")
    dashboards = _of(observability, "ConfigMap")["grafana-dashboards-shopmesh"]
    assert set(dashboards["data"]) == {
        "red-per-service.json",
        "kafka-consumer-lag.json",
        "business-kpis.json",
    }


def test_no_secret_objects_are_rendered(builds: dict[str, Docs]) -> None:
    for name, docs in builds.items():
        secrets = [d["metadata"]["name"] for d in docs if d["kind"] == "Secret"]
        assert not secrets, (
            f"{name} renders Secrets {secrets}: supply them through External Secrets"
        )


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_every_workload_gets_its_own_service_credentials(
    overlay: str, builds: dict[str, Docs]
) -> None:
    # The gateway too: its service token vouches for the client address it forwards to the
    # user service (mesh/auth/forwarded.py); without it every shopper shares one throttle.
    docs = builds[overlay]
    external = _of(docs, "ExternalSecret")
    for name, deployment in _of(docs, "Deployment").items():
        app = deployment["spec"]["template"]["metadata"]["labels"]["app"]
        env = {e["name"]: e for c in deployment["spec"]["template"]["spec"]["containers"]
               for e in c.get("env", [])}  # fmt: skip
        assert env["SERVICE_CLIENT_ID"]["value"] == app, name
        reference = env["SERVICE_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"]
        assert reference == {"name": f"{app}-credentials", "key": "service-client-secret"}, name
        keys = {d["secretKey"] for d in external[f"{app}-credentials"]["spec"]["data"]}
        assert "service-client-secret" in keys, name
    assert {
        d["spec"]["template"]["metadata"]["labels"]["app"] for d in _of(docs, "Deployment").values()
    } >= set(WORKLOADS)
