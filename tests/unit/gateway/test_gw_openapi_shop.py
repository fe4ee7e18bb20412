"""The shop's own document: what schemathesis and other OpenAPI tools found wrong stays fixed."""

from __future__ import annotations

import re
from typing import Any

import pytest

from gateway.bootstrap import discover_services
from gateway.openapi import build_openapi, contract_comments
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


@pytest.fixture(scope="module")
def documented() -> dict[str, Any]:
    routes = routes_from_services(discover_services())
    return build_openapi(routes, comments=contract_comments())


def test_every_operation_and_schema_carries_its_contract_comment(
    documented: dict[str, Any],
) -> None:
    # buf lint (COMMENTS) makes every method, message and field carry one.
    operations = [op for path in documented["paths"].values() for op in path.values()]
    assert operations
    assert [op["operationId"] for op in operations if not op.get("description")] == []
    schemas = documented["components"]["schemas"]
    shop_schemas = {name: schema for name, schema in schemas.items() if name.startswith("shop.")}
    assert [name for name, schema in shop_schemas.items() if not schema.get("description")] == []
    undocumented = [
        f"{name}.{prop}"
        for name, schema in shop_schemas.items()
        for prop, prop_schema in schema["properties"].items()
        if not prop_schema.get("description")
    ]
    assert undocumented == []


def test_the_document_says_a_cart_always_exists(documented: dict[str, Any]) -> None:
    cart = documented["paths"]["/v1/carts/{user_id}"]
    assert "always has a cart" in cart["get"]["description"]
    assert "GetCart afterwards returns it empty" in cart["delete"]["description"]
    orders = parameters(documented, "/v1/orders", "get")
    assert orders["pageSize"]["description"]
    assert documented["components"]["schemas"]["shop.cart.v1.Cart"]["properties"]["total"][
        "description"
    ].startswith("Sum of the line totals")
