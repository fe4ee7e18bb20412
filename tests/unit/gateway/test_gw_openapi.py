"""OpenAPI 3.1 from the descriptors: operations, parameter split, schemas, constraints, security."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import pytest

from gateway.openapi import build_openapi
from gateway.transcoding.routes import routes_from_services


@pytest.fixture(scope="module")
def spec(conformance_pb2: ModuleType) -> dict[str, Any]:
    validated = importlib.import_module("gwtest.v1.validated_pb2")
    services = [
        *conformance_pb2.DESCRIPTOR.services_by_name.values(),
        *validated.DESCRIPTOR.services_by_name.values(),
    ]
    return build_openapi(routes_from_services(services))


def op(spec: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    operation: dict[str, Any] = spec["paths"][path][method]
    return operation


def params(operation: dict[str, Any], where: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in operation["parameters"] if p["in"] == where}


def test_one_operation_per_binding(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.1.0"
    ids = [o["operationId"] for path in spec["paths"].values() for o in path.values()]
    assert len(ids) == len(set(ids))
    assert {
        "ConformanceService_GetThing",
        "ConformanceService_GetThing_1",
        "ConformanceService_GetThing_2",
    } <= set(ids)
    assert "ConformanceService_Internal" not in ids and "ConformanceService_Hidden" not in ids
    assert "search" in spec["paths"]["/v1/probe/{name}"]


def test_path_parameters_with_resource_patterns(spec: dict[str, Any]) -> None:
    (name,) = params(op(spec, "/v1/{name}", "get"), "path").values()
    assert name["required"] is True
    assert name["schema"]["pattern"] == "^shops/[^/]+/things/[^/]+$"
    # Nested variables are flattened: tools read a dot in a parameter name as attribute access.
    deep = params(op(spec, "/v1/deep/{nested_b}/{nested_inner_b}", "get"), "path")
    assert set(deep) == {"nested_b", "nested_inner_b"}
    files = params(op(spec, "/v1/files/{id}", "get"), "path")
    assert files["id"]["schema"]["pattern"] == "^.+$"
    wild = params(op(spec, "/v1/wild/{_segment2}/x/{id}", "get"), "path")
    assert set(wild) == {"_segment2", "id"}
    assert "/v1/things/{name}:cancel" in spec["paths"]


def test_query_parameters_for_unbound_fields(spec: dict[str, Any]) -> None:
    query = params(op(spec, "/v1/echo", "get"), "query")
    assert {
        "i64",
        "tags",
        "nested.b",
        "nested.depthLevel",
        "ts",
        "dur",
        "mask",
        "wBool",
        "customLabel",
    } <= set(query)
    assert query["tags"]["schema"] == {"type": "array", "items": {"type": "string"}}
    assert query["tags"]["explode"] is True
    # Names, or numbers (proto3 JSON parsers accept both; the gateway answers with names).
    assert query["color"]["schema"]["anyOf"] == [
        {"type": "string", "enum": ["COLOR_UNSPECIFIED", "COLOR_RED", "COLOR_BLUE"]},
        {"type": "integer", "enum": [0, 1, 2]},
    ]
    assert query["ts"]["schema"]["format"] == "date-time"
    # No string form: not a query parameter.
    assert not {"attrs", "anything", "counts", "children.b"} & set(query)
    assert "requestBody" not in op(spec, "/v1/echo", "get")


def test_body_star_excludes_path_fields(spec: dict[str, Any]) -> None:
    echo = op(spec, "/v1/echo/{id}", "post")
    body = echo["requestBody"]["content"]["application/json"]["schema"]
    assert "id" not in body["properties"] and "i32" in body["properties"]
    assert params(echo, "query") == {}


def test_body_field_and_query(spec: dict[str, Any]) -> None:
    update = op(spec, "/v1/things/{id}/nested", "patch")
    body = update["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/gwtest.v1.Nested"}
    assert set(params(update, "query")) == {"updateMask"}


def test_success_codes_and_response_body(spec: dict[str, Any]) -> None:
    create = op(spec, "/v1/things", "post")["responses"]
    assert "201" in create and "200" not in create
    cancel = op(spec, "/v1/things/{name}:cancel", "post")["responses"]
    assert cancel["204"] == {"description": "Success"}
    nested = op(spec, "/v1/things/{id}/nested", "get")["responses"]["200"]
    assert nested["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/gwtest.v1.Nested"
    }


def test_error_schema(spec: dict[str, Any]) -> None:
    status = spec["components"]["schemas"]["google.rpc.Status"]
    assert status["required"] == ["code", "message", "details"]
    error = spec["components"]["responses"]["Error"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/google.rpc.Status"}
    responses = op(spec, "/v1/echo", "get")["responses"]
    assert responses["default"] == {"$ref": "#/components/responses/Error"}


def test_security_on_protected_routes(spec: dict[str, Any]) -> None:
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert op(spec, "/v1/staff/{name}", "get")["security"] == [{"bearerAuth": []}]
    assert "401" in op(spec, "/v1/staff/{name}", "get")["responses"]
    assert op(spec, "/v1/echo", "get")["security"] == []


def test_idempotency_key_header(spec: dict[str, Any]) -> None:
    assert "Idempotency-Key" in params(op(spec, "/v1/things", "post"), "header")
    assert params(op(spec, "/v1/echo/{id}", "post"), "header") == {}


def test_well_known_type_schemas(spec: dict[str, Any]) -> None:
    everything = spec["components"]["schemas"]["gwtest.v1.Everything"]["properties"]
    # Proto3 JSON reads null as a field's default value: every optional field admits it.
    assert everything["i64"]["type"] == ["string", "null"]
    assert everything["i64"]["format"] == "int64"
    assert everything["data"]["contentEncoding"] == "base64"
    assert everything["dur"]["pattern"].endswith("s$")
    assert everything["wBool"]["type"] == ["boolean", "null"]
    assert everything["attrs"]["type"] == ["object", "null"]
    assert everything["anything"]["required"] == ["@type"]
    assert everything["counts"] == {
        "type": ["object", "null"],
        "additionalProperties": {"type": "integer", "format": "int32"},
    }
    assert everything["customLabel"] == {"type": ["string", "null"]}
    recursive = spec["components"]["schemas"]["gwtest.v1.Nested"]["properties"]["inner"]
    assert recursive == {
        "anyOf": [{"$ref": "#/components/schemas/gwtest.v1.Nested"}, {"type": "null"}]
    }


CONSTRAINTS = [
    ("id", {"pattern": "^[a-z0-9-]{1,36}$"}),
    ("email", {"format": "email", "maxLength": 254}),
    ("code", {"minLength": 2, "maxLength": 2}),
    ("name", {"minLength": 1, "maxLength": 100}),
    ("uid", {"format": "uuid"}),
    ("quantity", {"minimum": 1, "maximum": 99}),
    ("amount", {"exclusiveMinimum": 0, "exclusiveMaximum": 1000000}),
    ("ratio", {"minimum": 0, "maximum": 1}),
    ("tags", {"minItems": 1, "maxItems": 5, "uniqueItems": True}),
    (
        "size",
        {
            "anyOf": [
                {"type": "string", "enum": ["SIZE_S", "SIZE_M", "SIZE_L"]},
                {"type": "integer", "enum": [1, 2, 3]},
            ]
        },
    ),
    ("labels", {"maxProperties": 3}),
    ("choice", {"enum": ["a", "b"]}),
    ("stars", {"minimum": 1, "maximum": 5}),
]


@pytest.mark.parametrize(("field", "keywords"), CONSTRAINTS)
def test_buf_validate_rules_become_keywords(
    spec: dict[str, Any], field: str, keywords: dict[str, Any]
) -> None:
    schema = spec["components"]["schemas"]["gwtest.v1.Validated"]
    for keyword, value in keywords.items():
        assert schema["properties"][field][keyword] == value, (field, keyword)


def test_required_and_item_rules(spec: dict[str, Any]) -> None:
    schema = spec["components"]["schemas"]["gwtest.v1.Validated"]
    # `required`, and every field without presence whose rules fail its zero value (an absent
    # field is its zero value): ratio (0 is in range) and labels (no minimum) may be left out.
    assert schema["required"] == [
        *("id", "email", "code", "name", "uid", "quantity", "amount", "tags", "size", "choice"),
        "stars",
    ]
    assert schema["properties"]["tags"]["items"] == {"type": "string", "minLength": 2}
    put = op(spec, "/v1/validated/{id}", "put")
    assert params(put, "path")["id"]["schema"]["pattern"] == "^[a-z0-9-]{1,36}$"
    body = put["requestBody"]["content"]["application/json"]["schema"]
    assert "id" not in body["properties"] and body["required"][:2] == ["email", "code"]
