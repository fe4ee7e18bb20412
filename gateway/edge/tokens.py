"""Verified tokens remembered until shortly before they expire.

RS256 verification costs more than the rest of a request's work at the edge; a client sends the
same token with every request, so each token is verified once and its identity reused while the
token is valid (never past its `exp`, and at most `ttl_seconds`, so a new JWKS takes effect).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from mesh.auth.identity import Identity
from mesh.auth.interceptor import TokenVerifier
from mesh.auth.jwt import claims_of_verified

__all__ = ["CachingVerifier"]


class CachingVerifier:
    def __init__(
        self,
        verifier: TokenVerifier,
        *,
        ttl_seconds: float = 60.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._verifier = verifier
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Identity]] = OrderedDict()

    async def verify(self, token: str) -> Identity:
        now = self._clock()
        cached = self._entries.get(token)
        if cached is not None:
            until, identity = cached
            if now < until:
                self._entries.move_to_end(token)
                return identity
            del self._entries[token]
        # Failures are not cached: the inner verifier raises and nothing is stored.
        identity = await self._verifier.verify(token)
        expires = _expiry(token)
        if expires is not None and expires > now:
            self._entries[token] = (min(expires, now + self._ttl), identity)
            if len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return identity


def _expiry(token: str) -> float | None:
    """`exp` of a token that has just been verified (so its payload is trusted)."""
    exp = claims_of_verified(token).get("exp")
    return float(exp) if isinstance(exp, int | float) else None
