"""One place that makes channels to other services."""

from __future__ import annotations

import logging
from typing import Any

from grpc import aio
from opentelemetry.sdk.trace import TracerProvider

from mesh.auth.service_token import ServiceTokenProvider
from mesh.clients.interceptors import CallAs, OutgoingCallInterceptor
from mesh.clients.service_config import channel_options, full_service_name
from mesh.settings import ClientSettings
from mesh.tracing import client_tracing_interceptors

__all__ = ["ChannelFactory"]

logger = logging.getLogger(__name__)


class ChannelFactory:
    """Channels by service name (`catalog`), created once and closed by `close()`.

    Every call gets a deadline (the default, shortened to what is left of the incoming
    call's), the caller's token (or the service token, see `CallAs`), the request id and
    the trace context. Reads are retried on UNAVAILABLE by the service config.
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        service_tokens: ServiceTokenProvider | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self._settings = settings
        self._service_tokens = service_tokens
        self._tracer_provider = tracer_provider
        self._channels: dict[tuple[str, CallAs], aio.Channel] = {}

    def channel(self, service: str, *, call_as: CallAs = CallAs.CALLER) -> aio.Channel:
        key = (service, call_as)
        channel = self._channels.get(key)
        if channel is None:
            channel = self._create(service, call_as)
            self._channels[key] = channel
        return channel

    def _create(self, service: str, call_as: CallAs) -> aio.Channel:
        target = self._settings.address_of(service)
        # No timeout in the service config: OutgoingCallInterceptor gives every call its own.
        options = channel_options(
            full_service_name(service),
            keepalive_seconds=self._settings.keepalive_seconds,
        )
        interceptors: list[Any] = [
            OutgoingCallInterceptor(
                default_timeout_seconds=self._settings.default_deadline_seconds,
                call_as=call_as,
                service_tokens=self._service_tokens,
            ),
            *client_tracing_interceptors(self._tracer_provider),
        ]
        logger.debug("channel to %s at %s", service, target)
        return aio.insecure_channel(target, options=options, interceptors=interceptors)

    async def close(self, grace: float | None = None) -> None:
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            await channel.close(grace)
