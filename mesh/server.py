"""What a service declares (`ServiceSpec`) and the grpc.aio server built from it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection
from opentelemetry.sdk.trace import TracerProvider

from mesh.auth.access import AccessPolicy
from mesh.auth.interceptor import AuthInterceptor, TokenVerifier
from mesh.auth.jwt import KeySource
from mesh.health import Probe
from mesh.interceptors.chain import InterceptorChain
from mesh.interceptors.errors import ErrorInterceptor
from mesh.interceptors.request_context import RequestContextInterceptor
from mesh.interceptors.validation import RequestValidator, ValidationInterceptor
from mesh.metrics import MetricsInterceptor, ServerMetrics
from mesh.tracing import ServerTracingInterceptor

__all__ = ["ServiceSpec", "create_server"]

# Adds servicers to the server, e.g. `lambda s: add_CartServiceServicer_to_server(servicer, s)`.
Registration = Callable[[aio.Server], None]
Cleanup = Callable[[], Awaitable[object]]
BackgroundTask = Callable[[], Awaitable[object]]

_MAX_MESSAGE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """Everything the runtime needs to know about one service.

    `services` are the full proto names (`shop.cart.v1.CartService`) used for health,
    reflection and access rules. `probes` are readiness checks of required stores.
    `background` tasks run for the life of the server (relays, consumers) and are cancelled
    on shutdown; `cleanup` callbacks run after the server stopped, in reverse order.
    """

    name: str
    services: Sequence[str]
    register: Sequence[Registration]
    probes: Mapping[str, Probe] = field(default_factory=dict)
    background: Sequence[BackgroundTask] = ()
    cleanup: Sequence[Cleanup] = ()
    # The user service verifies tokens with its own keys instead of calling itself.
    key_source: KeySource | None = None


def server_interceptors(
    *,
    verifier: TokenVerifier,
    policy: AccessPolicy,
    metrics: ServerMetrics,
    tracer_provider: TracerProvider | None = None,
    validator: RequestValidator | None = None,
) -> list[aio.ServerInterceptor]:
    """One interceptor running the chain, outermost first: errors are mapped before metrics
    record the final status code, and the caller is authenticated before the request is
    validated. The chain is composed once per method, not per call (see InterceptorChain)."""
    return [
        InterceptorChain(
            [
                ServerTracingInterceptor(tracer_provider),
                RequestContextInterceptor(),
                MetricsInterceptor(metrics),
                ErrorInterceptor(),
                AuthInterceptor(verifier, policy),
                ValidationInterceptor(validator),
            ]
        )
    ]


def create_server(
    spec: ServiceSpec,
    *,
    verifier: TokenVerifier,
    metrics: ServerMetrics,
    port: int = 0,
    host: str = "[::]",
    health: health_aio.HealthServicer | None = None,
    tracer_provider: TracerProvider | None = None,
    policy: AccessPolicy | None = None,
    options: Sequence[tuple[str, Any]] = (),
) -> tuple[aio.Server, int]:
    """An unstarted server with the spec's servicers, health and reflection; port 0 picks
    a free port, which is returned."""
    server = aio.server(
        interceptors=server_interceptors(
            verifier=verifier,
            policy=policy or AccessPolicy.from_descriptors(spec.services),
            metrics=metrics,
            tracer_provider=tracer_provider,
        ),
        options=[
            ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
            # Clients ping every GRPC_KEEPALIVE_SECONDS, idle or not; don't call that abuse.
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
            *options,
        ],
    )
    for register in spec.register:
        register(server)
    health_pb2_grpc.add_HealthServicer_to_server(health or health_aio.HealthServicer(), server)
    reflection.enable_server_reflection(
        (
            *spec.services,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    bound = server.add_insecure_port(f"{host}:{port}")
    return server, bound
