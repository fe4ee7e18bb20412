"""Routes built from the `google.api.http` rules and shopmesh method options in descriptors."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from google.api import annotations_pb2, http_pb2
from google.protobuf.descriptor import (
    Descriptor,
    FieldDescriptor,
    MethodDescriptor,
    ServiceDescriptor,
)

from gateway.transcoding.fields import (
    STRING_FORM_TYPES,
    WRAPPER_TYPES,
    is_repeated,
    message_name,
    resolve_path,
)
from gateway.transcoding.template import PathTemplate, TemplateError
from mesh.auth.access import AccessPolicy, AccessRule

__all__ = ["Route", "RouteError", "routes_from_services"]

_log = logging.getLogger(__name__)

_VERBS = ("get", "put", "post", "delete", "patch")
_API_OPTIONS = "shop.api.v1"


class RouteError(ValueError):
    """A contract's HTTP rule cannot be served (a contract bug: the gateway refuses to start)."""


@dataclass(frozen=True, slots=True)
class Route:
    http_method: str
    template: PathTemplate
    body: str
    response_body: str
    method: MethodDescriptor
    success_status: int
    access: AccessRule
    idempotency_key: bool
    # 0 for the method's main binding, 1.. for its additional_bindings.
    binding_index: int

    @property
    def service_name(self) -> str:
        return str(self.method.containing_service.full_name)

    @property
    def grpc_path(self) -> str:
        return f"/{self.service_name}/{self.method.name}"

    @property
    def operation_id(self) -> str:
        base = f"{self.method.containing_service.name}_{self.method.name}"
        return base if self.binding_index == 0 else f"{base}_{self.binding_index}"


def routes_from_services(services: Iterable[ServiceDescriptor]) -> list[Route]:
    """Every HTTP binding of every unary, non-internal method of `services`."""
    routes: list[Route] = []
    for service in services:
        policy = AccessPolicy.from_descriptors([service.full_name], service.file.pool)
        for method in service.methods:
            access = policy.rule_for(f"/{service.full_name}/{method.name}")
            routes.extend(_method_routes(method, access))
    _check_unique(routes)
    return routes


def _method_routes(method: MethodDescriptor, access: AccessRule) -> Iterator[Route]:
    options = method.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        return
    if access.internal:
        _log.warning("internal method %s has an HTTP rule; not routed", method.full_name)
        return
    if method.client_streaming or method.server_streaming:
        _log.warning("streaming method %s has an HTTP rule; not routed", method.full_name)
        return
    rule: http_pb2.HttpRule = options.Extensions[annotations_pb2.http]
    status = _read_int_option(method, "http_success_status") or 200
    idempotent = bool(_read_int_option(method, "idempotency_key"))
    bindings = [rule, *rule.additional_bindings]
    for index, binding in enumerate(bindings):
        if index > 0 and binding.additional_bindings:
            raise RouteError(f"{method.full_name}: additional_bindings may not nest")
        verb, template = _verb_and_template(binding, method)
        parsed = _parse_template(template, method)
        _check_binding(method.input_type, method.output_type, parsed, binding, method)
        yield Route(
            http_method=verb,
            template=parsed,
            body=binding.body,
            response_body=binding.response_body,
            method=method,
            success_status=status,
            access=access,
            idempotency_key=idempotent,
            binding_index=index,
        )


def _verb_and_template(rule: http_pb2.HttpRule, method: MethodDescriptor) -> tuple[str, str]:
    kind = rule.WhichOneof("pattern")
    if kind is None:
        raise RouteError(f"{method.full_name}: HTTP rule without a pattern")
    if kind == "custom":
        return rule.custom.kind.upper(), rule.custom.path
    assert kind in _VERBS
    return kind.upper(), str(getattr(rule, kind))


def _parse_template(template: str, method: MethodDescriptor) -> PathTemplate:
    try:
        return PathTemplate.parse(template)
    except TemplateError as error:
        raise RouteError(f"{method.full_name}: {error}") from None


def _check_binding(
    request: Descriptor,
    response: Descriptor,
    template: PathTemplate,
    rule: http_pb2.HttpRule,
    method: MethodDescriptor,
) -> None:
    for variable in template.variables:
        dotted = ".".join(variable.field_path)
        chain = resolve_path(request, dotted)
        if chain is None or any(is_repeated(f) for f in chain):
            raise RouteError(
                f"{method.full_name}: path variable {dotted!r} names no singular field"
            )
        leaf_type = message_name(chain[-1])
        if leaf_type is not None and leaf_type not in STRING_FORM_TYPES | WRAPPER_TYPES:
            raise RouteError(f"{method.full_name}: path variable {dotted!r} is a message")
    if rule.body not in ("", "*") and rule.body not in request.fields_by_name:
        raise RouteError(f"{method.full_name}: body field {rule.body!r} does not exist")
    if rule.response_body and rule.response_body not in response.fields_by_name:
        raise RouteError(f"{method.full_name}: response_body {rule.response_body!r} does not exist")


def _extension(method: MethodDescriptor, name: str) -> FieldDescriptor | None:
    try:
        return method.containing_service.file.pool.FindExtensionByName(f"{_API_OPTIONS}.{name}")
    except KeyError:
        return None


def _read_int_option(method: MethodDescriptor, name: str) -> int:
    extension = _extension(method, name)
    # Extensions looked up by name are untyped for the stubs.
    options: Any = method.GetOptions()
    if extension is None or not options.HasExtension(extension):
        return 0
    return int(options.Extensions[extension])


def _check_unique(routes: list[Route]) -> None:
    seen: dict[tuple[str, str], str] = {}
    for route in routes:
        key = (route.http_method, route.template.regex.pattern)
        if key in seen:
            raise RouteError(
                f"{route.method.full_name} and {seen[key]} both bind "
                f"{route.http_method} {route.template.source}"
            )
        seen[key] = route.method.full_name
