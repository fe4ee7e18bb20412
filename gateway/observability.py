"""Gateway metrics (Prometheus) and the access log: one JSON line per request."""

from __future__ import annotations

import logging
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram

from gateway.http import HttpRequest
from gateway.pipeline import RequestLog

__all__ = ["AccessLog", "GatewayMetrics"]

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

    def observe(self, request: HttpRequest, log: RequestLog, status: int, seconds: float) -> None:
        self.requests.labels(request.method, log.route, str(status)).inc()
        self.latency.labels(request.method, log.route).observe(seconds)


class AccessLog:
    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._logger = logger or logging.getLogger("gateway.access")

    def record(
        self, request: HttpRequest, log: RequestLog, status: int, seconds: float, size: int
    ) -> None:
        if not self._logger.isEnabledFor(logging.INFO):
            return
        self._logger.info(
            "%s %s %d",
            request.method,
            log.route,
            status,
            extra={
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
            },
        )
