"""Client interceptors: the caller's deadline, token and request id travel downstream."""

from __future__ import annotations

import enum
from typing import Any, Final

from grpc import aio

from mesh.auth.identity import optional_identity
from mesh.auth.service_token import ServiceTokenProvider
from mesh.context import current_request, remaining_seconds
from mesh.errors import DeadlineExceededError
from mesh.interceptors.request_context import REQUEST_ID_KEY

__all__ = ["CallAs", "OutgoingCallInterceptor"]

_AUTHORIZATION: Final = "authorization"


class CallAs(enum.Enum):
    """Whose token an outgoing call carries."""

    # The incoming caller's token; the service token when there is no caller.
    CALLER = "caller"
    # Always the service token (work done by the service itself).
    SERVICE = "service"
    # No token (public methods such as GetJwks and IssueServiceToken).
    ANONYMOUS = "anonymous"


class OutgoingCallInterceptor(
    aio.UnaryUnaryClientInterceptor,
    aio.UnaryStreamClientInterceptor,
    aio.StreamUnaryClientInterceptor,
    aio.StreamStreamClientInterceptor,
):
    def __init__(
        self,
        *,
        default_timeout_seconds: float,
        call_as: CallAs = CallAs.CALLER,
        service_tokens: ServiceTokenProvider | None = None,
    ) -> None:
        self._default_timeout = default_timeout_seconds
        self._call_as = call_as
        self._service_tokens = service_tokens

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(await self._prepare(details), request)

    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(await self._prepare(details), request)

    async def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await continuation(await self._prepare(details), requests)

    async def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await continuation(await self._prepare(details), requests)

    async def _prepare(self, details: aio.ClientCallDetails) -> aio.ClientCallDetails:
        metadata = aio.Metadata(*(details.metadata or ()))
        if metadata.get(_AUTHORIZATION) is None:
            token = await self._token()
            if token is not None:
                metadata[_AUTHORIZATION] = f"Bearer {token}"
        request = current_request()
        if request is not None and metadata.get(REQUEST_ID_KEY) is None:
            metadata[REQUEST_ID_KEY] = request.request_id
        return aio.ClientCallDetails(
            method=details.method,
            timeout=self._timeout(details.timeout),
            metadata=metadata,
            credentials=details.credentials,
            wait_for_ready=details.wait_for_ready,
        )

    def _timeout(self, requested: float | None) -> float:
        timeout = requested if requested is not None else self._default_timeout
        remaining = remaining_seconds()
        if remaining is None:
            return timeout
        if remaining <= 0:
            raise DeadlineExceededError("the caller's deadline has already passed")
        return min(timeout, remaining)

    async def _token(self) -> str | None:
        if self._call_as is CallAs.ANONYMOUS:
            return None
        if self._call_as is CallAs.CALLER:
            identity = optional_identity()
            if identity is not None:
                return identity.token
        if self._service_tokens is None:
            return None
        return await self._service_tokens.token()
