"""`run_service`: the process around a service, from settings to graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import NoReturn

import uvloop
from grpc_health.v1.health import aio as health_aio
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from mesh.auth.jwt import KeySource
from mesh.auth.service_token import ServiceTokenProvider
from mesh.auth.verified_tokens import caching_verifier
from mesh.cancellation import cancel_and_wait, raise_if_cancelling
from mesh.clients import CallAs, ChannelFactory
from mesh.health import HealthWatcher
from mesh.heap import settle_heap
from mesh.logs import configure_logging
from mesh.metrics import MetricsHttpServer, ServerMetrics
from mesh.server import BackgroundTask, ServiceSpec, create_server
from mesh.settings import RuntimeSettings, SettingsError
from mesh.tracing import create_tracer_provider, trace_sample_ratio

__all__ = ["Build", "Runtime", "Serving", "run_service", "serve"]

logger = logging.getLogger(__name__)

_RESTART_DELAY_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Runtime:
    """What `build` gets: shared settings, the environment for the service's own settings,
    the channel factory for its upstreams, the registry its /metrics serves (services
    register their business metrics on it), and the cleanup stack.

    `cleanup` takes everything `build` opens, right after opening it::

        pool = await open_pool(...)
        runtime.cleanup.push_async_callback(pool.close)
        await publisher.start()
        runtime.cleanup.push_async_callback(publisher.stop)

    The runtime closes the stack when a later step of `build` fails (nothing leaks from a
    failed start) and at shutdown after the server stopped and the background tasks ended,
    always in reverse order of registration. Whoever calls `build` outside `serve` (a test)
    closes it: `async with runtime.cleanup: spec = await build(runtime) ...`.
    """

    settings: RuntimeSettings
    environ: Mapping[str, str]
    channels: ChannelFactory
    tracer_provider: TracerProvider
    # Tests that assemble a service without serving it get a throw-away registry.
    metrics_registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    cleanup: AsyncExitStack = field(default_factory=AsyncExitStack)


Build = Callable[[Runtime], Awaitable[ServiceSpec]]


@dataclass(frozen=True, slots=True)
class Serving:
    grpc_port: int
    metrics_port: int


def run_service(name: str, build: Build, environ: Mapping[str, str] | None = None) -> NoReturn:
    """Entry point of `python -m services.<name>`; exits 2 on a configuration error."""
    environ = os.environ if environ is None else environ
    try:
        settings = RuntimeSettings.from_env(name, environ)
    except SettingsError as error:
        sys.stderr.write(f"{name}: {error}\n")
        raise SystemExit(2) from None
    configure_logging(name, settings.log_level)
    try:
        # uvloop: a faster event loop for the handlers and the stores' drivers.
        uvloop.run(serve(settings, build, environ))
    except SettingsError as error:
        logger.critical("configuration error: %s", error)
        raise SystemExit(2) from None
    raise SystemExit(0)


async def serve(
    settings: RuntimeSettings,
    build: Build,
    environ: Mapping[str, str],
    *,
    stop: asyncio.Event | None = None,
    on_serving: Callable[[Serving], None] | None = None,
) -> None:
    """Runs until SIGTERM/SIGINT (or `stop` is set), then shuts down gracefully: health goes
    NOT_SERVING, new calls are refused, in-flight calls get `grace_seconds`, background
    tasks are cancelled, then cleanup callbacks, channels and the tracer are closed."""
    stop = stop or _stop_on_signals()
    tracer_provider = create_tracer_provider(
        settings.service_name, settings.otlp_endpoint, sample_ratio=trace_sample_ratio(environ)
    )
    async with AsyncExitStack() as stack:
        stack.push_async_callback(asyncio.to_thread, tracer_provider.shutdown)
        # Token and key fetches are public calls; they never carry a token themselves.
        bootstrap_channels = ChannelFactory(settings.clients, tracer_provider=tracer_provider)
        stack.push_async_callback(bootstrap_channels.close)
        channels = ChannelFactory(
            settings.clients,
            service_tokens=_service_tokens(settings, bootstrap_channels),
            tracer_provider=tracer_provider,
        )
        stack.push_async_callback(channels.close)

        metrics = ServerMetrics()
        # Entered before build runs: what build registered is closed even when build fails.
        resources = await stack.enter_async_context(AsyncExitStack())
        spec = await build(
            Runtime(settings, environ, channels, tracer_provider, metrics.registry, resources)
        )
        for cleanup in spec.cleanup:
            resources.push_async_callback(cleanup)

        key_source = spec.key_source or _user_service_keys(bootstrap_channels)
        # Each token verified once per process while valid: a checkout carries one token
        # through seven hops, and RS256 is most of the runtime's per-call cost.
        verifier = caching_verifier(
            key_source, issuer=settings.jwt_issuer, audience=settings.jwt_audience
        )
        health = health_aio.HealthServicer()
        server, port = create_server(
            spec,
            verifier=verifier,
            metrics=metrics,
            port=settings.grpc_port,
            host=settings.listen_host or "[::]",
            health=health,
            tracer_provider=tracer_provider,
        )
        metrics_http = MetricsHttpServer(
            metrics, settings.metrics_port, host=settings.listen_host or "0.0.0.0"
        )
        stack.callback(metrics_http.close)
        watcher = HealthWatcher(
            health,
            spec.services,
            spec.probes,
            interval_seconds=settings.health_probe_interval_seconds,
        )
        await watcher.check_once()
        await server.start()
        logger.info(
            "serving %s", spec.name, extra={"grpc_port": port, "metrics_port": metrics_http.port}
        )
        if on_serving is not None:
            on_serving(Serving(port, metrics_http.port))

        tasks = [asyncio.create_task(watcher.run(), name="health-watcher")]
        tasks += [asyncio.create_task(_supervise(task)) for task in spec.background]
        settle_heap()
        try:
            await stop.wait()
        finally:
            logger.info("shutting down %s", spec.name)
            await watcher.shutdown()
            await server.stop(settings.grace_seconds)
            await cancel_and_wait(tasks)
    logger.info("stopped")


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def _supervise(task: BackgroundTask) -> None:
    """Background loops (relays, consumers) must outlive transient failures: restart them."""
    name = getattr(task, "__qualname__", repr(task))
    while True:
        raise_if_cancelling()
        try:
            await task()
            return
        except Exception:
            logger.exception("background task %s failed; restarting", name)
            await asyncio.sleep(_RESTART_DELAY_SECONDS)


def _service_tokens(
    settings: RuntimeSettings, channels: ChannelFactory
) -> ServiceTokenProvider | None:
    client_id, secret = settings.clients.client_id, settings.clients.client_secret
    if not client_id or not secret:
        return None
    from mesh.auth.user_service import UserServiceTokenIssuer

    channel = channels.channel("user", call_as=CallAs.ANONYMOUS)
    return ServiceTokenProvider(UserServiceTokenIssuer(channel, client_id, secret))


def _user_service_keys(channels: ChannelFactory) -> KeySource:
    from mesh.auth.user_service import UserServiceKeySource

    return UserServiceKeySource(channels.channel("user", call_as=CallAs.ANONYMOUS))
