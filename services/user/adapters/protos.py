"""Proto messages <-> the user service's domain objects."""

from __future__ import annotations

from shop.user.v1 import user_pb2

from mesh.clock import to_timestamp
from mesh.errors import FieldViolation, InvalidArgumentError

from ..domain.model import User, UserChanges
from .signing_keys import PublicJwk

UPDATABLE_FIELDS = ("email", "display_name", "roles")


def user_to_proto(user: User) -> user_pb2.User:
    return user_pb2.User(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        roles=list(user.roles),
        create_time=to_timestamp(user.created_at),
        update_time=to_timestamp(user.updated_at),
        email_verified=user.email_verified,
    )


def changes_from_proto(request: user_pb2.UpdateUserRequest) -> UserChanges:
    """The fields an UpdateUser request changes, per its mask (AIP-134)."""
    paths = list(request.update_mask.paths)
    unknown = [path for path in paths if path not in UPDATABLE_FIELDS]
    if unknown:
        raise InvalidArgumentError(
            violations=[
                FieldViolation("update_mask", f"unknown or read-only fields: {', '.join(unknown)}")
            ]
        )
    user = request.user
    if not paths:
        # Without a mask, every field that is set is an update.
        paths = [
            path
            for path, is_set in (
                ("email", bool(user.email)),
                ("display_name", bool(user.display_name)),
                ("roles", bool(user.roles)),
            )
            if is_set
        ]
    if "email" in paths and not user.email:
        raise InvalidArgumentError(violations=[FieldViolation("user.email", "must not be empty")])
    return UserChanges(
        email=user.email if "email" in paths else None,
        display_name=user.display_name if "display_name" in paths else None,
        roles=tuple(user.roles) if "roles" in paths else None,
    )


def jwk_to_proto(key: PublicJwk) -> user_pb2.JsonWebKey:
    return user_pb2.JsonWebKey(kty=key.kty, kid=key.kid, use=key.use, alg=key.alg, n=key.n, e=key.e)
