"""Kafka users and ACLs rendered from the policy's `events` section: each workload writes only
the topics it produces and reads only the topics it consumes (with its own group)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from mesh.events.envelope import AGGREGATE_TYPES, topic_for

from .deploy_tools import DEPLOY, ROOT

ACL = re.compile(
    r"--allow-principal User:(?P<user>[a-z]+) (?P<ops>(?:--operation \w+ ?)+)"
    r"--(?P<kind>topic|group) (?P<name>[\w.]+)$"
)


def rendered() -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load(
        (DEPLOY / "helm" / "kafka-acls-values.yaml").read_text(encoding="utf-8")
    )
    return values


def grants() -> set[tuple[str, str, str, str]]:
    """(user, operation, kind, name) for every rendered ACL."""
    found = set()
    for command in rendered()["provisioning"]["extraProvisioningCommands"]:
        match = ACL.search(command)
        assert match, command
        for op in re.findall(r"--operation (\w+)", match["ops"]):
            found.add((match["user"], op, match["kind"], match["name"]))
    return found


def test_every_topic_of_the_code_has_its_producers() -> None:
    events = yaml.safe_load((DEPLOY / "mesh" / "policy.yaml").read_text())["events"]
    assert set(events) == {topic_for(aggregate) for aggregate in AGGREGATE_TYPES}
    for topic, rule in events.items():
        assert rule["producers"], topic


def test_producers_write_and_consumers_read_only_their_topics() -> None:
    events = yaml.safe_load((DEPLOY / "mesh" / "policy.yaml").read_text())["events"]
    found = grants()
    for topic, rule in events.items():
        for producer in rule["producers"]:
            assert (producer, "Write", "topic", topic) in found
        for consumer in rule["consumers"]:
            assert (consumer, "Read", "topic", topic) in found
            assert (consumer, "Read", "group", consumer) in found
            assert (consumer, "Write", "topic", f"{topic}.dlq") in found
    for user, op, kind, name in found:
        if kind == "topic" and op == "Write" and not name.endswith(".dlq"):
            assert user in events[name]["producers"], (user, name)
        if kind == "topic" and op == "Read":
            assert user in events[name]["consumers"], (user, name)
    assert rendered()["sasl"]["client"]["users"] == sorted(
        {u for r in events.values() for u in r["producers"] + r["consumers"]}
    )


def test_consumers_in_the_code_are_consumers_in_the_policy() -> None:
    """A service subscribing to a topic the policy does not give it would be refused by the
    broker: the subscriptions written in each main.py must match the policy."""
    events = yaml.safe_load((DEPLOY / "mesh" / "policy.yaml").read_text())["events"]
    for main in sorted((ROOT / "services").glob("*/main.py")):
        service = main.parent.name
        text = main.read_text(encoding="utf-8")
        if "EventConsumer(" not in text:
            continue
        subscribed = {topic_for(a) for a in re.findall(r'topic_for\("(\w+)"\)', text)}
        # Producers name their own topic too; every other topic named is a subscription.
        for topic in subscribed - {t for t, r in events.items() if service in r["producers"]}:
            assert service in events[topic]["consumers"], (service, topic)


def test_the_chart_refuses_what_no_acl_allows() -> None:
    text = Path(DEPLOY / "helm" / "kafka-values.yaml").read_text(encoding="utf-8")
    values = yaml.safe_load(text)
    assert values["listeners"]["client"]["protocol"] == "SASL_SSL"
    assert "allow.everyone.if.no.acl.found=false" in values["extraConfig"]
    assert "StandardAuthorizer" in values["extraConfig"]


def manifests(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def kafka_values() -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load(
        (DEPLOY / "helm" / "kafka-values.yaml").read_text(encoding="utf-8")
    )
    return values


def deployments() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted((DEPLOY / "k8s" / "base" / "services").glob("*.yaml")):
        for doc in manifests(path):
            if doc["kind"] == "Deployment":
                found[doc["metadata"]["name"]] = doc
    return found


def test_every_kafka_user_logs_in_as_itself_over_sasl_ssl() -> None:
    """Each pod of a Kafka user connects as the chart's listener asks (SASL_SSL, the enabled
    mechanism), as the user of its own name, with the password from its own Secret, and
    trusts the CA of the kafka-tls Secret; the workloads without Kafka get none of it."""
    values = kafka_values()
    users = set(rendered()["sasl"]["client"]["users"])
    seen = set()
    for name, deployment in deployments().items():
        workload = name.removesuffix("-v2")
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        env = {e["name"]: e for e in container["env"]}
        if workload not in users:
            assert not any(key.startswith("KAFKA_SASL") for key in env), name
            continue
        seen.add(workload)
        assert env["KAFKA_SECURITY_PROTOCOL"]["value"] == values["listeners"]["client"]["protocol"]
        assert env["KAFKA_SASL_MECHANISM"]["value"] == values["sasl"]["enabledMechanisms"]
        assert env["KAFKA_SASL_USERNAME"]["value"] == workload
        ref = env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": f"{workload}-credentials", "key": "kafka-password"}
        ca_file = Path(env["KAFKA_SSL_CAFILE"]["value"])
        (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == str(ca_file.parent)]
        assert mount["readOnly"] is True
        (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
        # Only the CA: kafka-tls also holds the brokers' private key.
        assert volume["secret"]["secretName"] == values["tls"]["existingSecret"]
        assert volume["secret"]["items"] == [{"key": ca_file.name, "path": ca_file.name}]
    assert seen == users


def test_the_broker_and_each_workload_read_the_same_password() -> None:
    """kafka-auth's client-passwords lists, in the order of sasl.client.users, the very
    secret-store entries the workloads' own Secrets read as kafka-password."""
    users = rendered()["sasl"]["client"]["users"]
    secrets = {
        doc["metadata"]["name"]: doc
        for doc in manifests(DEPLOY / "k8s" / "base" / "secrets" / "external-secrets.yaml")
    }
    auth = secrets[kafka_values()["sasl"]["existingSecret"]]["spec"]
    fields = {d["secretKey"]: d["remoteRef"] for d in auth["data"]}
    template = auth["target"]["template"]["data"]
    # `{{-` trims the line break before it: the Secret's value is "<pw>,<pw>,...".
    joined = re.sub(r"\n\{\{- ", "{{ ", template["client-passwords"])
    assert joined == ",".join(f"{{{{ .{user} }}}}" for user in users)
    for user in users:
        (own,) = [
            d["remoteRef"]
            for d in secrets[f"{user}-credentials"]["spec"]["data"]
            if d["secretKey"] == "kafka-password"
        ]
        assert fields[user] == own
    assert {"inter-broker-password", "controller-password"} <= set(template)
