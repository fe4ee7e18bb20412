"""gRPC status -> HTTP status and a `google.rpc.Status` JSON body."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

import grpc
from google.protobuf import json_format
from google.rpc import error_details_pb2, status_pb2

__all__ = [
    "HTTP_STATUS",
    "bad_request",
    "http_status_of",
    "status_from_trailers",
    "status_json",
]

HTTP_STATUS: Final[Mapping[grpc.StatusCode, int]] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
}

# Codes whose message may come from the transport or a crash rather than from the service's
# own words (addresses, resolver errors): clients get a fixed text instead.
_OPAQUE: Final[Mapping[grpc.StatusCode, str]] = {
    grpc.StatusCode.UNKNOWN: "internal error",
    grpc.StatusCode.INTERNAL: "internal error",
    grpc.StatusCode.DATA_LOSS: "internal error",
    grpc.StatusCode.UNAVAILABLE: "service unavailable",
    grpc.StatusCode.DEADLINE_EXCEEDED: "deadline exceeded",
    grpc.StatusCode.CANCELLED: "request cancelled",
}
_DETAILS_KEY: Final = "grpc-status-details-bin"


def http_status_of(code: grpc.StatusCode) -> int:
    return HTTP_STATUS.get(code, 500)


def status_from_trailers(
    code: grpc.StatusCode,
    message: str,
    trailers: Iterable[tuple[str, str | bytes]] | None,
) -> status_pb2.Status:
    """The service's rich status when it sent one, else a plain one.

    A status the service built itself (`grpc-status-details-bin`) is trusted: the mesh's
    error interceptor already hides internals there. A bare status of an opaque code may
    come from the channel and is replaced.
    """
    for key, value in trailers or ():
        if key == _DETAILS_KEY and isinstance(value, bytes):
            rich = status_pb2.Status()
            try:
                rich.ParseFromString(value)
            except Exception:  # noqa: BLE001 - a malformed trailer falls back to the plain status
                break
            if rich.code == code.value[0]:
                return rich
            break
    text = _OPAQUE.get(code, message)
    return status_pb2.Status(code=code.value[0], message=text)


def bad_request(description: str, field: str = "") -> status_pb2.Status:
    status = status_pb2.Status(code=grpc.StatusCode.INVALID_ARGUMENT.value[0], message=description)
    if field:
        detail = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=field, description=description)
            ]
        )
        status.details.add().Pack(detail)
    return status


def status_json(status: status_pb2.Status) -> bytes:
    details: list[dict[str, Any]] = []
    for detail in status.details:
        try:
            details.append(json_format.MessageToDict(detail))
        except (TypeError, KeyError, json_format.Error):
            # A detail type this gateway does not know still reaches the client, opaque.
            details.append(
                {"@type": detail.type_url, "value": base64.b64encode(detail.value).decode()}
            )
    body = {"code": status.code, "message": status.message, "details": details}
    return json.dumps(body, separators=(",", ":")).encode()
