"""OpenTelemetry: a tracer provider per process, exporting over OTLP only when configured.

Sampling belongs at the edge: a process without an exporter records nothing (its spans still
carry trace and span ids, for the logs and for propagation); with one, a request whose caller
sent a sampling decision follows it, and a new trace is sampled at `sample_ratio`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import grpc
from grpc import aio
from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.grpc import aio_client_interceptors
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, Sampler, TraceIdRatioBased

from mesh.interceptors.base import CallInterceptor, Continuation
from mesh.settings import Env, SettingsError

__all__ = [
    "ServerTracingInterceptor",
    "client_tracing_interceptors",
    "create_tracer_provider",
    "sampler_for",
    "trace_sample_ratio",
]

_TRACER_NAME: Final = "mesh.server"


def trace_sample_ratio(environ: Mapping[str, str]) -> float:
    """Share of new traces recorded when exporting (OTEL_TRACES_SAMPLER_ARG, 0 to 1; the
    standard variable). Calls that arrive with a sampling decision follow it."""
    ratio = Env(environ).number("OTEL_TRACES_SAMPLER_ARG", 1.0, minimum=0.0)
    if ratio > 1.0:
        raise SettingsError("OTEL_TRACES_SAMPLER_ARG", f"expected at most 1, got {ratio}")
    return ratio


def sampler_for(otlp_endpoint: str | None, sample_ratio: float = 1.0) -> Sampler:
    if not otlp_endpoint:
        return ALWAYS_OFF
    return ParentBased(TraceIdRatioBased(sample_ratio))


def create_tracer_provider(
    service: str, otlp_endpoint: str | None, *, sample_ratio: float = 1.0
) -> TracerProvider:
    """Spans are always created (their ids go into logs and outgoing headers); they are
    recorded and exported only when an OTLP endpoint is set."""
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: service}),
        sampler=sampler_for(otlp_endpoint, sample_ratio),
    )
    if otlp_endpoint:
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
    return provider


class ServerTracingInterceptor(CallInterceptor):
    """A SERVER span per call, continuing the caller's W3C trace context. Attributes are set
    only on recording (sampled) spans, so an unsampled call costs an id and a context switch."""

    def __init__(self, provider: TracerProvider | None) -> None:
        source = provider if provider is not None else trace.get_tracer_provider()
        self._tracer = source.get_tracer(_TRACER_NAME)

    async def intercept(
        self,
        call_next: Continuation,
        request: Any,
        context: aio.ServicerContext[Any, Any],
        method: str,
    ) -> Any:
        carrier = {key: value for key, value in context.invocation_metadata() or ()}
        parent = propagate.extract(carrier)
        with self._tracer.start_as_current_span(
            method.lstrip("/"),
            context=parent,
            kind=trace.SpanKind.SERVER,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            if not span.is_recording():
                return await call_next(request, context)
            service, _, name = method.lstrip("/").partition("/")
            span.set_attribute("rpc.system", "grpc")
            span.set_attribute("rpc.service", service)
            span.set_attribute("rpc.method", name)
            try:
                response = await call_next(request, context)
            except BaseException as error:
                span.set_status(trace.StatusCode.ERROR, type(error).__name__)
                raise
            code = context.code()
            status = code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.OK
            span.set_attribute("rpc.grpc.status_code", status.value[0])
            if status is not grpc.StatusCode.OK:
                span.set_status(trace.StatusCode.ERROR, status.name)
            return response


def client_tracing_interceptors(provider: TracerProvider | None) -> list[Any]:
    interceptors: list[Any] = aio_client_interceptors(  # type: ignore[no-untyped-call]
        tracer_provider=provider
    )
    return interceptors
