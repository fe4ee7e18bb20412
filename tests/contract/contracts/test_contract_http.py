"""HTTP rules and access rules: complete, unique, and pointing at real request fields."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from google.protobuf.descriptor import FieldDescriptor, MethodDescriptor

from tools import contracts

METHODS = contracts.methods()
IDS = [m.full_name for m in METHODS]
EMPTY = "google.protobuf.Empty"
VARIABLE = re.compile(r"\{([^}=]+)(?:=[^}]*)?\}")
# Permissions of the seed's RBAC map.
PERMISSIONS = {
    "users:read",
    "users:write",
    "products:read",
    "products:write",
    "orders:read",
    "orders:write",
    "orders:cancel",
}


def _route_key(binding: contracts.Binding) -> tuple[str, str]:
    """(verb, path) with variable names erased: /v1/a/{x} and /v1/a/{y} are the same route."""
    return binding.verb.upper(), VARIABLE.sub("{}", binding.path)


def test_there_are_nine_services() -> None:
    assert len(contracts.services()) == 9


@pytest.mark.parametrize("method", METHODS, ids=IDS)
def test_every_method_has_an_access_rule(method: MethodDescriptor) -> None:
    rule = contracts.access_rule(method)
    assert rule is not None, f"{method.full_name} has no (shop.api.v1.access)"
    if rule.permission:
        assert rule.permission in PERMISSIONS
    if rule.owner_field:
        field = contracts.resolve_path(method.input_type, rule.owner_field)
        assert field.type == FieldDescriptor.TYPE_STRING
        assert not field.is_repeated
    if rule.public:
        assert not (rule.permission or rule.owner_field or rule.resource_owner)


@pytest.mark.parametrize("method", METHODS, ids=IDS)
def test_public_methods_have_http_rules_and_internal_ones_none(method: MethodDescriptor) -> None:
    rule = contracts.access_rule(method)
    assert rule is not None
    if rule.internal:
        assert contracts.bindings(method) == [], f"internal {method.full_name} is routable"
    else:
        assert contracts.bindings(method), f"{method.full_name} has no google.api.http rule"


def test_every_route_is_unique() -> None:
    routes = Counter(_route_key(b) for m in METHODS for b in contracts.bindings(m))
    duplicates = [route for route, count in routes.items() if count > 1]
    assert not duplicates


@pytest.mark.parametrize("method", METHODS, ids=IDS)
def test_bindings_name_real_fields(method: MethodDescriptor) -> None:
    request = method.input_type
    for binding in contracts.bindings(method):
        assert binding.path.startswith("/"), binding.path
        for variable in VARIABLE.findall(binding.path):
            field = contracts.resolve_path(request, variable)
            assert field.type == FieldDescriptor.TYPE_STRING, variable
        if binding.verb in ("get", "delete"):
            assert binding.body == "", f"{binding.route} must not take a body"
        elif binding.body not in ("", "*"):
            assert contracts.resolve_path(request, binding.body).message_type is not None
        if binding.response_body:
            contracts.resolve_path(method.output_type, binding.response_body)


@pytest.mark.parametrize("method", METHODS, ids=IDS)
def test_success_status(method: MethodDescriptor) -> None:
    status = contracts.success_status(method)
    if method.output_type.full_name == EMPTY:
        assert status == 204, f"{method.full_name} returns Empty: mark it 204"
    else:
        assert status in (200, 201)
    if status == 201:
        assert re.match("(Create|Register|Place)", method.name), method.name
