"""All of a server's call interceptors as one, composed once per method instead of per call.

grpc.aio asks every server interceptor for the handler of every call; a `CallInterceptor` on
its own builds new wrapper functions and a new handler each time. `InterceptorChain` asks the
registered handler once, composes the whole chain around it and hands out the same wrapped
handler for every later call of that method: per call, only the interceptors' own work runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc
from grpc import aio

from mesh.interceptors.base import (
    CallInterceptor,
    Continuation,
    Handler,
    handler_factory,
    resolve,
    response_kind,
)

__all__ = ["InterceptorChain"]


def _link(interceptor: CallInterceptor, inner: Continuation, method: str) -> Continuation:
    intercept = interceptor.intercept

    async def call(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        return await intercept(inner, request, context, method)

    return call


class InterceptorChain(aio.ServerInterceptor):
    """`interceptors` outermost first, as grpc.aio would run them one by one."""

    def __init__(self, interceptors: Sequence[CallInterceptor]) -> None:
        self._interceptors = tuple(interceptors)
        # method -> (the registered handler, the handler wrapped in the whole chain)
        self._wrapped: dict[str, tuple[Handler, Handler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method: str = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self._wrap(handler, method)
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    def _wrap(self, handler: Handler, method: str) -> Handler:
        kind = response_kind(handler)
        behavior = getattr(handler, kind)
        streaming = bool(handler.response_streaming)

        async def innermost(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
            if streaming:
                return behavior(request, context)
            return await resolve(behavior(request, context))

        chain: Continuation = innermost
        for interceptor in reversed(self._interceptors):
            chain = _link(interceptor, chain, method)
        outermost = chain

        if streaming:

            async def stream(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
                produced = await outermost(request, context)
                if hasattr(produced, "__aiter__"):
                    async for item in produced:
                        yield item
                else:
                    await resolve(produced)

            body: Callable[..., Any] = stream
        else:
            body = outermost
        return handler_factory(kind)(
            body,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
