"""RS256 JWT verification against a JWKS that is cached and refreshed on an unknown `kid`."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Protocol

import jwt
from jwt.algorithms import RSAAlgorithm

from mesh.auth.identity import Identity
from mesh.errors import UnauthenticatedError, UnavailableError

__all__ = ["ALGORITHM", "JwksCache", "JwtVerifier", "KeySource", "claims_of_verified"]

logger = logging.getLogger(__name__)

# Pinned: the header's `alg` is never trusted, so `none` and HS* (key confusion) are rejected.
ALGORITHM: Final = "RS256"


class KeySource(Protocol):
    """Where public keys come from: the user service's GetJwks, or its own key store."""

    async def fetch_jwks(self) -> Sequence[Mapping[str, Any]]:
        """JWK dicts (kty, kid, n, e, ...)."""
        ...


class JwksCache:
    """Keys by kid, refetched when an unknown kid shows up or the keys are older than
    `max_age_seconds` (so a key removed by rotation stops verifying). Fetches happen at most
    once per `min_refresh_seconds`, so a flood of forged kids cannot hammer the user service;
    when a fetch fails the keys already known stay in use."""

    def __init__(
        self,
        source: KeySource,
        *,
        min_refresh_seconds: float = 30.0,
        max_age_seconds: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._min_refresh = min_refresh_seconds
        self._max_age = max_age_seconds
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> Any:
        key = self._keys.get(kid)
        if key is not None and not self._stale():
            return key
        async with self._lock:
            key = self._keys.get(kid)
            if (key is None or self._stale()) and self._may_fetch():
                await self._fetch()
                key = self._keys.get(kid)
        if key is not None:
            return key
        if not self._keys:
            raise UnavailableError("the signing keys cannot be fetched now")
        raise UnauthenticatedError("the token's signing key is unknown", reason="UNKNOWN_KEY")

    def _stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self._max_age

    def _may_fetch(self) -> bool:
        return self._attempted_at is None or (
            self._clock() - self._attempted_at >= self._min_refresh
        )

    async def _fetch(self) -> None:
        self._attempted_at = self._clock()
        try:
            jwks = await self._source.fetch_jwks()
        except Exception as error:
            logger.warning("could not fetch the JWKS: %s", error)
            return
        keys: dict[str, Any] = {}
        for jwk in jwks:
            kid = jwk.get("kid")
            # Keys for other algorithms are ignored: only RS256 verifies here.
            if jwk.get("kty") != "RSA" or jwk.get("alg", ALGORITHM) != ALGORITHM or not kid:
                continue
            keys[str(kid)] = RSAAlgorithm.from_jwk(dict(jwk))
        self._keys = keys
        self._fetched_at = self._clock()


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


def claims_of_verified(token: str) -> Mapping[str, Any]:
    """The claims of a token a verifier has just accepted; {} when it is no JWT.

    Reads the payload without checking the signature again, so it is for tokens whose
    verification already passed (a session id to look up, an expiry to cache by).
    """
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):  # binascii.Error and bad UTF-8 are ValueErrors
        return {}
    return claims if isinstance(claims, dict) else {}
