"""The end client's address of a call: the one the gateway vouches for, else the gRPC peer.

The gateway computes the client's address once (gateway/client_ip.py) and sends it as
`x-forwarded-for`. Anyone who reaches a service's port could send that header as well and pick
their own throttle bucket, so a service believes it only when the same call carries the
gateway's own service token in `x-forwarded-by`: verified like every other token, and naming
the workload `gateway` (subject "service:gateway"). The token never travels as
`authorization`, which stays the end user's, and the gateway sends it to the user service only.

Without that proof the address is the gRPC peer: the gateway itself when it has no
credentials (every shopper then shares its bucket), the caller's sidecar inside the mesh.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, Final
from urllib.parse import unquote

from grpc import aio

from mesh.auth.interceptor import TokenVerifier
from mesh.errors import DomainError

__all__ = ["FORWARDED_BY", "FORWARDED_FOR", "GATEWAY_WORKLOAD", "ClientAddresses", "peer_address"]

FORWARDED_FOR: Final = "x-forwarded-for"
FORWARDED_BY: Final = "x-forwarded-by"
# The workload whose service token vouches for `x-forwarded-for`.
GATEWAY_WORKLOAD: Final = "gateway"

_UNKNOWN: Final = "unknown"

logger = logging.getLogger(__name__)


class ClientAddresses:
    """`of(context)`: the client address a handler counts sign-ins and sign-ups by.

    A missing, invalid or foreign proof never fails the call: the peer address is used and a
    warning logged, at most once per `warn_every_seconds` for each kind of problem.
    """

    def __init__(
        self,
        verifier: TokenVerifier,
        *,
        vouching_workload: str = GATEWAY_WORKLOAD,
        warn_every_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._verifier = verifier
        self._workload = vouching_workload
        self._warn_every = warn_every_seconds
        self._clock = clock
        self._warned_at: dict[str, float] = {}

    async def of(self, context: aio.ServicerContext[Any, Any]) -> str:
        forwarded_for, proof = _forwarding(context.invocation_metadata())
        peer = peer_address(context.peer())
        if forwarded_for is None:
            return peer
        if proof is None:
            self._warn("unproven", "x-forwarded-for from %s without x-forwarded-by: ignored", peer)
            return peer
        problem = await self._problem_with(proof)
        if problem is not None:
            self._warn("refused", "x-forwarded-for from %s ignored: %s", peer, problem)
            return peer
        # The right-most entry is the one the gateway wrote; anything left of it came from the
        # client and proves nothing.
        return forwarded_for.split(",")[-1].strip() or peer

    async def _problem_with(self, proof: str) -> str | None:
        try:
            identity = await self._verifier.verify(proof)
        except DomainError as error:
            return f"x-forwarded-by is no valid token ({error.message})"
        if identity.workload != self._workload:
            named = identity.workload or identity.subject
            return f"x-forwarded-by names {named!r}, not {self._workload!r}"
        return None

    def _warn(self, kind: str, message: str, *args: object) -> None:
        now = self._clock()
        last = self._warned_at.get(kind)
        if last is not None and now - last < self._warn_every:
            return
        self._warned_at[kind] = now
        logger.warning(message + "; counting the caller's own address", *args)


def _forwarding(metadata: Iterable[tuple[str, Any]] | None) -> tuple[str | None, str | None]:
    """The first non-empty `x-forwarded-for` and `x-forwarded-by` values."""
    forwarded_for: str | None = None
    proof: str | None = None
    for key, value in metadata or ():
        if not isinstance(value, str) or not value.strip():
            continue
        if key == FORWARDED_FOR and forwarded_for is None:
            forwarded_for = value
        elif key == FORWARDED_BY and proof is None:
            proof = value.strip()
    return forwarded_for, proof


def peer_address(peer: str | None) -> str:
    """The host of a gRPC peer: "ipv4:10.0.0.7:50514" / "ipv6:%5B::1%5D:50514" -> the address
    (grpc percent-encodes the brackets of an IPv6 peer)."""
    address = unquote(peer or "").split(":", 1)[-1].rsplit(":", 1)[0]
    return address.strip("[]") or _UNKNOWN
