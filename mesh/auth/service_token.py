"""The service's own token, for calls made with no caller (recovery loops, consumers)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["IssuedToken", "ServiceTokenProvider", "TokenIssuer"]


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in_seconds: float


class TokenIssuer(Protocol):
    """UserService.IssueServiceToken with this service's client credentials."""

    async def issue(self) -> IssuedToken: ...


class ServiceTokenProvider:
    """Caches the token and fetches a new one `refresh_margin_seconds` before it expires."""

    def __init__(
        self,
        issuer: TokenIssuer,
        *,
        refresh_margin_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._issuer = issuer
        self._margin = refresh_margin_seconds
        self._clock = clock
        self._token: str | None = None
        self._refresh_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        if self._token is not None and self._clock() < self._refresh_at:
            return self._token
        async with self._lock:
            if self._token is None or self._clock() >= self._refresh_at:
                issued = await self._issuer.issue()
                self._token = issued.access_token
                # Short-lived tokens: refresh at half-life at the latest.
                margin = min(self._margin, issued.expires_in_seconds / 2)
                self._refresh_at = self._clock() + issued.expires_in_seconds - margin
            return self._token
