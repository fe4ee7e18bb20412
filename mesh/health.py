"""grpc.health.v1 status driven by readiness probes of the stores a service needs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping

from grpc_health.v1 import health_pb2
from grpc_health.v1.health import aio as health_aio

from mesh.cancellation import raise_if_cancelling

__all__ = ["LIVENESS", "HealthWatcher", "Probe"]

logger = logging.getLogger(__name__)

# A readiness check: returns when the dependency answers, raises otherwise.
Probe = Callable[[], Awaitable[object]]

# Health name for liveness probes: SERVING while the process runs, whatever the stores do,
# so a store outage takes pods out of rotation (readiness) without restarting them.
LIVENESS = "liveness"

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class HealthWatcher:
    """Keeps "" and every service name SERVING while all probes pass, NOT_SERVING otherwise;
    `liveness` stays SERVING until shutdown."""

    def __init__(
        self,
        servicer: health_aio.HealthServicer,
        service_names: Iterable[str],
        probes: Mapping[str, Probe],
        *,
        interval_seconds: float = 2.0,
        probe_timeout_seconds: float = 2.0,
    ) -> None:
        self._servicer = servicer
        self._names = ("", *service_names)
        self._probes = dict(probes)
        self._interval = interval_seconds
        self._timeout = probe_timeout_seconds
        self._serving: bool | None = None

    async def check_once(self) -> bool:
        if self._serving is None:
            await self._servicer.set(LIVENESS, SERVING)
        failing = [
            name for name, ok in zip(self._probes, await self._run_probes(), strict=True) if not ok
        ]
        serving = not failing
        if serving != self._serving:
            if serving:
                logger.info("all dependencies ready: SERVING")
            else:
                logger.warning("dependencies not ready: %s: NOT_SERVING", ", ".join(failing))
            await self._set(SERVING if serving else NOT_SERVING)
            self._serving = serving
        return serving

    async def run(self) -> None:
        while True:
            raise_if_cancelling()
            await self.check_once()
            await asyncio.sleep(self._interval)

    async def shutdown(self) -> None:
        """Tells watchers and load balancers to go elsewhere before the server stops."""
        await self._servicer.enter_graceful_shutdown()

    async def _set(self, status: int) -> None:
        for name in self._names:
            await self._servicer.set(name, status)

    async def _run_probes(self) -> list[bool]:
        return list(await asyncio.gather(*(self._probe(p) for p in self._probes.values())))

    async def _probe(self, probe: Probe) -> bool:
        try:
            await asyncio.wait_for(probe(), self._timeout)
        except Exception as error:
            logger.debug("probe failed: %r", error)
            return False
        return True
