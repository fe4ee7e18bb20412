"""Health follows a real store: PostgreSQL behind a proxy the test can cut and restore."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mesh.bootstrap import Runtime, Serving, serve
from mesh.server import ServiceSpec
from mesh.settings import RuntimeSettings

pytestmark = pytest.mark.integration

SERVICE = "shop.order.v1.OrderService"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class CuttableProxy:
    """A TCP forwarder on a fixed local port; `cut()` drops it like a dead server."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        self._writers |= {writer, up_writer}
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._writers -= {writer, up_writer}
            for w in (writer, up_writer):
                w.close()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()


@pytest.fixture
async def proxied_dsn(postgres_dsn: Callable[[], str]) -> AsyncIterator[tuple[str, CuttableProxy]]:
    parts = urlsplit(postgres_dsn())
    assert parts.hostname is not None and parts.port is not None
    proxy = CuttableProxy(parts.hostname, parts.port)
    await proxy.start()
    netloc = parts.netloc.rsplit("@", 1)[0] + f"@127.0.0.1:{proxy.port}"
    yield urlunsplit(parts._replace(netloc=netloc)), proxy
    with contextlib.suppress(Exception):
        await proxy.cut()


async def status(port: int, service: str) -> Any:
    async with aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub: Any = health_pb2_grpc.HealthStub(channel)
        response = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
        return response.status


async def wait_for_status(port: int, wanted: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while (current := await status(port, SERVICE)) != wanted:
        assert time.monotonic() < deadline, f"health stayed {current}"
        await asyncio.sleep(0.1)


async def test_health_goes_not_serving_while_postgres_is_unreachable(
    proxied_dsn: tuple[str, CuttableProxy],
) -> None:
    dsn, proxy = proxied_dsn
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2, timeout=1)

    async def build(runtime: Runtime) -> ServiceSpec:
        async def postgres() -> None:
            await pool.fetchval("SELECT 1")

        return ServiceSpec(
            name="order",
            services=[SERVICE],
            register=[],
            probes={"postgres": postgres},
            cleanup=[pool.close],
        )

    environ = {"GRPC_PORT": "0", "HEALTH_PROBE_INTERVAL_SECONDS": "0.1", "GRPC_GRACE_SECONDS": "1"}
    stop = asyncio.Event()
    started: asyncio.Future[Serving] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve(
            RuntimeSettings.from_env("order", environ),
            build,
            environ,
            stop=stop,
            on_serving=started.set_result,
        )
    )
    try:
        port = (await asyncio.wait_for(started, 10)).grpc_port
        await wait_for_status(port, SERVING)

        await proxy.cut()
        await wait_for_status(port, NOT_SERVING)
        assert await status(port, "") == NOT_SERVING
        assert await status(port, "liveness") == SERVING

        await proxy.start()
        await wait_for_status(port, SERVING)
        assert await status(port, "") == SERVING
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
