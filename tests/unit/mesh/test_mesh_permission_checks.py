"""The permission checks use cases call with the caller they were given (no request scope)."""

from __future__ import annotations

import pytest

from mesh import rbac
from mesh.auth import (
    Identity,
    identity_scope,
    optional_identity,
    require_permission,
    require_self_or_permission,
)
from mesh.errors import PermissionDeniedError, UnauthenticatedError


def person(subject: str, *roles: str) -> Identity:
    return Identity.from_claims(subject, frozenset(roles), token=f"token-of-{subject}")


CUSTOMER = person("u1", rbac.CUSTOMER)
SUPPORT = person("cs1", rbac.CUSTOMER_SERVICE)
SERVICE = person("service:order", rbac.SERVICE)


def test_the_user_themselves_passes_without_the_permission() -> None:
    assert optional_identity() is None
    assert require_self_or_permission("u1", rbac.ORDERS_READ, CUSTOMER) is CUSTOMER


@pytest.mark.parametrize("holder", [SUPPORT, SERVICE])
def test_a_holder_of_the_permission_passes_for_anyone(holder: Identity) -> None:
    assert require_self_or_permission("u1", rbac.ORDERS_READ, holder) is holder


def test_someone_else_without_the_permission_is_denied_naming_it() -> None:
    with pytest.raises(PermissionDeniedError) as denied:
        require_self_or_permission("u2", rbac.ORDERS_READ, CUSTOMER)
    assert denied.value.reason == "NOT_OWNER"
    assert denied.value.metadata == {"permission": "orders:read"}
    with pytest.raises(PermissionDeniedError) as denied:
        require_self_or_permission("u1", rbac.ORDERS_WRITE, SUPPORT)
    assert denied.value.metadata == {"permission": "orders:write"}


def test_require_permission_with_a_given_caller() -> None:
    assert require_permission(rbac.USERS_READ, SUPPORT) is SUPPORT
    with pytest.raises(PermissionDeniedError) as denied:
        require_permission(rbac.USERS_READ, CUSTOMER)
    assert denied.value.reason == "MISSING_PERMISSION"


def test_a_given_caller_wins_over_the_request_scope() -> None:
    with identity_scope(SUPPORT):
        with pytest.raises(PermissionDeniedError):
            require_self_or_permission("u2", rbac.ORDERS_READ, CUSTOMER)
        assert require_self_or_permission("u2", rbac.ORDERS_READ) is SUPPORT


def test_without_a_caller_or_a_scope_the_call_is_unauthenticated() -> None:
    with pytest.raises(UnauthenticatedError):
        require_self_or_permission("u1", rbac.ORDERS_READ)
