"""The shop's own document: what schemathesis and other OpenAPI tools found wrong stays fixed."""

from __future__ import annotations

import re
from typing import Any

import pytest

from gateway.bootstrap import discover_services
from gateway.openapi import build_openapi
from gateway.transcoding.routes import routes_from_services


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return build_openapi(routes_from_services(discover_services()))


def parameters(spec: dict[str, Any], path: str, method: str) -> dict[str, dict[str, Any]]:
    operation = spec["paths"][path][method]
    return {p["name"]: p for p in operation["parameters"]}


def test_nested_path_variables_share_the_plain_routes_names(spec: dict[str, Any]) -> None:
    paths = set(spec["paths"])
    assert not [p for p in paths if re.search(r"\{[^}]*\.[^}]*\}", p)]
    shapes = [re.sub(r"\{[^}]*\}", "{}", p) for p in paths]
    assert len(shapes) == len(set(shapes)), "two paths differ only in placeholder names"
    assert {"get", "patch", "delete"} <= set(spec["paths"]["/v1/products/{id}"])
    assert {"get", "patch"} <= set(spec["paths"]["/v1/users/{id}"])
    preferences = spec["paths"]["/v1/users/{user_id}/notificationPreferences"]
    assert {"get", "patch"} <= set(preferences)
    patched = parameters(spec, "/v1/products/{id}", "patch")["id"]
    assert patched["description"] == "The request's `product.id` field."


def test_query_parameters_carry_their_rules(spec: dict[str, Any]) -> None:
    orders = parameters(spec, "/v1/orders", "get")
    assert orders["pageSize"]["schema"]["minimum"] == 0
    assert orders["pageSize"]["schema"]["maximum"] == 100
    batch = parameters(spec, "/v1/products:batchGet", "get")["ids"]
    # At least one id is needed, so the parameter cannot be left out.
    assert batch["required"] is True and batch["schema"]["minItems"] == 1


def test_rules_that_ignore_the_empty_value_accept_it(spec: dict[str, Any]) -> None:
    preferences = spec["components"]["schemas"]["shop.notification.v1.Preferences"]
    phone = preferences["properties"]["phoneNumber"]
    assert {"const": ""} in phone["anyOf"]
    assert any("pattern" in option for option in phone["anyOf"])


def test_checkout_requires_an_idempotency_key(spec: dict[str, Any]) -> None:
    header = parameters(spec, "/v1/orders", "post")["Idempotency-Key"]
    assert header["required"] is True and header["in"] == "header"
