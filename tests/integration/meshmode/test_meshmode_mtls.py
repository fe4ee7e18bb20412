"""STRICT mTLS: only clients with a certificate of the local mesh CA get any service."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from launcher.testing import RunningPlatform

from .meshclient import mesh_of, plaintext_channel, workload_channel

pytestmark = pytest.mark.integration


async def _health(channel: grpc.aio.Channel) -> int:
    async with channel:
        stub: Any = health_pb2_grpc.HealthStub(channel)
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    return int(reply.status)


async def test_a_workload_certificate_reaches_every_service(
    shop_mesh_platform: RunningPlatform,
) -> None:
    for service in mesh_of(shop_mesh_platform).services:
        channel = workload_channel(shop_mesh_platform, "gateway", service)
        assert await _health(channel) == health_pb2.HealthCheckResponse.SERVING, service


async def test_plaintext_calls_to_every_sidecar_fail(shop_mesh_platform: RunningPlatform) -> None:
    for service in mesh_of(shop_mesh_platform).services:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _health(plaintext_channel(shop_mesh_platform, service))
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE, service
