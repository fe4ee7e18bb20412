"""The one place that assembles the gateway: settings in, an ASGI application out."""

from __future__ import annotations

import importlib
import json
import logging
import os
import pkgutil
from collections.abc import Sequence

from google.protobuf.descriptor import ServiceDescriptor
from opentelemetry.sdk.trace import TracerProvider
from redis.asyncio import Redis

from gateway.app import GatewayApp
from gateway.docs import DocsSite
from gateway.edge.client import BotDetector, DeadlinePolicy
from gateway.edge.cors import CorsPolicy
from gateway.edge.ratelimit import MemoryCounter, RateLimiter, RedisCounter, WindowCounter
from gateway.forwarding import ForwardingProof
from gateway.observability import AccessLog, GatewayMetrics
from gateway.openapi import build_openapi, contract_comments
from gateway.pipeline import EdgeLimits, Pipeline
from gateway.revocation import revocation_checked
from gateway.security_headers import SecurityHeaders
from gateway.settings import GatewaySettings
from gateway.storefront import Storefront, default_web_dir
from gateway.transcoding.router import Router
from gateway.transcoding.routes import Route, routes_from_services
from gateway.upstream import Upstream, Upstreams, short_service_name
from mesh.auth.forwarded import GATEWAY_WORKLOAD
from mesh.auth.interceptor import TokenVerifier
from mesh.auth.jwt import JwksCache, JwtVerifier
from mesh.auth.service_token import ServiceTokenProvider
from mesh.auth.user_service import UserServiceKeySource, UserServiceTokenIssuer
from mesh.auth.verified_tokens import CachingVerifier
from mesh.clients import CallAs, ChannelFactory
from mesh.logs import configure_logging
from mesh.roster import entry_of
from mesh.tracing import create_tracer_provider, trace_sample_ratio

__all__ = ["build_app", "create_app", "discover_services"]

_log = logging.getLogger(__name__)

# The service that counts sign-ins per client address, so the one that gets the gateway's proof
# of the address it forwards (gateway/forwarding.py).
USER_SERVICE = entry_of("user").grpc_service


def discover_services(package: str = "shop") -> list[ServiceDescriptor]:
    """Every service in the generated modules under `package` (imports each `*_pb2`)."""
    root = importlib.import_module(package)
    services: list[ServiceDescriptor] = []
    for module_info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        if not module_info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(module_info.name)
        services.extend(module.DESCRIPTOR.services_by_name.values())
    return services


