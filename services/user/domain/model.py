"""Users, their roles and the changes a caller may make to them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

CUSTOMER = "customer"
ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    display_name: str
    roles: tuple[str, ...]
    password_hash: str
    created_at: datetime
    updated_at: datetime
    # Bumped on every change; consumers of UserUpdated drop events older than what they have.
    version: int = 1
    # Set when the owner followed the verification link; cleared when the address changes.
    email_verified_at: datetime | None = None

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


@dataclass(frozen=True, slots=True)
class UserChanges:
    """The fields an UpdateUser call asked to change (None: leave as is)."""

    email: str | None = None
    display_name: str | None = None
    roles: tuple[str, ...] | None = None

    def is_empty(self) -> bool:
        return self.email is None and self.display_name is None and self.roles is None


def apply_changes(user: User, changes: UserChanges, now: datetime) -> User:
    email = normalize_email(changes.email) if changes.email is not None else user.email
    return replace(
        user,
        email=email,
        display_name=(
            changes.display_name.strip() if changes.display_name is not None else user.display_name
        ),
        roles=changes.roles if changes.roles is not None else user.roles,
        updated_at=now,
        version=user.version + 1,
        # A new address is proved anew; the same address in another case stays verified.
        email_verified_at=(user.email_verified_at if email.lower() == user.email.lower() else None),
    )


def mark_email_verified(user: User, now: datetime) -> User:
    if user.email_verified:
        return user
    return replace(user, email_verified_at=now, updated_at=now, version=user.version + 1)


def normalize_email(email: str) -> str:
    # Only surrounding blanks are dropped: uniqueness is case-insensitive in the store
    # (unique index on lower(email)), but the address is kept as the user typed it.
    return email.strip()


@dataclass(frozen=True, slots=True)
class UserRegistered:
    user: User
    # The signed link proving the address; empty for the configured admin.
    verification_url: str = ""


@dataclass(frozen=True, slots=True)
class UserUpdated:
    user: User


@dataclass(frozen=True, slots=True)
class SignUpWithExistingEmail:
    """A sign-up named this user's address; it was answered as if it had succeeded."""

    user: User
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class SignInFailuresDetected:
    user: User
    failure_count: int
    window_seconds: int
    occurred_at: datetime


UserEvent = UserRegistered | UserUpdated | SignUpWithExistingEmail | SignInFailuresDetected
