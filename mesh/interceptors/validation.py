"""protovalidate enforcement of every request message."""

from __future__ import annotations

import json
from typing import Any

import protovalidate
from google.protobuf import message
from grpc import aio

from mesh.errors import FieldViolation, InvalidArgumentError
from mesh.interceptors.base import CallInterceptor, Continuation

__all__ = ["RequestValidator", "ValidationInterceptor", "field_path"]

_SUBSCRIPTS = ("index", "boolKey", "intKey", "uintKey", "stringKey")


def field_path(violation: protovalidate.Violation) -> str:
    """`items[0].quantity` / `labels["k"]` from a violation's structured field path."""
    # The JSON form is stable across protobuf runtimes, unlike the message accessors.
    field = violation.proto.field
    if field is None:
        return ""
    elements: list[dict[str, Any]] = json.loads(field.to_json()).get("elements", [])
    path = ""
    for element in elements:
        name = element.get("fieldName", "")
        path = f"{path}.{name}" if path else name
        for key in _SUBSCRIPTS:
            if key in element:
                subscript = element[key]
                path += f'["{subscript}"]' if key == "stringKey" else f"[{subscript}]"
    return path


class RequestValidator:
    """Checks a message against its `buf.validate` rules; compiled rules are cached."""

    def __init__(self, validator: protovalidate.Validator | None = None) -> None:
        self._validator = validator or protovalidate.Validator()

    def violations(self, request: message.Message) -> list[FieldViolation]:
        return [
            FieldViolation(field=field_path(v), description=v.proto.message)
            for v in self._validator.collect_violations(request)
        ]

    def check(self, request: message.Message) -> None:
        violations = self.violations(request)
        if violations:
            raise InvalidArgumentError("the request is invalid", violations=violations)


class ValidationInterceptor(CallInterceptor):
    def __init__(self, validator: RequestValidator | None = None) -> None:
        self._validator = validator or RequestValidator()

    async def intercept(
        self,
        call_next: Continuation,
        request: Any,
        context: aio.ServicerContext[Any, Any],
        method: str,
    ) -> Any:
        if isinstance(request, message.Message):
            self._validator.check(request)
        return await call_next(request, context)
