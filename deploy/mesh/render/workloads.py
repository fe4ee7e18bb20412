"""Per-workload Kubernetes objects: ServiceAccount, Service, Deployments, autoscaler, budget."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from .manifest import Manifest, dump, labels_of, meta
from .network import network_policy
from .policy import Policy, Workload
from .secrets import secret_env, secret_keys, uses_kafka

IMAGE_REPOSITORY: Final = "shopmesh"
JWT_KEY_MOUNT: Final = "/var/run/secrets/shopmesh/jwt"
# The CA that signed the brokers' certificates, the only item taken from the chart's
# kafka-tls Secret (it also holds the brokers' private key).
KAFKA_CA_MOUNT: Final = "/var/run/secrets/shopmesh/kafka-tls"
KAFKA_TLS_SECRET: Final = "kafka-tls"
KAFKA_CA_KEY: Final = "ca.crt"
TERMINATION_MARGIN_SECONDS: Final = 20


def _env(policy: Policy, workload: Workload) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [{"name": "OTEL_SERVICE_NAME", "value": workload.name}]
    port_env = "GATEWAY_PORT" if workload.is_gateway else "GRPC_PORT"
    env += [
        {"name": port_env, "value": str(workload.port)},
        {"name": "SERVICE_CLIENT_ID", "value": workload.name},
    ]
    metrics_env = "GATEWAY_METRICS_PORT" if workload.is_gateway else "METRICS_PORT"
    env.append({"name": metrics_env, "value": str(workload.metrics_port)})
    env += [{"name": k, "value": str(v)} for k, v in workload.spec.get("env", {}).items()]
    env += [secret_env(workload, name, key) for name, key in secret_keys(policy, workload)]
    if "jwt_key_secret" in workload.spec:
        env.append({"name": "JWT_KEY_DIR", "value": JWT_KEY_MOUNT})
    if uses_kafka(workload):
        # mesh.events.security.KafkaSecurity: SASL/SCRAM over TLS, as helm/kafka-values.yaml
        # serves it; the password comes from the workload's Secret (secret_keys).
        env += [
            {"name": "KAFKA_SECURITY_PROTOCOL", "value": "SASL_SSL"},
            {"name": "KAFKA_SASL_MECHANISM", "value": "SCRAM-SHA-512"},
            {"name": "KAFKA_SASL_USERNAME", "value": workload.name},
            {"name": "KAFKA_SSL_CAFILE", "value": f"{KAFKA_CA_MOUNT}/{KAFKA_CA_KEY}"},
        ]
    return env


def _probes(workload: Workload) -> dict[str, Any]:
    if workload.is_gateway:
        live: dict[str, Any] = {"httpGet": {"path": "/healthz", "port": "http"}}
        ready: dict[str, Any] = {"httpGet": {"path": "/readyz", "port": "http"}}
    else:
        # Readiness asks for the full service name, which goes NOT_SERVING while a store is
        # down; liveness asks for `liveness`, SERVING while the process runs, so a store
        # outage takes pods out of rotation without restarting them.
        live = {"grpc": {"port": workload.port, "service": "liveness"}}
        ready = {"grpc": {"port": workload.port, "service": workload.spec["grpc_service"]}}
    return {
        "startupProbe": {**live, "periodSeconds": 2, "failureThreshold": 60},
        "livenessProbe": {**live, "periodSeconds": 10, "timeoutSeconds": 2, "failureThreshold": 6},
        "readinessProbe": {**ready, "periodSeconds": 5, "timeoutSeconds": 2, "failureThreshold": 2},
    }


def _pod_spec(policy: Policy, workload: Workload, version: str) -> dict[str, Any]:
    grace = int(policy.defaults["grace_seconds"])
    env_from: list[dict[str, Any]] = [
        {"configMapRef": {"name": "global-config"}},
        {"configMapRef": {"name": "feature-flags"}},
    ]
    if "config_map" in workload.spec:
        env_from.append({"configMapRef": {"name": workload.spec["config_map"]}})
    command = ["python", "-m", "gateway" if workload.is_gateway else f"services.{workload.name}"]
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}]
    if "jwt_key_secret" in workload.spec:
        mounts.append({"name": "jwt-keys", "mountPath": JWT_KEY_MOUNT, "readOnly": True})
        volumes.append(
            # Group-readable only: the pod's fsGroup owns the files, nobody else reads them.
            {
                "name": "jwt-keys",
                "secret": {"secretName": workload.spec["jwt_key_secret"], "defaultMode": 0o440},
            }
        )
    if uses_kafka(workload):
        mounts.append({"name": "kafka-ca", "mountPath": KAFKA_CA_MOUNT, "readOnly": True})
        volumes.append(
            {
                "name": "kafka-ca",
                "secret": {
                    "secretName": KAFKA_TLS_SECRET,
                    "items": [{"key": KAFKA_CA_KEY, "path": KAFKA_CA_KEY}],
                    "defaultMode": 0o440,
                },
            }
        )
    container = {
        "name": workload.name,
        "image": f"{IMAGE_REPOSITORY}/{workload.name}:{policy.defaults['image_tag']}",
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "ports": [
            {"name": workload.port_name, "containerPort": workload.port, "protocol": "TCP"},
            {"name": "http-metrics", "containerPort": workload.metrics_port, "protocol": "TCP"},
        ],
        "envFrom": env_from,
        "env": _env(policy, workload),
        "resources": policy.setting(workload, "resources"),
        **_probes(workload),
        # Give endpoints time to drop the pod before the server starts draining.
        "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": mounts,
    }
    selector = {"matchLabels": {"app": workload.name}}
    return {
        "serviceAccountName": workload.name,
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": grace + TERMINATION_MARGIN_SECONDS,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "fsGroup": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": key,
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": selector,
            }
            for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
        ],
        "containers": [container],
        "volumes": volumes,
    }


def deployment(policy: Policy, workload: Workload, version: str, replicas: int) -> Manifest:
    suffix = "" if version == "v1" else f"-{version}"
    labels = labels_of(policy, workload, version)
    selector = {"app": workload.name, "version": version}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(workload.name + suffix, labels),
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
            },
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {
                        # Prometheus scrapes outside the mesh; keep its port off the sidecar.
                        "traffic.sidecar.istio.io/excludeInboundPorts": str(workload.metrics_port),
                        "kubectl.kubernetes.io/default-container": workload.name,
                    },
                },
                "spec": _pod_spec(policy, workload, version),
            },
        },
    }


def service(policy: Policy, workload: Workload) -> Manifest:
    protocol = "http" if workload.is_gateway else "grpc"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(workload.name, labels_of(policy, workload)),
        "spec": {
            "type": "ClusterIP",
            "selector": {"app": workload.name},
            "ports": [
                {
                    "name": workload.port_name,
                    "port": workload.port,
                    "targetPort": workload.port_name,
                    "appProtocol": protocol,
                    "protocol": "TCP",
                },
                {
                    "name": "http-metrics",
                    "port": workload.metrics_port,
                    "targetPort": "http-metrics",
                    "appProtocol": "http",
                    "protocol": "TCP",
                },
            ],
        },
    }


def service_account(policy: Policy, workload: Workload) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta(workload.name, labels_of(policy, workload)),
        "automountServiceAccountToken": False,
    }


def autoscaler(policy: Policy, workload: Workload) -> Manifest:
    def utilization(resource: str, percent: int) -> dict[str, Any]:
        target = {"type": "Utilization", "averageUtilization": percent}
        return {"type": "Resource", "resource": {"name": resource, "target": target}}

    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta(workload.name, labels_of(policy, workload)),
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": workload.name,
            },
            "minReplicas": 3,
            "maxReplicas": 10,
            "metrics": [utilization("cpu", 70), utilization("memory", 80)],
        },
    }


def disruption_budget(policy: Policy, workload: Workload) -> Manifest:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta(workload.name, labels_of(policy, workload)),
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": workload.name}}},
    }


def workload_manifests(policy: Policy, workload: Workload) -> list[Manifest]:
    manifests = [service_account(policy, workload), service(policy, workload)]
    manifests.append(deployment(policy, workload, "v1", 3))
    if "canary" in workload.spec:
        # The canary subset needs pods of its own; its image is bumped independently.
        manifests.append(deployment(policy, workload, "v2", 1))
    manifests += [
        autoscaler(policy, workload),
        disruption_budget(policy, workload),
        network_policy(policy, workload),
    ]
    return manifests


def files(policy: Policy) -> dict[Path, str]:
    return {
        Path("k8s/base/services") / f"{workload.name}.yaml": dump(
            workload_manifests(policy, workload)
        )
        for workload in policy.workloads
    }
