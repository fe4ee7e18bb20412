"""The few ASGI primitives the gateway needs: a parsed request, a body reader, a response."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import grpc
from google.rpc import status_pb2

from gateway.errors import http_status_of, status_json

__all__ = [
    "ASGIApp",
    "BodyTooLarge",
    "Headers",
    "HttpRequest",
    "HttpResponse",
    "Receive",
    "Rejection",
    "Scope",
    "Send",
    "read_body",
    "send_response",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[str, str]]

_CODES = {code.value[0]: code for code in grpc.StatusCode}


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    # Still percent-encoded: template matching must not see `%2F` as a separator.
    raw_path: str
    query_string: str
    # Lower-case names; repeated headers joined with ", " as HTTP allows.
    headers: Mapping[str, str]
    peer: str | None

    @classmethod
    def from_scope(cls, scope: Scope) -> HttpRequest:
        raw = scope.get("raw_path")
        if isinstance(raw, bytes) and raw:
            raw_path = raw.decode("latin-1").split("?", 1)[0]
        else:
            raw_path = quote(str(scope.get("path", "/")))
        headers: dict[str, str] = {}
        for name, value in scope.get("headers", ()):
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        client = scope.get("client")
        return cls(
            method=str(scope.get("method", "GET")).upper(),
            raw_path=raw_path,
            query_string=bytes(scope.get("query_string", b"")).decode("latin-1"),
            headers=headers,
            peer=str(client[0]) if client else None,
        )


@dataclass(slots=True)
class HttpResponse:
    status: int
    body: bytes | None = None
    headers: Headers = field(default_factory=list)
    content_type: str = "application/json"


class Rejection(Exception):
    """Ends a request early with a `google.rpc.Status` body."""

    def __init__(
        self,
        status: status_pb2.Status,
        *,
        http_status: int | None = None,
        headers: Headers | None = None,
    ) -> None:
        super().__init__(status.message)
        self.status = status
        self.http_status = http_status or http_status_of(
            _CODES.get(status.code, grpc.StatusCode.UNKNOWN)
        )
        self.headers = headers or []

    def response(self) -> HttpResponse:
        return HttpResponse(self.http_status, status_json(self.status), list(self.headers))


class BodyTooLarge(Exception):
    pass


async def read_body(receive: Receive, limit: int, declared_length: str | None) -> bytes:
    if declared_length is not None and declared_length.strip().isdigit():
        if int(declared_length) > limit:
            raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def send_response(send: Send, response: HttpResponse) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    body = response.body or b""
    if response.body is not None:
        headers.append((b"content-type", response.content_type.encode("latin-1")))
    if response.status not in (204, 304):
        headers.append((b"content-length", str(len(body)).encode()))
    else:
        body = b""
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
