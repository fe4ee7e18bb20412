from __future__ import annotations

import logging
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from grpc import aio

from mesh.errors import (
    AlreadyExistsError,
    DomainError,
    FailedPreconditionError,
    FieldViolation,
    InvalidArgumentError,
    NotFoundError,
    PreconditionViolation,
    ResourceExhaustedError,
    UnavailableError,
    to_rpc_status,
)
from mesh.interceptors.errors import ErrorInterceptor

METHOD = "/shop.test.v1.TestService/Do"


def details_of(status: Any) -> list[Any]:
    unpacked = []
    for detail in status.details:
        for kind in (
            error_details_pb2.ErrorInfo,
            error_details_pb2.BadRequest,
            error_details_pb2.ResourceInfo,
            error_details_pb2.PreconditionFailure,
            error_details_pb2.RetryInfo,
        ):
            if detail.Is(kind.DESCRIPTOR):
                message = kind()
                detail.Unpack(message)
                unpacked.append(message)
    return unpacked


def test_invalid_argument_carries_field_violations() -> None:
    error = InvalidArgumentError(
        violations=[FieldViolation("items[0].quantity", "must be greater than 0")]
    )
    status = to_rpc_status(error)
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    info, bad_request = details_of(status)
    assert (info.reason, info.domain) == ("INVALID_ARGUMENT", "shopmesh")
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("items[0].quantity", "must be greater than 0")
    ]


@pytest.mark.parametrize(
    ("error", "code", "detail_type"),
    [
        (
            NotFoundError("no such order", resource_type="order", resource_name="o1"),
            grpc.StatusCode.NOT_FOUND,
            error_details_pb2.ResourceInfo,
        ),
        (
            AlreadyExistsError("email taken", resource_type="user"),
            grpc.StatusCode.ALREADY_EXISTS,
            error_details_pb2.ResourceInfo,
        ),
        (
            FailedPreconditionError(
                "out of stock",
                violations=[PreconditionViolation("STOCK", "products/p1", "only 2 left")],
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
            error_details_pb2.PreconditionFailure,
        ),
        (
            ResourceExhaustedError("slow down", retry_after_seconds=1.5),
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            error_details_pb2.RetryInfo,
        ),
        (
            UnavailableError("try later", retry_after_seconds=0.25),
            grpc.StatusCode.UNAVAILABLE,
            error_details_pb2.RetryInfo,
        ),
    ],
)
def test_each_error_has_its_code_and_detail(
    error: DomainError, code: grpc.StatusCode, detail_type: type[Any]
) -> None:
    status = to_rpc_status(error)
    assert status.code == code.value[0]
    assert status.message == error.message
    assert any(isinstance(d, detail_type) for d in details_of(status))


def test_retry_info_delay() -> None:
    (_, retry) = details_of(to_rpc_status(UnavailableError("x", retry_after_seconds=1.5)))
    assert retry.retry_delay.ToNanoseconds() == 1_500_000_000


async def intercept(raised: BaseException, context: Any) -> None:
    async def handler(request: Any, context: Any) -> Any:
        raise raised

    with pytest.raises(aio.AbortError):
        await ErrorInterceptor().intercept(handler, object(), context, METHOD)


def status_from_trailers(context: Any) -> Any:
    assert context.aborted is not None
    code, details, trailing = context.aborted
    ((key, value),) = trailing
    assert key == "grpc-status-details-bin"
    status = status_pb2.Status.FromString(value)
    assert status.code == code.value[0]
    assert status.message == details
    return status


async def test_interceptor_aborts_with_rich_status(fake_context: Any) -> None:
    context = fake_context()
    await intercept(NotFoundError("order o1 not found", reason="ORDER_NOT_FOUND"), context)
    assert context.aborted is not None and context.aborted[0] is grpc.StatusCode.NOT_FOUND
    (info,) = details_of(status_from_trailers(context))
    assert info.reason == "ORDER_NOT_FOUND"


async def test_unexpected_exception_is_internal_without_internals(
    caplog: pytest.LogCaptureFixture, fake_context: Any
) -> None:
    context = fake_context()
    with caplog.at_level(logging.ERROR):
        await intercept(KeyError("secret_column_name"), context)
    assert context.aborted is not None
    code, details, _ = context.aborted
    assert code is grpc.StatusCode.INTERNAL
    assert details == "internal error"
    assert "secret_column_name" not in str(status_from_trailers(context))
    assert any("secret_column_name" in (r.exc_text or "") for r in caplog.records)


async def test_successful_calls_pass_through(fake_context: Any) -> None:
    async def handler(request: Any, context: Any) -> str:
        return "ok"

    context = fake_context()
    result = await ErrorInterceptor().intercept(handler, None, context, METHOD)
    assert result == "ok" and context.aborted is None
