"""CORS per the seed's Kong policy; preflights are answered here, never by a service."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

__all__ = ["CorsPolicy"]

ALLOWED_METHODS: Final = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
ALLOWED_HEADERS: Final = ("Authorization", "Content-Type", "Accept", "Idempotency-Key")
EXPOSED_HEADERS: Final = (
    "X-Request-Id",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
)
MAX_AGE_SECONDS: Final = 3600

Headers = list[tuple[str, str]]


class CorsPolicy:
    def __init__(self, origins: Iterable[str]) -> None:
        self._origins = frozenset(origin.rstrip("/") for origin in origins)
        self._any = "*" in self._origins

    def allows(self, origin: str | None) -> bool:
        return origin is not None and (self._any or origin in self._origins)

    def preflight_headers(self, origin: str | None, method: str, headers: str) -> Headers:
        """Headers for a preflight; none at all when the origin, method or a header is not
        allowed, which makes the browser refuse the real request."""
        if not self.allows(origin):
            return [("vary", "Origin")]
        allowed_headers = {h.lower() for h in ALLOWED_HEADERS}
        requested = [h.strip().lower() for h in headers.split(",") if h.strip()]
        if method.upper() not in ALLOWED_METHODS or any(
            h not in allowed_headers for h in requested
        ):
            return [("vary", "Origin")]
        assert origin is not None
        return [
            ("access-control-allow-origin", origin),
            ("access-control-allow-methods", ", ".join(ALLOWED_METHODS)),
            ("access-control-allow-headers", ", ".join(ALLOWED_HEADERS)),
            ("access-control-allow-credentials", "true"),
            ("access-control-max-age", str(MAX_AGE_SECONDS)),
            ("vary", "Origin"),
        ]

    def response_headers(self, origin: str | None) -> Headers:
        if not self.allows(origin):
            return [("vary", "Origin")]
        assert origin is not None
        return [
            ("access-control-allow-origin", origin),
            ("access-control-allow-credentials", "true"),
            ("access-control-expose-headers", ", ".join(EXPOSED_HEADERS)),
            ("vary", "Origin"),
        ]
