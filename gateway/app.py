"""The ASGI application: probes, OpenAPI and docs, and every transcoded route."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

import grpc
from google.rpc import status_pb2
from opentelemetry import propagate, trace

from gateway.docs import DocsSite
from gateway.edge.client import request_id
from gateway.errors import status_json
from gateway.http import (
    HttpRequest,
    HttpResponse,
    Receive,
    Rejection,
    Scope,
    Send,
    send_response,
)
from gateway.observability import AccessLog, GatewayMetrics
from gateway.pipeline import Pipeline, RequestLog, limit_headers
from gateway.security_headers import SecurityHeaders
from gateway.storefront import Storefront
from gateway.upstream import Upstream
from mesh.heap import settle_heap

__all__ = ["GatewayApp"]

_log = logging.getLogger(__name__)

_PROBES = frozenset({"/healthz", "/readyz"})


class GatewayApp:
    def __init__(
        self,
        *,
        pipeline: Pipeline,
        upstreams: Upstream,
        upstream_services: Sequence[str],
        openapi: bytes,
        docs: DocsSite,
        metrics: GatewayMetrics,
        tracer: trace.Tracer,
        access_log: AccessLog,
        on_close: Sequence[Callable[[], Awaitable[None]]] = (),
        storefront: Storefront | None = None,
        security_headers: SecurityHeaders | None = None,
    ) -> None:
        self._pipeline = pipeline
        self._upstreams = upstreams
        self._upstream_services = tuple(upstream_services)
        self._openapi = openapi
        self._docs = docs
        self._metrics = metrics
        self._tracer = tracer
        self._access_log = access_log
        self._on_close = tuple(on_close)
        self._storefront = storefront
        self._security_headers = security_headers or SecurityHeaders()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def close(self) -> None:
        for callback in self._on_close:
            await callback()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                settle_heap()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        request = HttpRequest.from_scope(scope)
        log = RequestLog(request_id(request.headers.get("x-request-id")))
        log.client_ip = self._pipeline.client_ip(request)
        parent = propagate.extract(request.headers)
        with self._tracer.start_as_current_span(
            f"{request.method} gateway", context=parent, kind=trace.SpanKind.SERVER
        ) as span:
            response = await self._respond(request, receive, log)
            span.update_name(f"{request.method} {log.route}")
            span.set_attribute("http.request.method", request.method)
            span.set_attribute("http.route", log.route)
            span.set_attribute("http.response.status_code", response.status)
            span.set_attribute("client.address", log.client_ip)
            if response.status >= 500:
                span.set_status(trace.StatusCode.ERROR)
            response.headers.append(("x-request-id", log.request_id))
            response.headers.extend(
                self._security_headers.headers_for(response, route=log.route, rpc=log.rpc)
            )
            await send_response(send, response)
            elapsed = time.perf_counter() - started
            self._metrics.observe(request, log, response.status, elapsed)
            # Inside the span, so the log line carries its trace id.
            self._access_log.record(
                request, log, response.status, elapsed, len(response.body or b"")
            )

    async def _respond(
        self, request: HttpRequest, receive: Receive, log: RequestLog
    ) -> HttpResponse:
        path = request.raw_path
        if path in _PROBES:
            log.route = path
            return await self._probe(path)
        if self._storefront is not None and self._storefront.owns(path):
            # Static files from memory, outside the API's rate limit: a page load must not
            # spend the shopper's budget of API calls.
            log.route = "storefront"
            return self._storefront.respond(request)
        if self._pipeline.is_preflight(request):
            log.route = "preflight"
            return self._pipeline.preflight(request)
        try:
            if path == "/openapi.json" or path == "/docs" or path.startswith("/docs/"):
                decisions = await self._pipeline.admit(request, log)
                log.route = "/docs" if path != "/openapi.json" else path
                response = self._site(request, path)
                response.headers.extend(limit_headers(decisions))
            else:
                response = await self._pipeline.handle(request, receive, log)
        except Rejection as rejection:
            response = rejection.response()
        except Exception:
            # Anything unexpected is logged here with its stack; the client sees no detail.
            _log.exception("unhandled error serving %s %s", request.method, log.route)
            response = HttpResponse(
                500, status_json(_status(grpc.StatusCode.INTERNAL, "internal error"))
            )
        response.headers.extend(self._pipeline.cors_headers(request))
        return response

    def _site(self, request: HttpRequest, path: str) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            raise Rejection(
                _status(
                    grpc.StatusCode.UNIMPLEMENTED, f"method {request.method} is not allowed here"
                ),
                http_status=405,
                headers=[("allow", "GET, HEAD")],
            )
        if path == "/openapi.json":
            return HttpResponse(200, self._openapi)
        asset = self._docs.get(path)
        if asset is None:
            raise Rejection(_status(grpc.StatusCode.NOT_FOUND, "no such route"), http_status=404)
        content, content_type = asset
        return HttpResponse(200, content, [("cache-control", "public, max-age=3600")], content_type)

    async def _probe(self, path: str) -> HttpResponse:
        if path == "/healthz":
            return HttpResponse(200, b'{"status":"ok"}')
        upstreams = await self._upstreams.ready(self._upstream_services)
        ready = all(upstreams.values())
        body = {
            "status": "ready" if ready else "not ready",
            "upstreams": {
                name: "SERVING" if ok else "NOT_SERVING" for name, ok in upstreams.items()
            },
        }
        return HttpResponse(200 if ready else 503, json.dumps(body).encode())


def _status(code: grpc.StatusCode, message: str) -> status_pb2.Status:
    return status_pb2.Status(code=code.value[0], message=message)
