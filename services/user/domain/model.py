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


@dataclass(frozen=True, slots=True)
class UserChanges:
    """The fields an UpdateUser call asked to change (None: leave as is)."""

    email: str | None = None
    display_name: str | None = None
    roles: tuple[str, ...] | None = None

    def is_empty(self) -> bool:
        return self.email is None and self.display_name is None and self.roles is None


def apply_changes(user: User, changes: UserChanges, now: datetime) -> User:
    return replace(
        user,
        email=normalize_email(changes.email) if changes.email is not None else user.email,
        display_name=(
            changes.display_name.strip() if changes.display_name is not None else user.display_name
        ),
        roles=changes.roles if changes.roles is not None else user.roles,
        updated_at=now,
        version=user.version + 1,
    )


def normalize_email(email: str) -> str:
    # Only surrounding blanks are dropped: uniqueness is case-insensitive in the store
    # (unique index on lower(email)), but the address is kept as the user typed it.
    return email.strip()


@dataclass(frozen=True, slots=True)
class UserRegistered:
    user: User


@dataclass(frozen=True, slots=True)
class UserUpdated:
    user: User


UserEvent = UserRegistered | UserUpdated
