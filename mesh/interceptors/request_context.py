"""Puts the request id and deadline of each call into `mesh.context`."""

from __future__ import annotations

import time
import uuid
from typing import Any, Final

from grpc import aio

from mesh.context import RequestContext, request_scope
from mesh.interceptors.base import CallInterceptor, Continuation

__all__ = ["REQUEST_ID_KEY", "RequestContextInterceptor"]

REQUEST_ID_KEY: Final = "x-request-id"
_MAX_REQUEST_ID = 128


class RequestContextInterceptor(CallInterceptor):
    async def intercept(
        self,
        call_next: Continuation,
        request: Any,
        context: aio.ServicerContext[Any, Any],
        method: str,
    ) -> Any:
        request_id: str | None = None
        for key, value in context.invocation_metadata() or ():
            if key == REQUEST_ID_KEY and isinstance(value, str):
                request_id = value[:_MAX_REQUEST_ID]
        remaining = context.time_remaining()
        scope = RequestContext(
            request_id=request_id or uuid.uuid4().hex,
            method=method,
            deadline=None if remaining is None else time.monotonic() + remaining,
        )
        with request_scope(scope):
            return await call_next(request, context)
