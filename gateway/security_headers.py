"""The security headers every gateway response carries, decided from the finished response."""

from __future__ import annotations

from typing import Final

from gateway.http import Headers, HttpResponse

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "DOCS_CONTENT_SECURITY_POLICY",
    "TOKEN_RPCS",
    "SecurityHeaders",
]

# Pages may load scripts, styles, images and data from this origin only: no inline script or
# style, no CDN, no plugin, no framing. `data:` images are the charts' and Swagger UI's icons.
CONTENT_SECURITY_POLICY: Final = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# Swagger UI (/docs) sets a few inline styles; its scripts still come from this origin only.
DOCS_CONTENT_SECURITY_POLICY: Final = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)
DOCS_ROUTE: Final = "/docs"
# Answers that carry access or refresh tokens: no cache anywhere may keep them.
TOKEN_RPCS: Final = frozenset(
    {"/shop.user.v1.UserService/Login", "/shop.user.v1.UserService/RefreshToken"}
)


class SecurityHeaders:
    """`nosniff` and a strict referrer policy everywhere, CSP and no framing on HTML, HSTS when
    the gateway is reached over HTTPS (`hsts_max_age` > 0), `no-store` on token answers."""

    def __init__(self, *, hsts_max_age: int = 0) -> None:
        self._always: Headers = [
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "no-referrer"),
        ]
        if hsts_max_age > 0:
            # Set only behind TLS: over plain local HTTP a browser ignores it, and a preview
            # host served on HTTPS later would be pinned for max-age.
            self._always.append(
                ("strict-transport-security", f"max-age={hsts_max_age}; includeSubDomains")
            )

    def headers_for(self, response: HttpResponse, *, route: str, rpc: str) -> Headers:
        """`route` and `rpc` as the access log names them (`/docs`, `/shop.x.v1.S/Method`)."""
        headers = list(self._always)
        if response.body is not None and response.content_type.startswith("text/html"):
            policy = (
                DOCS_CONTENT_SECURITY_POLICY if route == DOCS_ROUTE else CONTENT_SECURITY_POLICY
            )
            headers.append(("content-security-policy", policy))
            headers.append(("x-frame-options", "DENY"))
        if rpc in TOKEN_RPCS:
            headers.append(("cache-control", "no-store"))
            headers.append(("pragma", "no-cache"))
        return headers
