"""Conformance: response messages -> proto3 JSON (zeros emitted), and the error table."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2, timestamp_pb2
from google.rpc import error_details_pb2, status_pb2

from gateway.errors import (
    bad_request,
    http_status_of,
    status_from_trailers,
    status_json,
)
from gateway.transcoding.response import render_response


def test_unpopulated_fields_are_emitted(conformance_pb2: ModuleType) -> None:
    body = render_response(conformance_pb2.Everything(), "", 200)
    assert body is not None
    tree = json.loads(body)
    assert tree["i32"] == 0
    assert tree["i64"] == "0"
    assert tree["flag"] is False
    assert tree["tags"] == []
    assert tree["counts"] == {}
    assert tree["color"] == "COLOR_UNSPECIFIED"
    assert tree["customLabel"] == ""
    assert tree["data"] == ""
    # Fields with presence (messages, optional) stay absent when unset.
    assert "nested" not in tree
    assert "maybe" not in tree


WELL_KNOWN: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "timestamp",
        {"ts": timestamp_pb2.Timestamp(seconds=1714558830, nanos=5)},
        {"ts": "2024-05-01T10:20:30.000000005Z"},
    ),
    ("duration", {"dur": duration_pb2.Duration(seconds=1, nanos=500_000_000)}, {"dur": "1.500s"}),
    ("int64 as string", {"i64": -(2**62)}, {"i64": str(-(2**62))}),
    ("uint64 as string", {"u64": 2**64 - 1}, {"u64": str(2**64 - 1)}),
    ("bytes base64", {"data": b"\x00\xff"}, {"data": "AP8="}),
    ("enum by name", {"color": 2}, {"color": "COLOR_BLUE"}),
    ("repeated enum", {"colors": [1, 2]}, {"colors": ["COLOR_RED", "COLOR_BLUE"]}),
    ("custom json name", {"display_name": "x"}, {"customLabel": "x"}),
    ("optional zero present", {"maybe": 0}, {"maybe": 0}),
    ("float", {"dbl": 0.1}, {"dbl": 0.1}),
    ("nan", {"dbl": float("nan")}, {"dbl": "NaN"}),
]


@pytest.mark.parametrize(
    ("fields", "expected"), [c[1:] for c in WELL_KNOWN], ids=[c[0] for c in WELL_KNOWN]
)
def test_json_mapping(
    conformance_pb2: ModuleType, fields: dict[str, Any], expected: dict[str, Any]
) -> None:
    body = render_response(conformance_pb2.Everything(**fields), "", 200)
    assert body is not None
    tree = json.loads(body)
    for key, value in expected.items():
        assert tree[key] == value


def test_wrappers_struct_any(conformance_pb2: ModuleType) -> None:
    message = conformance_pb2.Everything()
    message.w_i64.value = 0
    message.w_bool.value = False
    message.w_str.value = "s"
    message.attrs.update({"k": [1, "x", None]})
    message.val.number_value = 2
    message.list.extend([True, "y"])
    message.anything.Pack(duration_pb2.Duration(seconds=3))
    message.mask.paths.extend(["display_name", "nested.depth_level"])
    message.nothing.SetInParent()
    body = render_response(message, "", 200)
    assert body is not None
    tree = json.loads(body)
    assert tree["wI64"] == "0"
    assert tree["wBool"] is False
    assert tree["wStr"] == "s"
    assert tree["attrs"] == {"k": [1, "x", None]}
    assert tree["val"] == 2
    assert tree["list"] == [True, "y"]
    assert tree["anything"] == {
        "@type": "type.googleapis.com/google.protobuf.Duration",
        "value": "3s",
    }
    assert tree["mask"] == "displayName,nested.depthLevel"
    assert tree["nothing"] == {}


def test_response_body_field(conformance_pb2: ModuleType) -> None:
    message = conformance_pb2.Everything(id="x", nested=conformance_pb2.Nested(b="n"))
    assert json.loads(render_response(message, "nested", 200) or b"") == {"b": "n", "depthLevel": 0}
    assert json.loads(render_response(message, "tags", 200) or b"") == []
    assert json.loads(render_response(conformance_pb2.Everything(), "nested", 200) or b"") is None


def test_204_has_no_body(conformance_pb2: ModuleType) -> None:
    assert render_response(conformance_pb2.Everything(id="x"), "", 204) is None


CODE_TABLE = [
    (grpc.StatusCode.OK, 200),
    (grpc.StatusCode.CANCELLED, 499),
    (grpc.StatusCode.UNKNOWN, 500),
    (grpc.StatusCode.INVALID_ARGUMENT, 400),
    (grpc.StatusCode.DEADLINE_EXCEEDED, 504),
    (grpc.StatusCode.NOT_FOUND, 404),
    (grpc.StatusCode.ALREADY_EXISTS, 409),
    (grpc.StatusCode.PERMISSION_DENIED, 403),
    (grpc.StatusCode.UNAUTHENTICATED, 401),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
    (grpc.StatusCode.FAILED_PRECONDITION, 400),
    (grpc.StatusCode.ABORTED, 409),
    (grpc.StatusCode.OUT_OF_RANGE, 400),
    (grpc.StatusCode.UNIMPLEMENTED, 501),
    (grpc.StatusCode.INTERNAL, 500),
    (grpc.StatusCode.UNAVAILABLE, 503),
    (grpc.StatusCode.DATA_LOSS, 500),
]


@pytest.mark.parametrize(("code", "http"), CODE_TABLE, ids=[c.name for c, _ in CODE_TABLE])
def test_code_table(code: grpc.StatusCode, http: int) -> None:
    assert http_status_of(code) == http


def _rich(code: grpc.StatusCode, message: str) -> status_pb2.Status:
    status = status_pb2.Status(code=code.value[0], message=message)
    detail = any_pb2.Any()
    detail.Pack(
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field="email", description="taken")
            ]
        )
    )
    status.details.append(detail)
    return status


def test_rich_status_details_are_carried() -> None:
    rich = _rich(grpc.StatusCode.INVALID_ARGUMENT, "bad email")
    trailers = [("grpc-status-details-bin", rich.SerializeToString())]
    status = status_from_trailers(grpc.StatusCode.INVALID_ARGUMENT, "bad email", trailers)
    body = json.loads(status_json(status))
    assert body == {
        "code": 3,
        "message": "bad email",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": "email", "description": "taken"}],
            }
        ],
    }


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DATA_LOSS,
        grpc.StatusCode.DEADLINE_EXCEEDED,
    ],
)
def test_transport_messages_do_not_leak(code: grpc.StatusCode) -> None:
    leaky = "failed to connect to all addresses; last error: ipv4:10.1.2.3:50051 Traceback"
    body = json.loads(status_json(status_from_trailers(code, leaky, [])))
    assert "10.1.2.3" not in body["message"]
    assert "Traceback" not in body["message"]
    assert body["code"] == code.value[0]
    assert body["details"] == []


def test_plain_status_keeps_service_message() -> None:
    status = status_from_trailers(grpc.StatusCode.NOT_FOUND, "product p1 not found", None)
    assert json.loads(status_json(status))["message"] == "product p1 not found"


def test_mismatched_rich_status_is_ignored() -> None:
    rich = _rich(grpc.StatusCode.INVALID_ARGUMENT, "x")
    trailers = [("grpc-status-details-bin", rich.SerializeToString())]
    status = status_from_trailers(grpc.StatusCode.NOT_FOUND, "gone", trailers)
    assert status.code == grpc.StatusCode.NOT_FOUND.value[0]
    assert status.message == "gone"


def test_unknown_detail_type_stays_opaque() -> None:
    status = status_pb2.Status(code=3, message="m")
    status.details.add(type_url="type.googleapis.com/unknown.Type", value=b"\x01")
    body = json.loads(status_json(status))
    assert body["details"] == [{"@type": "type.googleapis.com/unknown.Type", "value": "AQ=="}]


def test_bad_request_names_the_field() -> None:
    body = json.loads(status_json(bad_request("unknown query parameter 'x'", "x")))
    assert body["code"] == 3
    assert body["details"][0]["fieldViolations"] == [
        {"field": "x", "description": "unknown query parameter 'x'"}
    ]
