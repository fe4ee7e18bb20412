"""Gateway metrics (Prometheus) and the access log: one JSON line per request."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from typing import Final, TextIO

from prometheus_client import CollectorRegistry, Counter, Histogram

from gateway.http import HttpRequest
from gateway.pipeline import RequestLog
from mesh.logs import json_line

__all__ = ["AccessLog", "GatewayMetrics"]

_LOGGER: Final = "gateway.access"
_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        # Labelled by route template, never by raw path, to keep cardinality bounded.
        labels = ("method", "route")
        self.requests = Counter(
            "gateway_http_requests",
            "HTTP requests answered by the gateway, by status.",
            (*labels, "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "gateway_http_request_duration_seconds",
            "Time from request to response at the gateway.",
            labels,
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, request: HttpRequest, log: RequestLog, status: int, seconds: float) -> None:
        # The labelled children, looked up once per (method, route, status): labels() checks
        # and joins its arguments on every call. Routes are templates, so the set is bounded.
        key = (request.method, log.route, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(request.method, log.route, str(status)),
                self.latency.labels(request.method, log.route),
            )
        counter, histogram = children
        counter.inc()
        histogram.observe(seconds)


class AccessLog:
    """One JSON line per request (the shape of every platform log line, `mesh.logs`), written
    in batches.

    Through `logging`, a line cost the gateway a tenth of its CPU per request: a LogRecord,
    the generic formatter walking its attributes, and one write and flush per line. Here the
    line is built directly and the lines of `flush_seconds` go out in one write (Envoy's
    access log flushes once a second by default). A batch also goes out when it reaches
    `max_batch` lines, and at shutdown (`close`); a worker killed outright loses at most the
    lines of its last `flush_seconds`. The `gateway.access` logger's level still decides
    whether lines are written.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        service: str = "gateway",
        flush_seconds: float = 0.1,
        max_batch: int = 512,
        logger: logging.Logger | None = None,
    ) -> None:
        self._stream = stream
        self._service = service
        self._flush_seconds = flush_seconds
        self._max_batch = max_batch
        self._logger = logger or logging.getLogger(_LOGGER)
        self._lines: list[str] = []
        self._timer: asyncio.TimerHandle | None = None

    def record(
        self, request: HttpRequest, log: RequestLog, status: int, seconds: float, size: int
    ) -> None:
        if not self._logger.isEnabledFor(logging.INFO):
            return
        fields = {
            "request_id": log.request_id,
            "http_method": request.method,
            "path": request.raw_path,
            "route": log.route,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "response_bytes": size,
            "client_ip": log.client_ip,
            "user_id": log.user,
            "rpc": log.rpc,
            "grpc_code": log.grpc_code,
            "user_agent": request.headers.get("user-agent", ""),
        }
        message = f"{request.method} {log.route} {status}"
        self._lines.append(json_line(self._service, "INFO", _LOGGER, message, time.time(), fields))
        if len(self._lines) >= self._max_batch:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._flush_seconds, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._lines:
            return
        lines, self._lines = self._lines, []
        stream = self._stream or sys.stderr  # read late: tests and logging swap stderr
        stream.write("\n".join(lines) + "\n")
        stream.flush()

    async def close(self) -> None:
        self.flush()
