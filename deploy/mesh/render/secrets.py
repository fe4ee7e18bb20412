"""Which Secret keys each workload reads, and the ExternalSecrets that provide them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from .kafka_acls import users as kafka_users
from .manifest import Manifest, dump
from .policy import Policy, Workload

# The Kafka chart's Secret (sasl.existingSecret in helm/kafka-values.yaml).
KAFKA_AUTH_SECRET: Final = "kafka-auth"
KAFKA_PASSWORD_KEY: Final = "kafka-password"
# The chart's own logins (Secret key -> template field).
BROKER_PASSWORDS: Final = {
    "inter-broker-password": "interBrokerPassword",
    "controller-password": "controllerPassword",
}


def uses_kafka(workload: Workload) -> bool:
    return "kafka" in workload.stores


def secret_name(workload: Workload) -> str:
    return f"{workload.name}-credentials"


def secret_env(workload: Workload, env: str, key: str) -> dict[str, Any]:
    ref = {"name": secret_name(workload), "key": key}
    return {"name": env, "valueFrom": {"secretKeyRef": ref}}


def secret_keys(policy: Policy, workload: Workload) -> list[tuple[str, str]]:
    """(environment variable, Secret key) pairs the workload reads from its Secret."""
    keys = [
        (policy.stores[s]["env"], policy.stores[s]["secret_key"])
        for s in workload.stores
        if "secret_key" in policy.stores[s]
    ]
    if uses_kafka(workload):
        # The workload's own SCRAM password; its user name is the workload's name.
        keys.append(("KAFKA_SASL_PASSWORD", KAFKA_PASSWORD_KEY))
    if workload.spec.get("smtp"):
        keys.append(("SMTP_URL", "smtp-url"))
    # Every workload gets service tokens: services for work without a caller, the gateway to
    # vouch for the client address it forwards to the user service (mesh/auth/forwarded.py).
    keys.append(("SERVICE_CLIENT_SECRET", "service-client-secret"))
    keys += list(workload.spec.get("extra_secrets", {}).items())
    return keys


def external_secrets(policy: Policy) -> list[Manifest]:
    """ExternalSecrets that materialise each workload's Secret from the cluster's secret store."""
    manifests: list[Manifest] = []
    for workload in policy.workloads:
        keys = secret_keys(policy, workload)
        if not keys:
            continue
        manifests.append(
            _external_secret(secret_name(workload), workload.name, [k for _, k in keys])
        )
        if "jwt_key_secret" in workload.spec:
            manifests.append(_key_directory_secret(workload.spec["jwt_key_secret"]))
    manifests.append(kafka_auth_secret(policy))
    return manifests


def kafka_auth_secret(policy: Policy) -> Manifest:
    """The broker's Secret: `client-passwords` lists the workloads' SCRAM passwords in the
    order of `sasl.client.users` (helm/kafka-acls-values.yaml), each read from the same entry
    of the secret store as the workload's own Secret, so the two cannot drift apart."""
    users = kafka_users(policy)
    remote = [
        {
            "secretKey": user,
            "remoteRef": {"key": f"shopmesh/{user}", "property": KAFKA_PASSWORD_KEY},
        }
        for user in users
    ] + [
        # Template field names cannot hold a hyphen: the chart's key is the remote property.
        {"secretKey": field, "remoteRef": {"key": "shopmesh/kafka", "property": key}}
        for key, field in BROKER_PASSWORDS.items()
    ]
    template = {
        # One user a line: `{{-` drops the line break before it, so the value is "a,b,...".
        "client-passwords": ",\n".join(
            f"{{{{{'-' if i else ''} .{user} }}}}" for i, user in enumerate(users)
        ),
        **{key: f"{{{{ .{field} }}}}" for key, field in BROKER_PASSWORDS.items()},
    }
    return _external_secret_of(
        KAFKA_AUTH_SECRET,
        {"data": remote},
        template={"engineVersion": "v2", "data": template},
    )


def _key_directory_secret(name: str) -> Manifest:
    # Every property of the remote entry becomes one `<kid>.pem` file of JWT_KEY_DIR, so keys
    # are rotated by adding a property in the secret store, not by editing manifests.
    return _external_secret_of(name, {"dataFrom": [{"extract": {"key": f"shopmesh/{name}"}}]})


def _external_secret(name: str, remote: str, keys: list[str]) -> Manifest:
    data = [
        {"secretKey": key, "remoteRef": {"key": f"shopmesh/{remote}", "property": key}}
        for key in keys
    ]
    return _external_secret_of(name, {"data": data})


def _external_secret_of(
    name: str, sources: dict[str, Any], template: dict[str, Any] | None = None
) -> Manifest:
    """The ExternalSecret `name` from the cluster's secret store; `sources` is its `data` or
    `dataFrom`, `template` shapes the Secret it writes."""
    target: dict[str, Any] = {"name": name, "creationPolicy": "Owner"}
    if template is not None:
        target["template"] = template
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": name},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": "shopmesh-secrets"},
            "target": target,
            **sources,
        },
    }


def files(policy: Policy) -> dict[Path, str]:
    return {Path("k8s/base/secrets/external-secrets.yaml"): dump(external_secrets(policy))}
