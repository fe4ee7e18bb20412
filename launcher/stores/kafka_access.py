"""Who may do what on the local broker: the ACLs deploy/mesh/policy.yaml implies (the same
bindings the cluster's chart values are rendered from), created with the admin's login.

aiokafka's admin client has no call for ACLs, so the CreateAcls request is sent as is: one
request for every binding, which the broker applies idempotently (an existing ACL stays).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, Protocol

from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped]
from aiokafka.errors import KafkaError  # type: ignore[import-untyped]
from aiokafka.protocol.admin import CreateAclsRequest  # type: ignore[import-untyped]

from launcher.sidecars.renderer import load_module
from mesh.events.security import KafkaSecurity

__all__ = ["apply_acls", "policy_bindings", "wait_for_group_coordinators", "wait_until_enforced"]

# Codes of Kafka's ResourceType, AclOperation, PatternType and AclPermissionType.
_RESOURCE: Final = {"topic": 2, "group": 3}
_OPERATION: Final = {"Read": 3, "Write": 4, "Describe": 8}
_LITERAL: Final = 3
_ALLOW: Final = 3
_ANY_HOST: Final = "*"
_TOPIC_AUTHORIZATION_FAILED: Final = 29


class AclBinding(Protocol):
    """deploy/mesh/render/kafka_acls.py's AclBinding, as this module reads it."""

    @property
    def principal(self) -> str: ...
    @property
    def operations(self) -> tuple[str, ...]: ...
    @property
    def resource(self) -> str: ...
    @property
    def name(self) -> str: ...


def policy_bindings(repo_root: Path) -> list[AclBinding]:
    """The ACLs of the checkout's policy, from the renderer that writes the chart values."""
    policy = load_module(repo_root, "policy").Policy.load()
    bindings: list[AclBinding] = load_module(repo_root, "kafka_acls").acl_bindings(policy)
    return bindings


class _CreateAcls(CreateAclsRequest):  # type: ignore[misc]
    """CreateAcls with many creations in one request (aiokafka's builder takes one)."""

    def __init__(self, creations: Sequence[tuple[int, str, int, str, str, int, int]]) -> None:
        self._creations = list(creations)

    def build(self, request_struct_class: Any) -> Any:
        if request_struct_class.API_VERSION < 1:
            return request_struct_class([(c[0], c[1], *c[3:]) for c in self._creations])
        return request_struct_class(self._creations)


def _creations(bindings: Sequence[AclBinding]) -> list[tuple[int, str, int, str, str, int, int]]:
    return [
        (
            _RESOURCE[binding.resource],
            binding.name,
            _LITERAL,
            f"User:{binding.principal}",
            _ANY_HOST,
            _OPERATION[operation],
            _ALLOW,
        )
        for binding in bindings
        for operation in binding.operations
    ]


async def apply_acls(
    bootstrap_servers: str, security: KafkaSecurity, bindings: Sequence[AclBinding]
) -> int:
    """Creates every binding's ACLs; returns how many ACLs the broker confirmed."""
    admin: Any = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, **security.client_options()
    )
    await admin.start()
    try:
        creations = _creations(bindings)
        response = await admin._send_request(_CreateAcls(creations))
        failures = [
            f"{creation[3]} on {creation[1]}: {message or code}"
            for creation, (code, message) in zip(
                creations, response.creation_responses, strict=True
            )
            if code != 0
        ]
        if failures:
            raise RuntimeError("kafka refused ACLs: " + "; ".join(failures))
        return len(creations)
    finally:
        await admin.close()


async def wait_until_enforced(
    bootstrap_servers: str, security: KafkaSecurity, topic: str, timeout: float = 30.0
) -> None:
    """Returns once `security`'s user may describe `topic`.

    The controller accepts new ACLs before the broker's authorizer has them (it learns them
    from the metadata log a moment later): a service started in between would be refused.
    """
    admin: Any = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, **security.client_options()
    )
    await admin.start()
    try:
        deadline = time.monotonic() + timeout
        while True:
            (described,) = await admin.describe_topics([topic])
            if described["error_code"] != _TOPIC_AUTHORIZATION_FAILED:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"kafka: the ACLs on {topic} took effect after {timeout}s")
            await asyncio.sleep(0.1)
    finally:
        await admin.close()


async def wait_for_group_coordinators(
    bootstrap_servers: str, security: KafkaSecurity, groups: Sequence[str], timeout: float = 60.0
) -> None:
    """Returns once the broker coordinates every one of `groups`.

    A new broker creates its offsets topic on the first FindCoordinator and answers
    COORDINATOR_NOT_AVAILABLE until that topic is loaded: services joining their groups
    before then log an ERROR and a WARN each, retried but alarming on a first `shop up`.
    """
    admin: Any = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, **security.client_options()
    )
    await admin.start()
    try:
        deadline = time.monotonic() + timeout
        waiting = list(dict.fromkeys(groups))
        while waiting:
            try:
                await admin.find_coordinator(waiting[0])
                waiting.pop(0)
            except KafkaError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"kafka: no coordinator for group {waiting[0]} after {timeout}s"
                    ) from None
                await asyncio.sleep(0.1)
    finally:
        await admin.close()
