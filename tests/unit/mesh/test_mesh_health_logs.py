from __future__ import annotations

import asyncio
import json
import logging

from grpc_health.v1 import health_pb2
from opentelemetry.sdk.trace import TracerProvider

from mesh.context import RequestContext, request_scope
from mesh.health import HealthWatcher
from mesh.logs import JsonFormatter

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class RecordingHealth:
    def __init__(self) -> None:
        self.status: dict[str, int] = {}
        self.shut_down = False

    async def set(self, service: str, status: int) -> None:
        self.status[service] = status

    async def enter_graceful_shutdown(self) -> None:
        self.shut_down = True


async def test_health_follows_the_probes() -> None:
    store_up = True

    async def probe() -> None:
        if not store_up:
            raise ConnectionError("store down")

    health = RecordingHealth()
    watcher = HealthWatcher(health, ["shop.order.v1.OrderService"], {"postgres": probe})  # type: ignore[arg-type]
    assert await watcher.check_once()
    assert health.status == {
        "": SERVING,
        "shop.order.v1.OrderService": SERVING,
        "liveness": SERVING,
    }
    store_up = False
    assert not await watcher.check_once()
    assert health.status == {
        "": NOT_SERVING,
        "shop.order.v1.OrderService": NOT_SERVING,
        "liveness": SERVING,
    }
    store_up = True
    assert await watcher.check_once()
    assert set(health.status.values()) == {SERVING}
    await watcher.shutdown()
    assert health.shut_down


async def test_a_hanging_probe_counts_as_failed() -> None:
    async def hangs() -> None:
        await asyncio.sleep(10)

    health = RecordingHealth()
    watcher = HealthWatcher(health, [], {"redis": hangs}, probe_timeout_seconds=0.05)  # type: ignore[arg-type]
    assert not await watcher.check_once()
    assert health.status == {"": NOT_SERVING, "liveness": SERVING}


def test_json_log_lines_carry_service_and_request_id() -> None:
    record = logging.LogRecord("mesh.test", logging.WARNING, __file__, 1, "hello %s", ("x",), None)
    record.order_id = "o1"
    with request_scope(RequestContext(request_id="req-9", method="/a.v1.S/M")):
        line = JsonFormatter("order").format(record)
    entry = json.loads(line)
    assert entry["message"] == "hello x"
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "mesh.test"
    assert entry["service"] == "order"
    assert entry["request_id"] == "req-9"
    assert entry["order_id"] == "o1"
    assert "time" in entry


def test_json_log_lines_carry_the_trace_ids() -> None:
    record = logging.LogRecord("mesh.test", logging.INFO, __file__, 1, "traced", (), None)
    with TracerProvider().get_tracer("test").start_as_current_span("call") as span:
        entry = json.loads(JsonFormatter("cart").format(record))
        context = span.get_span_context()
    assert entry["trace_id"] == format(context.trace_id, "032x")
    assert entry["span_id"] == format(context.span_id, "016x")
