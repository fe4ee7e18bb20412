"""Prometheus metrics of one server, on a registry of its own, served over HTTP."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc import aio
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from mesh.interceptors.base import CallInterceptor, Continuation

__all__ = ["MetricsHttpServer", "MetricsInterceptor", "ServerMetrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=self.registry)
        labels = ("grpc_service", "grpc_method")
        self.handled = Counter(
            "grpc_server_handled",
            "RPCs completed on the server, by status code.",
            (*labels, "grpc_code"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "grpc_server_handling_seconds",
            "Time to handle an RPC on the server.",
            labels,
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "grpc_server_in_flight", "RPCs being handled now.", labels, registry=self.registry
        )


def split_method(method: str) -> tuple[str, str]:
    service, _, name = method.lstrip("/").partition("/")
    return service, name


@dataclass(slots=True)
class _MethodMetrics:
    """One method's labelled children, looked up once instead of on every call."""

    in_flight: Any
    latency: Any
    handled: Any
    by_code: dict[str, Any] = field(default_factory=dict)

    def handled_with(self, code: str) -> Any:
        child = self.by_code.get(code)
        if child is None:
            child = self.by_code[code] = self.handled(code)
        return child


class MetricsInterceptor(CallInterceptor):
    def __init__(self, metrics: ServerMetrics) -> None:
        self._metrics = metrics
        self._methods: dict[str, _MethodMetrics] = {}

    def _of(self, method: str) -> _MethodMetrics:
        found = self._methods.get(method)
        if found is None:
            labels = split_method(method)
            found = self._methods[method] = _MethodMetrics(
                in_flight=self._metrics.in_flight.labels(*labels),
                latency=self._metrics.latency.labels(*labels),
                handled=lambda code: self._metrics.handled.labels(*labels, code),
            )
        return found

    async def intercept(
        self,
        call_next: Continuation,
        request: Any,
        context: aio.ServicerContext[Any, Any],
        method: str,
    ) -> Any:
        metrics = self._of(method)
        metrics.in_flight.inc()
        started = time.perf_counter()
        code = grpc.StatusCode.UNKNOWN
        try:
            response = await call_next(request, context)
            code = context.code() or grpc.StatusCode.OK
            return response
        except aio.AbortError:
            code = context.code() or grpc.StatusCode.UNKNOWN
            raise
        finally:
            metrics.in_flight.dec()
            metrics.latency.observe(time.perf_counter() - started)
            metrics.handled_with(_code_name(code)).inc()


def _code_name(code: Any) -> str:
    # context.code() may be a StatusCode or, when set by the handler, a raw int.
    if isinstance(code, grpc.StatusCode):
        return str(code.name)
    for status in grpc.StatusCode:
        if status.value[0] == code:
            return str(status.name)
    return str(code)


class MetricsHttpServer:
    """`/metrics` on its own port, served from a thread so a busy loop cannot hide it."""

    def __init__(self, metrics: ServerMetrics, port: int, host: str = "0.0.0.0") -> None:
        self._server, self._thread = start_http_server(port, addr=host, registry=metrics.registry)

    @property
    def port(self) -> int:
        port: int = self._server.server_port
        return port

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
