"""RS256 JWT verification against a JWKS that is cached and refreshed on an unknown `kid`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Protocol

import jwt
from jwt.algorithms import RSAAlgorithm

from mesh.auth.identity import Identity
from mesh.errors import UnauthenticatedError, UnavailableError

__all__ = ["ALGORITHM", "JwksCache", "JwtVerifier", "KeySource"]

logger = logging.getLogger(__name__)

# Pinned: the header's `alg` is never trusted, so `none` and HS* (key confusion) are rejected.
ALGORITHM: Final = "RS256"


class KeySource(Protocol):
    """Where public keys come from: the user service's GetJwks, or its own key store."""

    async def fetch_jwks(self) -> Sequence[Mapping[str, Any]]:
        """JWK dicts (kty, kid, n, e, ...)."""
        ...


class JwksCache:
    """Keys by kid. An unknown kid triggers a refresh, at most once per `min_refresh_seconds`
    so a flood of forged kids cannot hammer the user service."""

    def __init__(
        self,
        source: KeySource,
        *,
        min_refresh_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._min_refresh = min_refresh_seconds
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._last_refresh: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> Any:
        key = self._keys.get(kid)
        if key is not None:
            return key
        async with self._lock:
            key = self._keys.get(kid)
            if key is None and self._may_refresh():
                await self._refresh()
                key = self._keys.get(kid)
        if key is None:
            raise UnauthenticatedError("the token's signing key is unknown", reason="UNKNOWN_KEY")
        return key

    def _may_refresh(self) -> bool:
        return self._last_refresh is None or (
            self._clock() - self._last_refresh >= self._min_refresh
        )

    async def _refresh(self) -> None:
        try:
            jwks = await self._source.fetch_jwks()
        except Exception as error:
            # Keep the old keys; tokens signed by them still verify.
            logger.warning("could not fetch the JWKS: %s", error)
            if not self._keys:
                raise UnavailableError("the signing keys cannot be fetched now") from error
            return
        self._last_refresh = self._clock()
        keys: dict[str, Any] = {}
        for jwk in jwks:
            kid = jwk.get("kid")
            if jwk.get("kty") != "RSA" or not kid:
                continue
            keys[str(kid)] = RSAAlgorithm.from_jwk(dict(jwk))
        self._keys = keys


class JwtVerifier:
    def __init__(
        self,
        keys: JwksCache,
        *,
        issuer: str,
        audience: str,
        leeway_seconds: float = 30.0,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds

    async def verify(self, token: str) -> Identity:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _invalid("the token is malformed") from None
        if header.get("alg") != ALGORITHM:
            raise _invalid(f"only {ALGORITHM} tokens are accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _invalid("the token has no key id")
        key = await self._keys.key(kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise _invalid("the token has expired", reason="TOKEN_EXPIRED") from None
        except jwt.PyJWTError as error:
            raise _invalid(f"the token is invalid: {error}") from None
        roles = claims.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise _invalid("the token's roles claim is malformed")
        return Identity.from_claims(str(claims["sub"]), frozenset(roles), token)


def _invalid(message: str, *, reason: str = "INVALID_TOKEN") -> UnauthenticatedError:
    return UnauthenticatedError(message, reason=reason)
