from __future__ import annotations

from typing import Any

import pytest
from shop.user.v1 import user_pb2

from mesh import rbac
from mesh.auth import (
    AccessPolicy,
    AccessRule,
    AuthInterceptor,
    Identity,
    authorize,
    current_identity,
    identity_scope,
    optional_identity,
    require_permission,
    require_self_or_permission,
)
from mesh.errors import PermissionDeniedError, UnauthenticatedError


def person(subject: str, *roles: str) -> Identity:
    return Identity.from_claims(subject, frozenset(roles), token=f"token-of-{subject}")


CUSTOMER = person("u1", rbac.CUSTOMER)
OTHER = person("u2", rbac.CUSTOMER)
ADMIN = person("a1", rbac.ADMIN)
SUPPORT = person("cs1", rbac.CUSTOMER_SERVICE)
SERVICE = person("service:order", rbac.SERVICE)


def test_role_permissions_follow_the_seed() -> None:
    assert rbac.permissions_for([rbac.CUSTOMER]) == frozenset()
    assert rbac.permissions_for([rbac.INVENTORY_MANAGER]) == {"products:read", "products:write"}
    assert rbac.permissions_for([rbac.CUSTOMER_SERVICE]) == {
        "users:read",
        "orders:read",
        "orders:cancel",
        "products:read",
    }
    assert len(rbac.permissions_for([rbac.ADMIN])) == 7
    assert rbac.permissions_for(["unknown-role"]) == frozenset()
    assert rbac.permissions_for([rbac.CUSTOMER, rbac.INVENTORY_MANAGER]) == {
        "products:read",
        "products:write",
    }


def test_public_rule_admits_anonymous_callers() -> None:
    authorize(AccessRule(public=True), None, None)


def test_other_rules_need_a_caller() -> None:
    with pytest.raises(UnauthenticatedError):
        authorize(AccessRule(), None, None)


def test_empty_rule_admits_any_signed_in_user() -> None:
    authorize(AccessRule(), CUSTOMER, None)


def test_permission_rule() -> None:
    rule = AccessRule(permission=rbac.PRODUCTS_WRITE)
    authorize(rule, ADMIN, None)
    with pytest.raises(PermissionDeniedError):
        authorize(rule, CUSTOMER, None)
    with pytest.raises(PermissionDeniedError):
        authorize(rule, SUPPORT, None)


def test_owner_field_rule() -> None:
    rule = AccessRule(permission=rbac.USERS_READ, owner_field="id")
    request = user_pb2.GetUserRequest(id="u1")
    authorize(rule, CUSTOMER, request)
    authorize(rule, SUPPORT, request)
    with pytest.raises(PermissionDeniedError):
        authorize(rule, OTHER, request)


def test_nested_owner_field() -> None:
    rule = AccessRule(permission=rbac.USERS_WRITE, owner_field="user.id")
    request = user_pb2.UpdateUserRequest(user=user_pb2.User(id="u1"))
    authorize(rule, CUSTOMER, request)
    with pytest.raises(PermissionDeniedError):
        authorize(rule, OTHER, request)


def test_resource_owner_rule_defers_to_the_handler() -> None:
    authorize(AccessRule(permission=rbac.ORDERS_READ, resource_owner=True), OTHER, None)


def test_service_tokens_pass_only_where_the_policy_lists_their_workload() -> None:
    assert SERVICE.workload == "order"
    authorize(AccessRule(internal=True, callers=frozenset({"order"})), SERVICE, None)
    authorize(AccessRule(permission=rbac.ORDERS_READ, callers=frozenset({"order"})), SERVICE, None)
    for rule in (
        AccessRule(internal=True, callers=frozenset({"review"})),
        AccessRule(permission=rbac.ORDERS_READ, service=True),
        AccessRule(internal=True),
        AccessRule(),
    ):
        with pytest.raises(PermissionDeniedError) as caught:
            authorize(rule, SERVICE, None)
        assert caught.value.reason == "WORKLOAD_NOT_ALLOWED"


def test_a_service_token_without_a_workload_subject_is_refused() -> None:
    nameless = person("order", rbac.SERVICE)
    assert nameless.workload is None
    with pytest.raises(PermissionDeniedError):
        authorize(AccessRule(internal=True, callers=frozenset({"order"})), nameless, None)
    assert person("service:", rbac.SERVICE).workload is None
    assert person("service:order", rbac.CUSTOMER).workload is None


