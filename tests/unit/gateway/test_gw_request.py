"""Conformance: HTTP method + path + query + body -> request message, for every rule kind."""

from __future__ import annotations

from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl

import pytest
from google.protobuf import json_format, message_factory
from google.protobuf.message import Message

from gateway.transcoding.request import RequestError, build_request, parse_json_body
from gateway.transcoding.router import Match, MethodNotAllowed, NoRoute, Router
from gateway.transcoding.routes import routes_from_services


@pytest.fixture(scope="module")
def router(conformance_pb2: ModuleType) -> Router:
    return Router(routes_from_services(conformance_pb2.DESCRIPTOR.services_by_name.values()))


def transcode(router: Router, method: str, target: str, body: bytes = b"") -> Message:
    path, _, query = target.partition("?")
    found = router.resolve(method, path)
    assert isinstance(found, Match), found
    request_type = message_factory.GetMessageClass(found.route.method.input_type)
    return build_request(
        request_type(),
        body_rule=found.route.body,
        body=parse_json_body(body),
        path_values=found.path_values,
        query=parse_qsl(query, keep_blank_values=True),
    )


def as_dict(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message)


CASES: list[tuple[str, str, str, bytes, dict[str, Any]]] = [
    # id, method, target, body, expected request (proto3 JSON of the request message)
    ("resource pattern", "GET", "/v1/shops/s1/things/t2", b"", {"name": "shops/s1/things/t2"}),
    ("additional binding", "GET", "/v1/things/t9", b"", {"name": "t9"}),
    (
        "seed alias binding",
        "GET",
        "/things/t9?view=COLOR_RED",
        b"",
        {"name": "t9", "view": "COLOR_RED"},
    ),
    ("enum by number", "GET", "/things/t9?view=2", b"", {"name": "t9", "view": "COLOR_BLUE"}),
    ("single segment decodes %2F", "GET", "/v1/things/a%2Fb", b"", {"name": "a/b"}),
    ("utf-8 in path", "GET", "/v1/things/caf%C3%A9", b"", {"name": "café"}),
    ("final ** keeps %2F", "GET", "/v1/files/a/b%2Fc/d.txt", b"", {"id": "a/b%2Fc/d.txt"}),
    ("nested path fields", "GET", "/v1/deep/x/y", b"", {"nested": {"b": "x", "inner": {"b": "y"}}}),
    ("bare wildcard", "GET", "/v1/wild/zzz/x/7", b"", {"id": "7"}),
    ("custom verb", "POST", "/v1/things/t1:cancel", b"", {"name": "t1"}),
    ("custom method kind", "SEARCH", "/v1/probe/p", b"", {"name": "p"}),
    (
        "body * with path field",
        "POST",
        "/v1/echo/e1",
        b'{"i32": 5, "tags": ["a", "b"], "nested": {"b": "n"}}',
        {"id": "e1", "i32": 5, "tags": ["a", "b"], "nested": {"b": "n"}},
    ),
    (
        "body * accepts proto names",
        "POST",
        "/v1/echo/e1",
        b'{"display_name": "x", "w_i64": "9", "depth_level": 0}'.replace(
            b', "depth_level": 0', b""
        ),
        {"id": "e1", "customLabel": "x", "wI64": "9"},
    ),
    ("body * path wins", "POST", "/v1/echo/e1", b'{"id": "other"}', {"id": "e1"}),
    ("body * empty body", "POST", "/v1/echo/e1", b"", {"id": "e1"}),
    (
        "body field + query",
        "PATCH",
        "/v1/things/t1/nested?updateMask=b,depthLevel",
        b'{"b": "new", "depthLevel": 3}',
        {"id": "t1", "nested": {"b": "new", "depthLevel": 3}, "updateMask": "b,depthLevel"},
    ),
    (
        "body field, proto name in query",
        "PATCH",
        "/v1/things/t1/nested?update_mask=b",
        b'{"b": "new"}',
        {"id": "t1", "nested": {"b": "new"}, "updateMask": "b"},
    ),
    (
        "query scalars",
        "GET",
        "/v1/echo?i32=-4&i64=9007199254740993&u64=18446744073709551615&dbl=1.5&flt=-0.25&flag=true&s64=-3&f64=8",
        b"",
        {
            "i32": -4,
            "i64": "9007199254740993",
            "u64": "18446744073709551615",
            "dbl": 1.5,
            "flt": -0.25,
            "flag": True,
            "s64": "-3",
            "f64": "8",
        },
    ),
    ("query bool false", "GET", "/v1/echo?flag=false&id=x", b"", {"id": "x"}),
    ("query bytes base64", "GET", "/v1/echo?data=aGk%3D", b"", {"data": "aGk="}),
    ("query bytes url-safe base64", "GET", "/v1/echo?data=-_8", b"", {"data": "+/8="}),
    (
        "query repeated",
        "GET",
        "/v1/echo?tags=a&tags=b&nums=1&nums=2&colors=COLOR_RED&colors=2",
        b"",
        {"tags": ["a", "b"], "nums": [1, 2], "colors": ["COLOR_RED", "COLOR_BLUE"]},
    ),
    (
        "query nested",
        "GET",
        "/v1/echo?nested.b=x&nested.depthLevel=2&nested.inner.b=y",
        b"",
        {"nested": {"b": "x", "depthLevel": 2, "inner": {"b": "y"}}},
    ),
    (
        "query nested proto names",
        "GET",
        "/v1/echo?nested.depth_level=2",
        b"",
        {"nested": {"depthLevel": 2}},
    ),
    ("query json_name", "GET", "/v1/echo?customLabel=L", b"", {"customLabel": "L"}),
    (
        "query proto name of json_name field",
        "GET",
        "/v1/echo?display_name=L",
        b"",
        {"customLabel": "L"},
    ),
    ("query optional zero", "GET", "/v1/echo?maybe=0", b"", {"maybe": 0}),
    ("query percent and plus", "GET", "/v1/echo?id=a%26b+c", b"", {"id": "a&b c"}),
    ("query empty value", "GET", "/v1/echo?id=", b"", {}),
    ("query empty number is unset", "GET", "/v1/echo?i32=&color=&ts=&flag=", b"", {}),
    ("query empty string wrapper is set", "GET", "/v1/echo?wStr=&wI64=", b"", {"wStr": ""}),
    (
        "timestamp",
        "GET",
        "/v1/echo?ts=2024-05-01T10:20:30.5Z",
        b"",
        {"ts": "2024-05-01T10:20:30.500Z"},
    ),
    (
        "timestamp offset",
        "GET",
        "/v1/echo?ts=2024-05-01T12:20:30%2B02:00",
        b"",
        {"ts": "2024-05-01T10:20:30Z"},
    ),
    ("duration", "GET", "/v1/echo?dur=1.5s", b"", {"dur": "1.500s"}),
    (
        "field mask",
        "GET",
        "/v1/echo?mask=displayName,nested.depthLevel",
        b"",
        {"mask": "displayName,nested.depthLevel"},
    ),
    ("int64 wrapper", "GET", "/v1/echo?wI64=12", b"", {"wI64": "12"}),
    ("bool wrapper", "GET", "/v1/echo?w_bool=false", b"", {"wBool": False}),
    ("string wrapper", "GET", "/v1/echo?wStr=", b"", {"wStr": ""}),
    ("double wrapper", "GET", "/v1/echo?wDbl=2.5", b"", {"wDbl": 2.5}),
    ("int32 wrapper", "GET", "/v1/echo?wI32=-1", b"", {"wI32": -1}),
    ("uint32 wrapper", "GET", "/v1/echo?wU32=1", b"", {"wU32": 1}),
    ("uint64 wrapper", "GET", "/v1/echo?wU64=1", b"", {"wU64": "1"}),
    ("float wrapper", "GET", "/v1/echo?wFlt=0.5", b"", {"wFlt": 0.5}),
    ("bytes wrapper", "GET", "/v1/echo?wBytes=AQI%3D", b"", {"wBytes": "AQI="}),
    ("value from string", "GET", "/v1/echo?val=hello", b"", {"val": "hello"}),
    (
        "body with every well-known type",
        "POST",
        "/v1/echo/w",
        b'{"ts": "1970-01-01T00:00:00Z", "dur": "-0.000001s", "mask": "a.b,c",'
        b' "attrs": {"k": [1, "x", null, {"n": true}]}, "val": 3.5, "list": [1, "two"],'
        b' "anything": {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "2s"},'
        b' "nothing": {}, "counts": {"a": 1}, "wBool": true, "wStr": "s", "u64": 7}',
        {
            "id": "w",
            "ts": "1970-01-01T00:00:00Z",
            "dur": "-0.000001s",
            "mask": "a.b,c",
            "attrs": {"k": [1.0, "x", None, {"n": True}]},
            "val": 3.5,
            "list": [1.0, "two"],
            "anything": {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "2s"},
            "nothing": {},
            "counts": {"a": 1},
            "wBool": True,
            "wStr": "s",
            "u64": "7",
        },
    ),
    (
        "owner field from body",
        "POST",
        "/v1/owned",
        b'{"userId": "u1", "scope": {"b": "x"}}',
        {"userId": "u1", "scope": {"b": "x"}},
    ),
]


