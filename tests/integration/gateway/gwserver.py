"""Helpers of the gateway integration tests: the test service's handlers and an HTTP client."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import grpc
import httpx
from google.protobuf import any_pb2, empty_pb2, message_factory
from google.rpc import error_details_pb2, status_pb2
from grpc import aio
from grpc_health.v1 import health
from grpc_status import rpc_status

# The unit suite's helpers (test contract compiler, signing keys) are shared, not copied.
from gateway.app import GatewayApp

SERVICE = "gwtest.v1.ConformanceService"


@dataclass
class Recorder:
    """Metadata of every call the test service received."""

    metadata: list[dict[str, str]] = field(default_factory=list)

    @property
    def last(self) -> dict[str, str]:
        return self.metadata[-1]


def handlers(pb2: ModuleType, recorder: Recorder) -> grpc.GenericRpcHandler:
    service = pb2.DESCRIPTOR.services_by_name["ConformanceService"]

    async def echo(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        return request

    async def thing(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        return pb2.Thing(name=request.name, view=request.view)

    async def empty(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        return empty_pb2.Empty()

    async def fail(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        code = next(c for c in grpc.StatusCode if c.value[0] == request.code)
        status = status_pb2.Status(
            code=request.code, message=request.message or f"failed {code.name}"
        )
        violation = error_details_pb2.BadRequest.FieldViolation(
            field="code", description="as asked"
        )
        packed = any_pb2.Any()
        packed.Pack(error_details_pb2.BadRequest(field_violations=[violation]))
        status.details.append(packed)
        await context.abort_with_status(rpc_status.to_status(status))

    async def delay(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        await asyncio.sleep(request.delay.ToTimedelta().total_seconds())
        return empty_pb2.Empty()

    behaviours = {"Fail": fail, "Delay": delay, "Cancel": empty}
    for name in ("GetThing", "Probe", "StaffOnly", "SignedIn", "Create", "Internal", "Hidden"):
        behaviours[name] = thing
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    for method in service.methods:
        implementation = behaviours.get(method.name, echo)

        async def recorded(
            request: Any, context: aio.ServicerContext[Any, Any], _impl: Any = implementation
        ) -> Any:
            recorder.metadata.append(
                {k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
            )
            return await _impl(request, context)

        handlers[method.name] = grpc.unary_unary_rpc_method_handler(
            recorded,
            request_deserializer=message_factory.GetMessageClass(method.input_type).FromString,
            response_serializer=lambda m: m.SerializeToString(),
        )
    return grpc.method_handlers_generic_handler(SERVICE, handlers)


@dataclass
class ConformanceServer:
    port: int
    recorder: Recorder
    health: health.aio.HealthServicer


GatewayFactory = Callable[..., GatewayApp]


def http_client(app: GatewayApp, ip: str = "192.0.2.10") -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(ip, 50000)), base_url="http://gateway"
    )
