"""Typed domain exceptions, each carrying its gRPC status code and `google.rpc` details.

Domain code raises these; `mesh.interceptors.errors.ErrorInterceptor` turns them into a
rich status (`grpc-status-details-bin`) so clients get machine-readable details.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Final

import grpc
from google.protobuf import any_pb2, duration_pb2, message
from google.rpc import error_details_pb2, status_pb2

__all__ = [
    "ERROR_DOMAIN",
    "AbortedError",
    "AlreadyExistsError",
    "DeadlineExceededError",
    "DomainError",
    "FailedPreconditionError",
    "FieldViolation",
    "InternalError",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "PreconditionViolation",
    "ResourceExhaustedError",
    "UnauthenticatedError",
    "UnavailableError",
    "to_rpc_status",
]

# ErrorInfo.domain for every error raised by shopmesh services.
ERROR_DOMAIN: Final = "shopmesh"


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One invalid field: `field` is a path such as `items[0].quantity`."""

    field: str
    description: str


@dataclass(frozen=True, slots=True)
class PreconditionViolation:
    """A failed precondition, e.g. type="STOCK", subject="products/p1"."""

    type: str
    subject: str
    description: str


class DomainError(Exception):
    """Base class: subclasses pin `code`; `reason` is a stable UPPER_SNAKE identifier."""

    code: ClassVar[grpc.StatusCode] = grpc.StatusCode.UNKNOWN
    default_reason: ClassVar[str] = "UNKNOWN"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.metadata: Mapping[str, str] = dict(metadata or {})

    def details(self) -> list[message.Message]:
        """The `google.rpc` detail messages sent with the status."""
        return [
            error_details_pb2.ErrorInfo(
                reason=self.reason, domain=ERROR_DOMAIN, metadata=dict(self.metadata)
            )
        ]


class _ResourceError(DomainError):
    def __init__(
        self,
        message: str,
        *,
        resource_type: str = "",
        resource_name: str = "",
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.resource_type = resource_type
        self.resource_name = resource_name

    def details(self) -> list[message.Message]:
        details = super().details()
        if self.resource_type or self.resource_name:
            details.append(
                error_details_pb2.ResourceInfo(
                    resource_type=self.resource_type,
                    resource_name=self.resource_name,
                    description=self.message,
                )
            )
        return details


class NotFoundError(_ResourceError):
    code = grpc.StatusCode.NOT_FOUND
    default_reason = "NOT_FOUND"


class AlreadyExistsError(_ResourceError):
    code = grpc.StatusCode.ALREADY_EXISTS
    default_reason = "ALREADY_EXISTS"


class InvalidArgumentError(DomainError):
    code = grpc.StatusCode.INVALID_ARGUMENT
    default_reason = "INVALID_ARGUMENT"

    def __init__(
        self,
        message: str = "the request is invalid",
        *,
        violations: Sequence[FieldViolation] = (),
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.violations = tuple(violations)

    def details(self) -> list[message.Message]:
        details = super().details()
        if self.violations:
            details.append(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(
                            field=v.field, description=v.description
                        )
                        for v in self.violations
                    ]
                )
            )
        return details


class FailedPreconditionError(DomainError):
    code = grpc.StatusCode.FAILED_PRECONDITION
    default_reason = "FAILED_PRECONDITION"

    def __init__(
        self,
        message: str,
        *,
        violations: Sequence[PreconditionViolation] = (),
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.violations = tuple(violations)

    def details(self) -> list[message.Message]:
        details = super().details()
        if self.violations:
            details.append(
                error_details_pb2.PreconditionFailure(
                    violations=[
                        error_details_pb2.PreconditionFailure.Violation(
                            type=v.type, subject=v.subject, description=v.description
                        )
                        for v in self.violations
                    ]
                )
            )
        return details


class PermissionDeniedError(DomainError):
    code = grpc.StatusCode.PERMISSION_DENIED
    default_reason = "PERMISSION_DENIED"


class UnauthenticatedError(DomainError):
    code = grpc.StatusCode.UNAUTHENTICATED
    default_reason = "UNAUTHENTICATED"


class AbortedError(DomainError):
    """A concurrency conflict (e.g. a stale version); the client may retry the sequence."""

    code = grpc.StatusCode.ABORTED
    default_reason = "ABORTED"


class _RetryableError(DomainError):
    def __init__(
        self,
        message: str,
        *,
        retry_after_seconds: float | None = None,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.retry_after_seconds = retry_after_seconds

    def details(self) -> list[message.Message]:
        details = super().details()
        if self.retry_after_seconds is not None:
            delay = duration_pb2.Duration()
            delay.FromNanoseconds(int(self.retry_after_seconds * 1e9))
            details.append(error_details_pb2.RetryInfo(retry_delay=delay))
        return details


class ResourceExhaustedError(_RetryableError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    default_reason = "RESOURCE_EXHAUSTED"


class UnavailableError(_RetryableError):
    code = grpc.StatusCode.UNAVAILABLE
    default_reason = "UNAVAILABLE"


class DeadlineExceededError(DomainError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED
    default_reason = "DEADLINE_EXCEEDED"


class InternalError(DomainError):
    """Raised deliberately for a broken invariant; the message must not leak internals."""

    code = grpc.StatusCode.INTERNAL
    default_reason = "INTERNAL"


def to_rpc_status(error: DomainError) -> status_pb2.Status:
    """The `google.rpc.Status` for a domain error, details packed as `Any`."""
    packed = []
    for detail in error.details():
        item = any_pb2.Any()
        item.Pack(detail)
        packed.append(item)
    return status_pb2.Status(code=_code_number(error.code), message=error.message, details=packed)


def _code_number(code: grpc.StatusCode) -> int:
    number: int = code.value[0]
    return number
