"""The gateway's proof, on calls to the user service, that it wrote their `x-forwarded-for`.

The user service counts sign-ins and sign-ups per client address and believes the address the
gateway forwards only next to the gateway's own service token (`x-forwarded-by`, checked by
mesh.auth.forwarded). The token goes to the services listed here and nowhere else: a service
token of the gateway must not spread through the mesh. It never replaces `authorization`,
which carries the end user's token.

Without credentials, or while no token can be had, calls go on without the proof and the user
service counts every shopper behind this gateway as one client (its peer address).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection

from grpc import aio

from mesh.auth.forwarded import FORWARDED_BY
from mesh.auth.service_token import ServiceTokenProvider

__all__ = ["ForwardingProof"]

_log = logging.getLogger(__name__)


class ForwardingProof:
    """`metadata(service)`: the `x-forwarded-by` entry for a call to `service`, if any.

    A failed token fetch is not retried for `retry_after_seconds`, so a wrong secret costs one
    extra call now and then, not one per request.
    """

    def __init__(
        self,
        tokens: ServiceTokenProvider | None,
        services: Collection[str],
        *,
        retry_after_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._tokens = tokens
        self._services = frozenset(services)
        self._retry_after = retry_after_seconds
        self._clock = clock
        self._paused_until = 0.0

    async def metadata(self, service_full_name: str) -> list[tuple[str, str]]:
        if self._tokens is None or service_full_name not in self._services:
            return []
        if self._clock() < self._paused_until:
            return []
        try:
            token = await self._tokens.token()
        except Exception as error:  # the call itself must go on: the proof is an addition
            self._paused_until = self._clock() + self._retry_after
            _log.warning(
                "no service token for the gateway (%s): for %.0f s the user service counts "
                "sign-ins and sign-ups by the gateway's address instead of the client's",
                _describe(error),
                self._retry_after,
            )
            return []
        return [(FORWARDED_BY, token)]


def _describe(error: Exception) -> str:
    if isinstance(error, aio.AioRpcError):
        return f"{error.code().name}: {error.details()}"
    return repr(error)
