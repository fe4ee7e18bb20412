"""E-mail verification links: what a link's token says and when it is still good.

The token is signed by the service (the same keys as access tokens, under an audience of its
own so that it never passes as an access token). It names the user and the address it was
sent to: after the address changes, an old link verifies nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

PURPOSE = "verify_email"
AUDIENCE_SUFFIX = ":email-verification"
VERIFY_PATH = "/v1/users:verifyEmail"


class InvalidVerificationToken(Exception):
    """The token is forged, expired, or not a verification token."""


@dataclass(frozen=True, slots=True)
class VerificationLinks:
    base_url: str
    ttl: timedelta
    issuer: str
    audience: str

    @property
    def token_audience(self) -> str:
        return self.audience + AUDIENCE_SUFFIX

    def claims(self, user_id: str, email: str, now: datetime) -> dict[str, Any]:
        issued_at = int(now.timestamp())
        return {
            "sub": user_id,
            "email": email.lower(),
            "purpose": PURPOSE,
            "iss": self.issuer,
            "aud": self.token_audience,
            "iat": issued_at,
            "exp": issued_at + int(self.ttl.total_seconds()),
        }

    def url(self, token: str) -> str:
        return f"{self.base_url.rstrip('/')}{VERIFY_PATH}?{urlencode({'token': token})}"


@dataclass(frozen=True, slots=True)
class VerificationClaim:
    user_id: str
    email: str


def claim_of(claims: Mapping[str, Any]) -> VerificationClaim:
    """The user and address of verified token claims (signature, audience, expiry checked)."""
    subject, email = claims.get("sub"), claims.get("email")
    if claims.get("purpose") != PURPOSE or not isinstance(subject, str) or not subject:
        raise InvalidVerificationToken("not an e-mail verification token")
    if not isinstance(email, str) or "@" not in email:
        raise InvalidVerificationToken("the token names no address")
    return VerificationClaim(subject, email)
