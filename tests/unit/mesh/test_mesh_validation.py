"""protovalidate enforcement, on messages whose descriptors are built here."""

from __future__ import annotations

from typing import Any

import pytest
from buf.validate import validate_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from grpc import aio

from mesh.errors import FieldViolation, InvalidArgumentError
from mesh.interceptors.validation import RequestValidator, ValidationInterceptor

METHOD = "/meshtest.v1.TestService/Place"


def _field(
    message: descriptor_pb2.DescriptorProto,
    name: str,
    number: int,
    kind: int,
    rules: validate_pb2.FieldRules | None = None,
    *,
    repeated: bool = False,
    type_name: str = "",
) -> None:
    field = message.field.add(
        name=name,
        number=number,
        type=kind,
        label=(
            descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
            if repeated
            else descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
        ),
    )
    if type_name:
        field.type_name = type_name
    if rules is not None:
        field.options.Extensions[validate_pb2.field].CopyFrom(rules)


@pytest.fixture(scope="module")
def place_request() -> type[Any]:
    """meshtest.v1.PlaceRequest{name (min_len 1), items[] {quantity > 0}}."""
    proto = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(
        name="meshtest/v1/validation.proto",
        package="meshtest.v1",
        syntax="proto3",
        dependency=["buf/validate/validate.proto"],
    )
    item = file.message_type.add(name="Item")
    _field(
        item,
        "quantity",
        1,
        proto.TYPE_INT32,
        validate_pb2.FieldRules(int32=validate_pb2.Int32Rules(gt=0)),
    )
    request = file.message_type.add(name="PlaceRequest")
    _field(
        request,
        "name",
        1,
        proto.TYPE_STRING,
        validate_pb2.FieldRules(string=validate_pb2.StringRules(min_len=1)),
    )
    _field(request, "items", 2, proto.TYPE_MESSAGE, repeated=True, type_name=".meshtest.v1.Item")
    pool = descriptor_pool.DescriptorPool()
    for dependency in (validate_pb2.DESCRIPTOR.dependencies, [validate_pb2.DESCRIPTOR]):
        for dep in dependency:
            dep_proto = descriptor_pb2.FileDescriptorProto()
            dep.CopyToProto(dep_proto)
            pool.Add(dep_proto)
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("meshtest.v1.PlaceRequest"))


def test_valid_request_has_no_violations(place_request: type[Any]) -> None:
    request = place_request(name="n")
    request.items.add(quantity=2)
    assert RequestValidator().violations(request) == []


def test_violations_name_the_field_path(place_request: type[Any]) -> None:
    request = place_request(name="")
    request.items.add(quantity=1)
    request.items.add(quantity=0)
    assert RequestValidator().violations(request) == [
        FieldViolation("name", "must be at least 1 characters"),
        FieldViolation("items[1].quantity", "must be greater than 0"),
    ]


async def test_interceptor_rejects_before_the_handler(
    place_request: type[Any], fake_context: Any
) -> None:
    called = False

    async def handler(request: Any, context: Any) -> None:
        nonlocal called
        called = True

    request = place_request(name="")
    with pytest.raises(InvalidArgumentError) as caught:
        await ValidationInterceptor().intercept(handler, request, fake_context(), METHOD)
    assert not called
    assert caught.value.violations == (FieldViolation("name", "must be at least 1 characters"),)


async def test_interceptor_passes_valid_requests(
    place_request: type[Any], fake_context: Any
) -> None:
    async def handler(request: Any, context: aio.ServicerContext[Any, Any]) -> str:
        return "placed"

    result = await ValidationInterceptor().intercept(
        handler, place_request(name="ok"), fake_context(), METHOD
    )
    assert result == "placed"