def build_app(
    settings: GatewaySettings,
    services: Sequence[ServiceDescriptor],
    *,
    upstream: Upstream | None = None,
    verifier: TokenVerifier | None = None,
    counter: WindowCounter | None = None,
    tracer_provider: TracerProvider | None = None,
    metrics: GatewayMetrics | None = None,
    service_tokens: ServiceTokenProvider | None = None,
    access_log: AccessLog | None = None,
) -> GatewayApp:
    """Routes and OpenAPI are built here, once; requests only dispatch.

    `service_tokens` defaults to the gateway's own tokens from the user service when
    SERVICE_CLIENT_ID and SERVICE_CLIENT_SECRET are set."""
    routes = routes_from_services(services)
    provider = tracer_provider or create_tracer_provider("gateway", settings.otlp_endpoint)
    upstreams = upstream or Upstreams(settings.clients, short_service_name)
    # Keys and tokens come over the mesh's own client channel (GetJwks and IssueServiceToken
    # are public: no token); channels open on first use.
    channels = ChannelFactory(settings.clients, tracer_provider=provider)
    on_close = [upstreams.close, channels.close]
    if verifier is None:
        keys = UserServiceKeySource(channels.channel("user", call_as=CallAs.ANONYMOUS))
        verifier = JwtVerifier(
            JwksCache(keys), issuer=settings.jwt_issuer, audience=settings.jwt_audience
        )
    if service_tokens is None:
        service_tokens = _gateway_tokens(settings, channels)
    if counter is None:
        if settings.redis_url:
            redis = Redis.from_url(
                settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5
            )
            counter = RedisCounter(redis)
            on_close.append(redis.aclose)
        else:
            _log.warning("REDIS_URL is not set: rate limits are counted per process")
            counter = MemoryCounter()
    # Revoked sessions are looked up after the (cached) signature check.
    checked, close_revocations = revocation_checked(CachingVerifier(verifier), settings.redis_url)
    on_close.extend(close_revocations)
    pipeline = Pipeline(
        router=Router(routes),
        upstreams=upstreams,
        verifier=checked,
        limiter=RateLimiter(counter),
        limits=EdgeLimits(
            per_ip=settings.rate_limit_per_minute,
            per_user=settings.user_rate_limit_per_minute,
            per_route=settings.route_rate_limits,
            max_body_bytes=settings.max_body_bytes,
            trusted_proxies=settings.trusted_proxies,
        ),
        cors=CorsPolicy(settings.cors_origins),
        bots=BotDetector(settings.bot_patterns),
        deadlines=DeadlinePolicy(
            settings.default_timeout_seconds,
            settings.max_timeout_seconds,
            dict(settings.route_timeouts),
        ),
        proof=ForwardingProof(service_tokens, [USER_SERVICE]),
    )
    access_log = access_log or AccessLog()
    return GatewayApp(
        pipeline=pipeline,
        upstreams=upstreams,
        upstream_services=_ready_upstreams(routes, settings.ready_upstreams),
        openapi=json.dumps(build_openapi(routes, comments=contract_comments())).encode(),
        docs=DocsSite(),
        metrics=metrics or GatewayMetrics(),
        tracer=provider.get_tracer("gateway"),
        access_log=access_log,
        on_close=[*on_close, access_log.close, _ProviderShutdown(provider)],
        storefront=Storefront(settings.web_dir or default_web_dir()),
        security_headers=SecurityHeaders(hsts_max_age=settings.hsts_max_age),
    )


def _gateway_tokens(
    settings: GatewaySettings, channels: ChannelFactory
) -> ServiceTokenProvider | None:
    client_id, secret = settings.clients.client_id, settings.clients.client_secret
    if not client_id or not secret:
        _log.warning(
            "SERVICE_CLIENT_ID/SERVICE_CLIENT_SECRET are not set: the user service cannot trust "
            "the client address the gateway forwards and counts sign-ins and sign-ups of every "
            "client by the gateway's own address"
        )
        return None
    if client_id != GATEWAY_WORKLOAD:
        _log.warning(
            "SERVICE_CLIENT_ID is %r: the user service trusts the forwarded client address only "
            "with a token of %r",
            client_id,
            GATEWAY_WORKLOAD,
        )
    channel = channels.channel("user", call_as=CallAs.ANONYMOUS)
    return ServiceTokenProvider(UserServiceTokenIssuer(channel, client_id, secret))


def _ready_upstreams(routes: Sequence[Route], wanted: Sequence[str]) -> list[str]:
    services = sorted({route.service_name for route in routes})
    if not wanted:
        return services
    return [name for name in services if short_service_name(name) in wanted]


class _ProviderShutdown:
    def __init__(self, provider: TracerProvider) -> None:
        self._provider = provider

    async def __call__(self) -> None:
        self._provider.shutdown()


def create_app() -> GatewayApp:
    """uvicorn factory: each worker process builds its own app from the environment."""
    settings = GatewaySettings.from_env(os.environ)
    configure_logging("gateway", settings.log_level)
    # The edge decides which new traces are recorded; the services follow its decision.
    provider = create_tracer_provider(
        "gateway", settings.otlp_endpoint, sample_ratio=trace_sample_ratio(os.environ)
    )
    return build_app(settings, discover_services(), tracer_provider=provider)