@pytest.mark.parametrize(
    ("method", "target", "body", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_transcoding(
    router: Router, method: str, target: str, body: bytes, expected: dict[str, Any]
) -> None:
    assert as_dict(transcode(router, method, target, body)) == expected


ERRORS: list[tuple[str, str, str, bytes, str, str]] = [
    # id, method, target, body, expected field in the violation, text in the description
    ("unknown query parameter", "GET", "/v1/echo?nope=1", b"", "nope", "unknown query parameter"),
    ("unknown nested parameter", "GET", "/v1/echo?nested.zzz=1", b"", "nested.zzz", "unknown"),
    ("path field in query", "GET", "/v1/things/t1?name=x", b"", "name", "unknown"),
    ("query with body *", "POST", "/v1/echo/e?i32=1", b"{}", "i32", "unknown"),
    (
        "body field in query",
        "PATCH",
        "/v1/things/t/nested?nested.b=x",
        b"{}",
        "nested.b",
        "unknown",
    ),
    ("message as leaf", "GET", "/v1/echo?nested=x", b"", "nested", "names a message"),
    (
        "repeated message inside path",
        "GET",
        "/v1/echo?children.b=x",
        b"",
        "children.b",
        "cannot address",
    ),
    ("map in query", "GET", "/v1/echo?counts=1", b"", "counts", "map parameter"),
    ("singular twice", "GET", "/v1/echo?i32=1&i32=2", b"", "i32", "given twice"),
    ("bad bool", "GET", "/v1/echo?flag=yes", b"", "flag", "true or false"),
    ("bad int", "GET", "/v1/echo?i32=1.5", b"", "", "i32"),
    ("int overflow", "GET", "/v1/echo?i32=3000000000", b"", "", "i32"),
    ("bad enum", "GET", "/v1/echo?color=PURPLE", b"", "", "PURPLE"),
    ("bad timestamp", "GET", "/v1/echo?ts=yesterday", b"", "", "ts"),
    ("bad duration", "GET", "/v1/echo?dur=5m", b"", "", "dur"),
    ("struct in query", "GET", "/v1/echo?attrs=x", b"", "attrs", "names a message"),
    ("any in query", "GET", "/v1/echo?anything=x", b"", "anything", "names a message"),
    ("unknown body field", "POST", "/v1/echo/e", b'{"bogus": 1}', "", "bogus"),
    ("body not an object", "POST", "/v1/echo/e", b"[1]", "", "JSON object"),
    ("wrong body type", "POST", "/v1/echo/e", b'{"i32": "abc"}', "", "i32"),
    ("body field wrong shape", "PATCH", "/v1/things/t/nested", b'"text"', "nested", "nested"),
]


@pytest.mark.parametrize(
    ("method", "target", "body", "field", "text"),
    [case[1:] for case in ERRORS],
    ids=[case[0] for case in ERRORS],
)
def test_transcoding_errors(
    router: Router, method: str, target: str, body: bytes, field: str, text: str
) -> None:
    with pytest.raises(RequestError) as raised:
        transcode(router, method, target, body)
    assert text in raised.value.description
    if field:
        assert raised.value.field == field


@pytest.mark.parametrize(
    ("body", "text"),
    [(b"{", "not valid JSON"), (b"\xff\xfe", "not valid"), (b'{"a": 1,}', "not valid JSON")],
)
def test_malformed_json(body: bytes, text: str) -> None:
    with pytest.raises(RequestError, match=text):
        parse_json_body(body)


ROUTING = [
    ("GET", "/v1/nowhere", NoRoute()),
    ("GET", "/v1/things", MethodNotAllowed(("POST",))),
    ("DELETE", "/v1/things/t1/nested", MethodNotAllowed(("GET", "PATCH"))),
    ("GET", "/v1/things/t1:cancel", MethodNotAllowed(("POST",))),
    ("GET", "/v1/internal/x", NoRoute()),
    # An unknown verb is part of the last segment, as the spec says: GET /v1/things/{name}.
    ("POST", "/v1/things/t1:frobnicate", MethodNotAllowed(("GET",))),
]


@pytest.mark.parametrize(("method", "path", "expected"), ROUTING)
def test_routing_failures(router: Router, method: str, path: str, expected: object) -> None:
    assert router.resolve(method, path) == expected


def test_verb_route_is_preferred(router: Router) -> None:
    found = router.resolve("POST", "/v1/things/t1:cancel")
    assert isinstance(found, Match)
    assert found.route.method.name == "Cancel"


def test_routes_carry_contract_options(router: Router) -> None:
    by_op = {r.operation_id: r for r in router.routes}
    assert by_op["ConformanceService_Create"].success_status == 201
    assert by_op["ConformanceService_Create"].idempotency_key
    assert by_op["ConformanceService_Cancel"].success_status == 204
    assert by_op["ConformanceService_GetThing"].success_status == 200
    assert by_op["ConformanceService_GetThing_2"].template.source == "/things/{name}"
    assert by_op["ConformanceService_StaffOnly"].access.permission == "products:write"
    assert by_op["ConformanceService_Owned"].access.owner_field == "user_id"
    assert by_op["ConformanceService_SignedIn"].access.resource_owner
    assert "ConformanceService_Internal" not in by_op
    assert "ConformanceService_Hidden" not in by_op
