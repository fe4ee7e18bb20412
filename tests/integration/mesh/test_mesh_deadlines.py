"""A call through the runtime's channels gets the whole deadline it was given.

A timeout in a channel's service config used to end calls one to two seconds early on grpc.aio
(a 5 s default gave 504s after ~3.65 s at the gateway); the channels now leave deadlines to
each call, which these tests hold them to.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc
import pytest
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mesh.clients import CallAs, ChannelFactory
from mesh.settings import ClientSettings

pytestmark = pytest.mark.integration

DEADLINE_SECONDS = 2.5


class SlowHealth(health_pb2_grpc.HealthServicer):
    async def Check(  # noqa: N802 (generated name)
        self, request: health_pb2.HealthCheckRequest, context: aio.ServicerContext[Any, Any]
    ) -> health_pb2.HealthCheckResponse:
        await asyncio.sleep(DEADLINE_SECONDS * 2)
        return health_pb2.HealthCheckResponse()


async def _seconds_until_deadline_exceeded(channel: aio.Channel, timeout: float | None) -> float:
    stub: Any = health_pb2_grpc.HealthStub(channel)
    started = time.monotonic()
    with pytest.raises(aio.AioRpcError) as raised:
        await stub.Check(health_pb2.HealthCheckRequest(), timeout=timeout)
    assert raised.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    return time.monotonic() - started


async def test_calls_get_the_default_deadline_in_full_and_a_longer_one_when_asked() -> None:
    server = aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(SlowHealth(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    settings = ClientSettings(
        addresses={"catalog": f"127.0.0.1:{port}"}, default_deadline_seconds=DEADLINE_SECONDS
    )
    channels = ChannelFactory(settings)
    try:
        channel = channels.channel("catalog", call_as=CallAs.ANONYMOUS)
        by_default = await _seconds_until_deadline_exceeded(channel, None)
        asked_longer = await _seconds_until_deadline_exceeded(channel, DEADLINE_SECONDS + 1)
    finally:
        await channels.close()
        await server.stop(None)
    assert DEADLINE_SECONDS - 0.1 <= by_default < DEADLINE_SECONDS + 1
    assert DEADLINE_SECONDS + 0.9 <= asked_longer < DEADLINE_SECONDS + 2
