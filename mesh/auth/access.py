"""Per-method access rules: the `shop.api.v1.access` method option (what people may do) and
the mesh policy's caller lists (which workload's service token may call the method)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from google.protobuf import descriptor, descriptor_pool

from mesh.auth.callers import METHOD_CALLERS

__all__ = [
    "ACCESS_OPTION",
    "AUTHENTICATED",
    "PUBLIC",
    "PUBLIC_SERVICES",
    "AccessPolicy",
    "AccessRule",
    "read_field",
]

logger = logging.getLogger(__name__)

ACCESS_OPTION: Final = "shop.api.v1.access"
# Infrastructure services every port serves to anyone (probes, grpcurl).
PUBLIC_SERVICES: Final = frozenset(
    {
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    }
)


@dataclass(frozen=True, slots=True)
class AccessRule:
    """Mirror of `shop.api.v1.AccessRule` (see proto/shop/api/v1/annotations.proto)."""

    public: bool = False
    permission: str = ""
    owner_field: str = ""
    internal: bool = False
    resource_owner: bool = False
    # Superseded by `callers`: kept to mirror the option, no longer decides anything.
    service: bool = False
    # Workloads whose service tokens may call the method (deploy/mesh/policy.yaml).
    callers: frozenset[str] = field(default=frozenset())


PUBLIC: Final = AccessRule(public=True)
# The default for a method without a rule: any signed-in caller.
AUTHENTICATED: Final = AccessRule()


class AccessPolicy:
    """Rules by full method path (`/pkg.Service/Method`)."""

    def __init__(self, rules: Mapping[str, AccessRule], default: AccessRule = AUTHENTICATED):
        self._rules = dict(rules)
        self._default = default

    @classmethod
    def from_descriptors(
        cls,
        service_names: Iterable[str],
        pool: descriptor_pool.DescriptorPool | None = None,
        callers: Mapping[str, frozenset[str]] = METHOD_CALLERS,
    ) -> AccessPolicy:
        """`callers`: the policy's caller lists by method path (a method absent there admits
        no service token)."""
        pool = pool or descriptor_pool.Default()
        extension = _access_extension(pool)
        rules: dict[str, AccessRule] = {}
        for name in service_names:
            if name in PUBLIC_SERVICES:
                continue
            service = pool.FindServiceByName(name)
            for method in service.methods:
                rule = _rule_of(method, extension)
                if rule is None:
                    logger.warning("%s has no access rule: a token is required", method.full_name)
                    rule = AUTHENTICATED
                path = f"/{service.full_name}/{method.name}"
                rules[path] = replace(rule, callers=callers.get(path, frozenset()))
        return cls(rules)

    def rule_for(self, method_path: str) -> AccessRule:
        rule = self._rules.get(method_path)
        if rule is not None:
            return rule
        service = method_path.lstrip("/").split("/", 1)[0]
        return PUBLIC if service in PUBLIC_SERVICES else self._default


def _access_extension(pool: descriptor_pool.DescriptorPool) -> descriptor.FieldDescriptor | None:
    try:
        return pool.FindExtensionByName(ACCESS_OPTION)
    except KeyError:
        return None


def _rule_of(
    method: descriptor.MethodDescriptor, extension: descriptor.FieldDescriptor | None
) -> AccessRule | None:
    if extension is None:
        return None
    options: Any = method.GetOptions()
    if not options.HasExtension(extension):
        return None
    rule = options.Extensions[extension]
    return AccessRule(
        public=rule.public,
        permission=rule.permission,
        owner_field=rule.owner_field,
        internal=rule.internal,
        resource_owner=rule.resource_owner,
        service=rule.service,
    )


def read_field(message: Any, dotted_path: str) -> Any:
    """The value at `a.b.c` in a message; None when a step is missing."""
    value = message
    for part in dotted_path.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value