def test_people_never_reach_internal_methods() -> None:
    callers = frozenset({"order"})
    for rule in (
        AccessRule(internal=True, owner_field="id", callers=callers),
        AccessRule(internal=True, permission=rbac.ORDERS_WRITE, callers=callers),
        AccessRule(internal=True, resource_owner=True, callers=callers),
    ):
        for who in (CUSTOMER, ADMIN, SUPPORT):
            with pytest.raises(PermissionDeniedError) as caught:
                authorize(rule, who, user_pb2.GetUserRequest(id=who.subject))
            assert caught.value.reason == "INTERNAL_METHOD"


def test_handler_helpers() -> None:
    with pytest.raises(UnauthenticatedError):
        current_identity()
    assert optional_identity() is None
    with identity_scope(CUSTOMER):
        assert current_identity() is CUSTOMER
        require_self_or_permission("u1", rbac.ORDERS_READ)
        with pytest.raises(PermissionDeniedError):
            require_self_or_permission("u2", rbac.ORDERS_READ)
        with pytest.raises(PermissionDeniedError) as caught:
            require_permission(rbac.ORDERS_READ)
        assert caught.value.metadata == {"permission": "orders:read"}
    with identity_scope(SUPPORT):
        require_self_or_permission("u2", rbac.ORDERS_READ)
        assert require_permission(rbac.USERS_READ) is SUPPORT
    assert optional_identity() is None


def test_policy_reads_the_access_option_from_descriptors() -> None:
    policy = AccessPolicy.from_descriptors(["shop.user.v1.UserService"])
    assert policy.rule_for("/shop.user.v1.UserService/Register").public
    get_user = policy.rule_for("/shop.user.v1.UserService/GetUser")
    assert (get_user.permission, get_user.owner_field) == ("users:read", "id")
    assert policy.rule_for("/shop.user.v1.UserService/ListUsers").permission == "users:read"
    assert policy.rule_for("/grpc.health.v1.Health/Check").public
    assert policy.rule_for("/grpc.reflection.v1alpha.ServerReflection/X").public
    assert policy.rule_for("/shop.other.v1.Unknown/Do") == AccessRule()


class FakeVerifier:
    def __init__(self, identities: dict[str, Identity]) -> None:
        self._identities = identities

    async def verify(self, token: str) -> Identity:
        identity = self._identities.get(token)
        if identity is None:
            raise UnauthenticatedError("bad token")
        return identity


METHODS = {
    "/t.v1.S/Public": AccessRule(public=True),
    "/t.v1.S/Admin": AccessRule(permission=rbac.USERS_WRITE),
}


async def call(method: str, metadata: list[tuple[str, str]], fake_context: Any) -> Any:
    interceptor = AuthInterceptor(
        FakeVerifier({"good": ADMIN, "customer": CUSTOMER}), AccessPolicy(METHODS)
    )

    async def handler(request: Any, context: Any) -> Identity | None:
        return optional_identity()

    return await interceptor.intercept(handler, None, fake_context(metadata), method)


async def test_interceptor_sets_the_identity_for_the_handler(fake_context: Any) -> None:
    assert await call("/t.v1.S/Admin", [("authorization", "Bearer good")], fake_context) is ADMIN
    assert optional_identity() is None


async def test_interceptor_rejects_missing_bad_and_malformed_tokens(fake_context: Any) -> None:
    for metadata in ([], [("authorization", "Bearer nope")], [("authorization", "Basic x")]):
        with pytest.raises(UnauthenticatedError):
            await call("/t.v1.S/Admin", metadata, fake_context)
    with pytest.raises(PermissionDeniedError):
        await call("/t.v1.S/Admin", [("authorization", "Bearer customer")], fake_context)


async def test_public_methods_tolerate_a_bad_token(fake_context: Any) -> None:
    assert await call("/t.v1.S/Public", [("authorization", "Bearer nope")], fake_context) is None
    assert await call("/t.v1.S/Public", [], fake_context) is None
    assert await call("/t.v1.S/Public", [("authorization", "Bearer good")], fake_context) is ADMIN


# -- the checks use cases call with the caller they were given (no request scope) --


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
