"""Refuses access tokens of sessions that were signed out (or whose refresh token leaked).

The user service writes `shop:revoked-session:<sid>` into Redis when a session ends (logout,
refresh-token reuse), expiring when the session's last access token would have. Every
authenticated request looks its token's `sid` up; a miss is remembered for at most
`recheck_seconds`, so a revoked token is refused within that time (plus one Redis round trip)
while a busy client costs Redis one lookup per token per interval, not per request.

If Redis cannot answer, the token passes (its signature and expiry were checked): an outage of
the deny-list must not sign every shopper out; the failure is logged.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from redis.asyncio import Redis

from mesh.auth.identity import Identity
from mesh.auth.interceptor import TokenVerifier
from mesh.auth.jwt import claims_of_verified
from mesh.errors import UnauthenticatedError

__all__ = ["RevocationCheck", "RevokedSessions", "revocation_checked", "revoked_session_key"]

_log = logging.getLogger(__name__)

KEY_PREFIX = "shop:revoked-session:"


def revoked_session_key(session_id: str) -> str:
    return KEY_PREFIX + session_id


class RevokedSessions(Protocol):
    """The part of the Redis client the check needs."""

    def exists(self, *names: str) -> Awaitable[int]: ...


class RevocationCheck:
    """A TokenVerifier that also refuses tokens of revoked sessions."""

    def __init__(
        self,
        verifier: TokenVerifier,
        revoked: RevokedSessions,
        *,
        recheck_seconds: float = 2.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._verifier = verifier
        self._revoked = revoked
        self._recheck = recheck_seconds
        self._max = max_entries
        self._clock = clock
        # sid -> until when it is known not to be revoked
        self._live: OrderedDict[str, float] = OrderedDict()

    async def verify(self, token: str) -> Identity:
        identity = await self._verifier.verify(token)
        session = _session_of(token)
        if session is None or self._known_live(session):
            return identity
        try:
            revoked = await self._revoked.exists(revoked_session_key(session)) > 0
        except Exception:  # noqa: BLE001 - any client error means "cannot tell"
            _log.warning("cannot reach the revoked-session list; token accepted", exc_info=True)
            return identity
        if revoked:
            raise UnauthenticatedError(
                "the session was signed out; sign in again", reason="TOKEN_REVOKED"
            )
        self._live[session] = self._clock() + self._recheck
        if len(self._live) > self._max:
            self._live.popitem(last=False)
        return identity

    def _known_live(self, session: str) -> bool:
        until = self._live.get(session)
        if until is None:
            return False
        if self._clock() < until:
            return True
        del self._live[session]
        return False


def _session_of(token: str) -> str | None:
    """The `sid` claim of a token the inner verifier accepted (so its payload is trusted)."""
    session = claims_of_verified(token).get("sid")
    return session if isinstance(session, str) and session else None


def revocation_checked(
    verifier: TokenVerifier, redis_url: str | None
) -> tuple[TokenVerifier, list[Callable[[], Coroutine[Any, Any, None]]]]:
    """`verifier` with the check when Redis is configured, and what to close on shutdown."""
    if not redis_url:
        _log.warning("REDIS_URL is not set: signed-out access tokens pass until they expire")
        return verifier, []
    redis = Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    return RevocationCheck(verifier, redis), [redis.aclose]
