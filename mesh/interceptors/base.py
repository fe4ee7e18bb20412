"""A base for server interceptors that see each call's request and context.

grpc.aio's `ServerInterceptor` only hands over the method handler; this wraps the handler's
behaviour so subclasses implement one `intercept` coroutine. Streaming-request methods are
intercepted with the request iterator as `request`; for server-streaming methods the
interception ends when the response stream starts (errors while streaming are not mapped).
"""

from __future__ import annotations

import abc
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias

import grpc
from grpc import aio

__all__ = [
    "CallInterceptor",
    "Continuation",
    "Handler",
    "handler_factory",
    "resolve",
    "response_kind",
]

# The rest of the chain for one call: request and context in, response out.
Continuation = Callable[[Any, aio.ServicerContext[Any, Any]], Awaitable[Any]]
# The stubs make RpcMethodHandler generic; at runtime it is not subscriptable.
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"


async def resolve(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


_RESPONSE_UNARY = {False: "unary_unary", True: "stream_unary"}
_RESPONSE_STREAM = {False: "unary_stream", True: "stream_stream"}


def response_kind(handler: Handler) -> str:
    """The handler's behaviour attribute: `unary_unary`, `stream_unary`, ..."""
    kinds = _RESPONSE_STREAM if handler.response_streaming else _RESPONSE_UNARY
    return kinds[bool(handler.request_streaming)]


class CallInterceptor(aio.ServerInterceptor, abc.ABC):
    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method: str = handler_call_details.method
        if handler.response_streaming:
            return self._wrap_stream_response(handler, method)
        return self._wrap_unary_response(handler, method)

    def _wrap_unary_response(self, handler: Handler, method: str) -> Handler:
        kind = _RESPONSE_UNARY[bool(handler.request_streaming)]
        behavior = getattr(handler, kind)

        async def call_next(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
            return await resolve(behavior(request, context))

        async def wrapped(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
            return await self.intercept(call_next, request, context, method)

        return handler_factory(kind)(
            wrapped,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _wrap_stream_response(self, handler: Handler, method: str) -> Handler:
        kind = _RESPONSE_STREAM[bool(handler.request_streaming)]
        behavior = getattr(handler, kind)

        async def call_next(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
            return behavior(request, context)

        async def wrapped(
            request: Any, context: aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            stream = await self.intercept(call_next, request, context, method)
            if hasattr(stream, "__aiter__"):
                async for item in stream:
                    yield item
            else:
                await resolve(stream)

        return handler_factory(kind)(
            wrapped,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    @abc.abstractmethod
    async def intercept(
        self,
        call_next: Continuation,
        request: Any,
        context: aio.ServicerContext[Any, Any],
        method: str,
    ) -> Any:
        """Handle one call; `method` is the full path, e.g. `/shop.cart.v1.CartService/GetCart`.

        For request-streaming methods `request` is the request iterator; for
        response-streaming methods `call_next` returns the response iterator.
        """


def handler_factory(kind: str) -> Callable[..., Handler]:
    factory: Callable[..., Handler] = getattr(grpc, f"{kind}_rpc_method_handler")
    return factory
