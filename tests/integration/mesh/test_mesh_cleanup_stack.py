"""The runtime's cleanup stack: what `build` opened is closed when a later step fails, and at
shutdown after the server and the background tasks stopped, in reverse order."""

from __future__ import annotations

import asyncio

import pytest
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mesh.bootstrap import Runtime, Serving, serve
from mesh.server import ServiceSpec
from mesh.settings import RuntimeSettings

ENVIRON = {"GRPC_PORT": "0", "METRICS_PORT": "0", "GRPC_GRACE_SECONDS": "1"}


class BrokerDown(Exception):
    pass


async def test_a_failed_build_closes_what_it_opened_in_reverse() -> None:
    closed: list[str] = []

    async def build(runtime: Runtime) -> ServiceSpec:
        runtime.cleanup.push_async_callback(_record, closed, "pool")
        runtime.cleanup.callback(closed.append, "cache")
        raise BrokerDown("kafka is not reachable")

    with pytest.raises(BrokerDown):
        await serve(RuntimeSettings.from_env("order", ENVIRON), build, ENVIRON)
    assert closed == ["cache", "pool"]


async def test_shutdown_closes_after_the_server_and_background_stopped() -> None:
    events: list[str] = []
    stop = asyncio.Event()
    started: asyncio.Future[Serving] = asyncio.get_running_loop().create_future()

    async def background() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            events.append("background ended")

    async def build(runtime: Runtime) -> ServiceSpec:
        runtime.cleanup.push_async_callback(_record, events, "pool closed")
        runtime.cleanup.push_async_callback(_record, events, "publisher stopped")

        async def legacy_cleanup() -> None:
            events.append("spec cleanup ran")

        return ServiceSpec(
            name="order",
            services=[],
            register=[],
            background=[background],
            cleanup=[legacy_cleanup],
        )

    task = asyncio.create_task(
        serve(
            RuntimeSettings.from_env("order", ENVIRON),
            build,
            ENVIRON,
            stop=stop,
            on_serving=started.set_result,
        )
    )
    port = (await asyncio.wait_for(started, 10)).grpc_port
    async with aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        await health.Check(health_pb2.HealthCheckRequest(), timeout=5)  # type: ignore[attr-defined]
    assert events == []

    stop.set()
    await asyncio.wait_for(task, 10)
    assert events == [
        "background ended",
        "spec cleanup ran",
        "publisher stopped",
        "pool closed",
    ]


async def _record(events: list[str], what: str) -> None:
    events.append(what)
