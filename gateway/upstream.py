"""Calls to the services: one reused channel per service, one multicallable per method."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from google.protobuf.message import Message
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.transcoding.routes import Route
from mesh.clients.service_config import channel_options
from mesh.settings import ClientSettings

__all__ = ["Upstream", "Upstreams", "short_service_name"]


class Upstream(Protocol):
    """What the request pipeline needs from the services (faked in unit tests)."""

    async def call(
        self, route: Route, request: Message, *, timeout: float, metadata: Sequence[tuple[str, str]]
    ) -> bytes:
        """The service's answer, serialized (the gateway renders it to JSON from the bytes)."""
        ...

    async def ready(
        self, service_full_names: Iterable[str], timeout: float = 2.0
    ) -> dict[str, bool]: ...

    async def close(self) -> None: ...


def short_service_name(full_name: str) -> str:
    """`shop.catalog.v1.CatalogService` -> `catalog` (the key of `<NAME>_SERVICE_ADDR`)."""
    parts = full_name.split(".")
    return parts[1] if parts[0] == "shop" and len(parts) > 2 else parts[0]


class Upstreams:
    """One channel per service, created on first use and reused by every request.

    The channels carry no client interceptors: the gateway sets every piece of metadata
    itself (token, request id, trace context), and grpc.aio interceptors would put each call
    on a slower path.
    """

    def __init__(
        self,
        settings: ClientSettings,
        service_key: Callable[[str], str] = short_service_name,
    ) -> None:
        self._settings = settings
        self._service_key = service_key
        self._channels: dict[str, aio.Channel] = {}
        self._callables: dict[str, aio.UnaryUnaryMultiCallable[Any, Any]] = {}

    def _channel(self, service_full_name: str) -> aio.Channel:
        channel = self._channels.get(service_full_name)
        if channel is None:
            target = self._settings.address_of(self._service_key(service_full_name))
            # No timeout in the service config: every call carries the route's deadline.
            options = channel_options(
                service_full_name,
                keepalive_seconds=self._settings.keepalive_seconds,
            )
            channel = aio.insecure_channel(target, options=options)
            self._channels[service_full_name] = channel
        return channel

    def _callable(self, route: Route) -> aio.UnaryUnaryMultiCallable[Any, Any]:
        found = self._callables.get(route.grpc_path)
        if found is None:
            # No deserializer: the answer stays bytes, which the renderer remembers by.
            found = self._channel(route.service_name).unary_unary(
                route.grpc_path, request_serializer=_serialize, response_deserializer=None
            )
            self._callables[route.grpc_path] = found
        return found

    async def call(
        self,
        route: Route,
        request: Message,
        *,
        timeout: float,
        metadata: Sequence[tuple[str, str]],
    ) -> bytes:
        """The serialized answer; raises `aio.AioRpcError` with the service's status."""
        answer: bytes = await self._callable(route)(
            request, timeout=timeout, metadata=aio.Metadata(*metadata)
        )
        return answer

    async def ready(
        self, service_full_names: Iterable[str], timeout: float = 2.0
    ) -> dict[str, bool]:
        """Health SERVING by service name (full names; no addresses, they stay internal)."""
        names = sorted(set(service_full_names))
        results = await asyncio.gather(*(self._serving(n, timeout) for n in names))
        return dict(zip(names, results, strict=True))

    async def _serving(self, service: str, timeout: float) -> bool:
        stub: Any = health_pb2_grpc.HealthStub(self._channel(service))
        try:
            answer = await stub.Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout
            )
        except aio.AioRpcError:
            return False
        return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)

    async def close(self) -> None:
        channels, self._channels = list(self._channels.values()), {}
        self._callables = {}
        for channel in channels:
            await channel.close()


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()
