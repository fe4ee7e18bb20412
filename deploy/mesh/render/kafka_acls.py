"""Kafka's users and ACLs per topic, from the policy's `events` section (who produces, who
consumes), as a values file for the bitnami/kafka chart next to helm/kafka-values.yaml.

Every workload that touches Kafka is a SCRAM user named after itself. A producer may write
its topic; a consumer may read it with the consumer group of its own name and write dead
letters to `<topic>.dlq`. Nothing else is allowed (`allow.everyone.if.no.acl.found=false`
in kafka-values.yaml), so a workload cannot forge another's events or read PII it does not
consume.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from .manifest import HEADER
from .policy import Policy

OUTPUT: Final = Path("helm/kafka-acls-values.yaml")
BOOTSTRAP: Final = "kafka:9092"
# The chart writes the provisioning client's SASL/TLS settings to this file.
CLIENT_CONFIG: Final = "${CLIENT_CONF:-/tmp/client.properties}"
WRITE: Final = ("Write", "Describe")
READ: Final = ("Read", "Describe")


def topic_rules(policy: Policy) -> Mapping[str, Mapping[str, list[str]]]:
    events: Mapping[str, Mapping[str, list[str]]] = policy.raw.get("events", {})
    return events


def users(policy: Policy) -> list[str]:
    names: set[str] = set()
    for rule in topic_rules(policy).values():
        names.update(rule.get("producers", []), rule.get("consumers", []))
    return sorted(names)


@dataclass(frozen=True, slots=True)
class AclBinding:
    """One allow rule: `principal` may do `operations` on the topic or group `name`."""

    principal: str
    operations: tuple[str, ...]
    resource: str  # "topic" or "group"
    name: str


def acl_bindings(policy: Policy) -> list[AclBinding]:
    """Every ACL the policy implies, in policy order, each once (the chart renders them as
    commands; the local launcher creates the same ones on its broker)."""
    bindings: list[AclBinding] = []
    for topic, rule in topic_rules(policy).items():
        for producer in rule.get("producers", []):
            bindings.append(AclBinding(producer, WRITE, "topic", topic))
        for consumer in rule.get("consumers", []):
            bindings.append(AclBinding(consumer, READ, "topic", topic))
            bindings.append(AclBinding(consumer, ("Read",), "group", consumer))
            bindings.append(AclBinding(consumer, WRITE, "topic", f"{topic}.dlq"))
    # A consumer of several topics needs its group's ACL once.
    return list(dict.fromkeys(bindings))


def acl_commands(policy: Policy) -> list[str]:
    def command(binding: AclBinding) -> str:
        ops = " ".join(f"--operation {op}" for op in binding.operations)
        return (
            f"kafka-acls.sh --bootstrap-server {BOOTSTRAP} --command-config {CLIENT_CONFIG}"
            f" --add --allow-principal User:{binding.principal} {ops}"
            f" --{binding.resource} {binding.name}"
        )

    return [command(binding) for binding in acl_bindings(policy)]


def values(policy: Policy) -> dict[str, Any]:
    return {
        "sasl": {"client": {"users": users(policy)}},
        "provisioning": {"extraProvisioningCommands": acl_commands(policy)},
    }


def files(policy: Policy) -> dict[Path, str]:
    # Long commands fold onto continuation lines (same value; yamllint keeps lines short).
    body = yaml.safe_dump(values(policy), sort_keys=False, default_flow_style=False, width=120)
    return {OUTPUT: HEADER + body}
