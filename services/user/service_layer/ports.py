"""What the user use cases need from the outside: the store, password hashing, a signer.

`adapters.postgres`, `adapters.hashing` and `adapters.signing_keys` implement them; unit
tests use fakes.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from ..domain.model import User, UserEvent, UserRegistered
from ..domain.sessions import RefreshToken, TokenState
from ..domain.throttle import Attempts


class EmailTakenError(Exception):
    """Another user already has this e-mail address (compared case-insensitively)."""


@dataclass(frozen=True, slots=True)
class Rotation:
    """What happened to a presented refresh token; `state` is None for an unknown token."""

    state: TokenState | None
    user: User | None = None
    successor: RefreshToken | None = None
    # The presented token's family (its session), when the token is known.
    family_id: str | None = None


@dataclass(frozen=True, slots=True)
class PageCursor:
    created_at: datetime
    user_id: str


class UserStore(abc.ABC):
    @abc.abstractmethod
    async def add_user(self, user: User, registered: UserRegistered) -> None:
        """Insert the user and its UserRegistered event; EmailTakenError on a duplicate."""

    @abc.abstractmethod
    async def add_event(self, event: UserEvent) -> None:
        """Record an event that changes no row (a notice to the user) in the outbox."""

    @abc.abstractmethod
    async def get_user(self, user_id: str) -> User | None: ...

    @abc.abstractmethod
    async def find_by_email(self, email: str) -> User | None: ...

    @abc.abstractmethod
    async def update_user(self, user_id: str, change: Callable[[User], User]) -> User | None:
        """Apply `change` to the locked row and record UserUpdated; None for an unknown id."""

    @abc.abstractmethod
    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        """Upgrade a stored hash (new argon2 parameters); not a user-visible change."""

    @abc.abstractmethod
    async def list_users(
        self, limit: int, after: PageCursor | None, email_prefix: str
    ) -> list[User]:
        """Newest first; `after` is the last user of the previous page."""

    @abc.abstractmethod
    async def count_users(self, email_prefix: str) -> int: ...

    @abc.abstractmethod
    async def add_refresh_token(self, token: RefreshToken) -> None: ...

    @abc.abstractmethod
    async def rotate_refresh_token(
        self,
        token_hash: str,
        now: datetime,
        successor: Callable[[RefreshToken], RefreshToken],
    ) -> Rotation:
        """Atomically: a valid token is marked used and its successor stored; a replayed one
        revokes its whole family."""

    @abc.abstractmethod
    async def find_refresh_token(self, token_hash: str) -> RefreshToken | None: ...

    @abc.abstractmethod
    async def revoke_family(self, token_hash: str, now: datetime) -> bool:
        """Revoke every token of the family this token belongs to; False if it is unknown."""

    @abc.abstractmethod
    async def get_attempts(self, keys: list[str]) -> dict[str, Attempts]: ...

    @abc.abstractmethod
    async def update_attempts(
        self, key: str, change: Callable[[Attempts | None], Attempts]
    ) -> Attempts:
        """Apply `change` to the key's counter under a row lock (concurrent failures all count)."""

    @abc.abstractmethod
    async def clear_attempts(self, key: str) -> None: ...

    @abc.abstractmethod
    async def purge(self, now: datetime, attempts_idle_for: timedelta) -> None:
        """Drop expired refresh tokens and failure counters that no longer matter."""


class PasswordHasher(Protocol):
    """Hashing is slow on purpose; implementations run it off the event loop."""

    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str, password: str) -> bool: ...

    def needs_rehash(self, password_hash: str) -> bool: ...


class Signer(Protocol):
    def sign(self, claims: Mapping[str, Any], now: datetime) -> str: ...

    def verify(self, token: str, audience: str, issuer: str, now: datetime) -> Mapping[str, Any]:
        """The claims of a token we signed for `audience`; ValueError if it is not one."""
        ...


class SessionRevocations(Protocol):
    """Where the gateway learns that a session's access tokens are revoked."""

    async def revoke(self, session_id: str, ttl: timedelta) -> None:
        """Refuse the session's access tokens from now on for `ttl` (their longest life)."""
        ...


class PasswordScreen(Protocol):
    """Tells passwords that attackers guess first (common lists, breached patterns)."""

    async def weakness(self, password: str, user_inputs: Sequence[str]) -> str | None:
        """Why the password is easy to guess; None when it is not."""
        ...
