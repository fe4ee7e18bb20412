"""A real service process: JSON logs, SIGTERM and SIGINT stop it cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

pytestmark = pytest.mark.integration

CHILD = Path(__file__).with_name("mesh_service_child.py")


async def read_json_line(stream: asyncio.StreamReader, message: str) -> dict[str, Any]:
    while True:
        line = await asyncio.wait_for(stream.readline(), 30)
        assert line, f"process ended before logging {message!r}"
        entry: dict[str, Any] = json.loads(line)
        if entry["message"] == message:
            return entry


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_signal_stops_the_service_gracefully(signum: signal.Signals) -> None:
    environ = {**os.environ, "GRPC_PORT": "0", "GRPC_GRACE_SECONDS": "2", "LOG_LEVEL": "INFO"}
    environ["PYTHONPATH"] = os.pathsep.join(sys.path)
    child = await asyncio.create_subprocess_exec(
        sys.executable, str(CHILD), stderr=asyncio.subprocess.PIPE, env=environ
    )
    assert child.stderr is not None
    try:
        serving = await read_json_line(child.stderr, "serving cart")
        assert serving["service"] == "cart" and serving["level"] == "INFO"
        port = serving["grpc_port"]
        async with aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub: Any = health_pb2_grpc.HealthStub(channel)
            response = await stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert response.status == health_pb2.HealthCheckResponse.SERVING

        child.send_signal(signum)
        await read_json_line(child.stderr, "cleanup ran")
        await read_json_line(child.stderr, "stopped")
        assert await asyncio.wait_for(child.wait(), 30) == 0
        with pytest.raises(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
