"""Verified tokens remembered until shortly before they expire.

RS256 verification (about 0.8 ms of CPU) costs more than the rest of a call's runtime work, and
a caller sends the same token with every call: a checkout carries one shopper's token through
seven hops. So each token is verified once per process and its identity reused while the token
is valid: never past its `exp`, and at most `ttl_seconds`, so a rotated-out signing key stops
being honoured soon after the JWKS drops it.

Only successes are remembered; a token that fails is verified again on its next use. Entries
are keyed by the token's SHA-256 (no raw token kept as a key) and bounded in number (least
recently used out first). Revocation is a separate, later check (`gateway.revocation`), so a
cached signature never lets a signed-out session through.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable

from mesh.auth.identity import Identity
from mesh.auth.interceptor import TokenVerifier
from mesh.auth.jwt import JwksCache, JwtVerifier, KeySource, claims_of_verified

__all__ = ["CachingVerifier", "caching_verifier"]


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
        self._clock = clock  # wall-clock seconds, as `exp` is
        self._entries: OrderedDict[bytes, tuple[float, Identity]] = OrderedDict()

    async def verify(self, token: str) -> Identity:
        key = hashlib.sha256(token.encode()).digest()
        now = self._clock()
        cached = self._entries.get(key)
        if cached is not None:
            until, identity = cached
            if now < until:
                self._entries.move_to_end(key)
                return identity
            del self._entries[key]
        # Failures are not cached: the inner verifier raises and nothing is stored.
        identity = await self._verifier.verify(token)
        expires = _expiry(token)
        if expires is not None and expires > now:
            self._entries[key] = (min(expires, now + self._ttl), identity)
            if len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return identity


def caching_verifier(keys: KeySource, *, issuer: str, audience: str) -> CachingVerifier:
    """The runtime's verification of a service's incoming tokens: RS256 against `keys`."""
    return CachingVerifier(JwtVerifier(JwksCache(keys), issuer=issuer, audience=audience))


def _expiry(token: str) -> float | None:
    """`exp` of a token that has just been verified (so its payload is trusted)."""
    exp = claims_of_verified(token).get("exp")
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None
