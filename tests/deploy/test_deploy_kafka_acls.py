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
