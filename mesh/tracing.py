"""OpenTelemetry: a tracer provider per process, exporting over OTLP only when configured."""

from __future__ import annotations

from typing import Any

from grpc import aio
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.grpc import aio_client_interceptors, aio_server_interceptor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

__all__ = ["client_tracing_interceptors", "create_tracer_provider", "server_tracing_interceptor"]


def create_tracer_provider(service: str, otlp_endpoint: str | None) -> TracerProvider:
    """Spans are always created (their ids go into logs and outgoing headers); they are
    exported only when an OTLP endpoint is set."""
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    if otlp_endpoint:
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
    return provider


def server_tracing_interceptor(provider: TracerProvider | None) -> aio.ServerInterceptor:
    interceptor: aio.ServerInterceptor = aio_server_interceptor(  # type: ignore[no-untyped-call]
        tracer_provider=provider
    )
    return interceptor


def client_tracing_interceptors(provider: TracerProvider | None) -> list[Any]:
    interceptors: list[Any] = aio_client_interceptors(  # type: ignore[no-untyped-call]
        tracer_provider=provider
    )
    return interceptors
