"""Refresh tokens: opaque, stored only as a hash, rotated on every use.

Each login starts a token family. Refreshing marks the presented token used and issues its
successor in the same family. A used or revoked token presented again means it leaked (or a
client replayed it): the whole family is revoked, so the thief's newer token dies too.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

_TOKEN_BYTES = 32


@dataclass(frozen=True, slots=True)
class RefreshToken:
    token_hash: str
    family_id: str
    user_id: str
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None


class TokenState(enum.Enum):
    VALID = "valid"
    EXPIRED = "expired"
    # Used before or revoked: presenting it again revokes the family.
    REPLAYED = "replayed"


def new_refresh_token() -> tuple[str, str]:
    """A fresh opaque token and the hash under which it is stored."""
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    # The token carries 256 random bits, so a fast hash is enough: there is nothing to guess.
    return hashlib.sha256(token.encode()).hexdigest()


def state_of(token: RefreshToken, now: datetime) -> TokenState:
    if token.used_at is not None or token.revoked_at is not None:
        return TokenState.REPLAYED
    if token.expires_at <= now:
        return TokenState.EXPIRED
    return TokenState.VALID


@dataclass(frozen=True, slots=True)
class AccessClaims:
    subject: str
    roles: tuple[str, ...]
    issued_at: int
    expires_at: int


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
