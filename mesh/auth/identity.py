"""The verified caller of the current request, and permission checks for handlers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Final

from mesh import rbac
from mesh.errors import PermissionDeniedError, UnauthenticatedError

__all__ = [
    "SERVICE_SUBJECT_PREFIX",
    "Identity",
    "current_identity",
    "identity_scope",
    "optional_identity",
    "require_permission",
    "require_self_or_permission",
]


# Subject of a service token: "service:<workload>" (UserService.IssueServiceToken).
SERVICE_SUBJECT_PREFIX: Final = "service:"


@dataclass(frozen=True, slots=True)
class Identity:
    subject: str
    roles: frozenset[str]
    permissions: frozenset[str]
    # The raw bearer token, forwarded on calls made on the caller's behalf.
    token: str = field(repr=False)

    @classmethod
    def from_claims(cls, subject: str, roles: frozenset[str], token: str) -> Identity:
        return cls(subject, roles, rbac.permissions_for(roles), token)

    @property
    def is_service(self) -> bool:
        return rbac.SERVICE in self.roles

    @property
    def workload(self) -> str | None:
        """The workload a service token names, None for people and malformed subjects."""
        if not self.is_service or not self.subject.startswith(SERVICE_SUBJECT_PREFIX):
            return None
        return self.subject[len(SERVICE_SUBJECT_PREFIX) :] or None

    def has_permission(self, permission: str) -> bool:
        return permission in self.permissions


_current: ContextVar[Identity | None] = ContextVar("mesh_identity", default=None)


def optional_identity() -> Identity | None:
    """The caller, or None for an anonymous call to a public method."""
    return _current.get()


def current_identity() -> Identity:
    identity = _current.get()
    if identity is None:
        raise UnauthenticatedError("a valid bearer token is required")
    return identity


@contextmanager
def identity_scope(identity: Identity | None) -> Iterator[Identity | None]:
    token = _current.set(identity)
    try:
        yield identity
    finally:
        _current.reset(token)


def require_permission(permission: str, caller: Identity | None = None) -> Identity:
    """Allows a holder of `permission`; `caller` defaults to the current request's."""
    identity = current_identity() if caller is None else caller
    if not identity.has_permission(permission):
        raise PermissionDeniedError(
            f"permission {permission} is required",
            reason="MISSING_PERMISSION",
            metadata={"permission": permission},
        )
    return identity


def require_self_or_permission(
    user_id: str, permission: str, caller: Identity | None = None
) -> Identity:
    """Allows the user themselves, or anyone holding `permission` (staff, services);
    `caller` defaults to the current request's (use cases pass the one they were given)."""
    identity = current_identity() if caller is None else caller
    if identity.subject == user_id or identity.has_permission(permission):
        return identity
    raise PermissionDeniedError(
        f"only the user themselves or a holder of {permission} may do this",
        reason="NOT_OWNER",
        metadata={"permission": permission},
    )
