"""Service identity is least-privilege, from deploy/mesh/policy.yaml's caller lists.

The runtime carries a generated copy of the lists (mesh/auth/callers.py, service images have
no deploy/); these tests fail when the copy drifts, and walk every (workload, method) pair of
the policy through the real interceptor with real RS256 tokens.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from mesh import rbac
from mesh.auth import AccessPolicy, AuthInterceptor, Identity, optional_identity
from mesh.auth.callers import METHOD_CALLERS
from mesh.errors import PermissionDeniedError
from mesh.roster import ROSTER, RosterEntry
from tools.gen_callers import TARGET, load_policy, method_callers, render

from .test_mesh_jwt import FakeKeySource, jwk, sign, verifier_for

POLICY = load_policy()
# Every workload of the deployment: the services and the REST gateway.
WORKLOADS = [*POLICY["services"], "gateway"]
POLICY_CALLERS = method_callers(POLICY)


def service_descriptor(entry: RosterEntry) -> Any:
    """The service's descriptor, its generated module imported (the pool is filled that way)."""
    package, name = entry.grpc_service.rsplit(".", 1)
    return importlib.import_module(f"{package}.{entry.name}_pb2").DESCRIPTOR.services_by_name[name]


for _entry in ROSTER:
    service_descriptor(_entry)
ACCESS = AccessPolicy.from_descriptors([entry.grpc_service for entry in ROSTER])


def policy_pairs() -> list[tuple[str, str, frozenset[str]]]:
    """(method path, workload, the method's callers) for every workload and method."""
    return [
        (path, workload, callers)
        for path, callers in POLICY_CALLERS.items()
        for workload in WORKLOADS
    ]


def test_the_generated_table_is_the_policy() -> None:
    assert TARGET.read_text(encoding="utf-8") == render(POLICY), (
        "mesh/auth/callers.py is stale: run python -m tools.gen_callers"
    )


def test_the_policy_lists_exactly_the_methods_the_services_serve() -> None:
    for entry in ROSTER:
        served = {method.name for method in service_descriptor(entry).methods}
        listed = {method for method in POLICY["services"][entry.name]["methods"]}
        assert listed == served, entry.name
        for method in served:
            path = f"/{entry.grpc_service}/{method}"
            assert ACCESS.rule_for(path).callers == METHOD_CALLERS[path]


@pytest.fixture(scope="module")
def interceptor(rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]) -> AuthInterceptor:
    return AuthInterceptor(verifier_for(FakeKeySource(jwk(rsa_keys[0], "k1"))), ACCESS)


def service_token(key: rsa.RSAPrivateKey, workload: str) -> str:
    return sign(key, sub=f"service:{workload}", roles=[rbac.SERVICE])


async def call(interceptor: AuthInterceptor, path: str, token: str, context: Any) -> Any:
    async def handler(request: Any, context: Any) -> Identity | None:
        return optional_identity()

    metadata = [("authorization", f"Bearer {token}")]
    return await interceptor.intercept(handler, None, context(metadata), path)


async def test_every_workload_reaches_exactly_the_methods_the_policy_lists_for_it(
    interceptor: AuthInterceptor,
    rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey],
    fake_context: Any,
) -> None:
    tokens = {workload: service_token(rsa_keys[0], workload) for workload in WORKLOADS}
    allowed = denied = 0
    for path, workload, callers in policy_pairs():
        if ACCESS.rule_for(path).public:
            continue
        if workload in callers:
            identity = await call(interceptor, path, tokens[workload], fake_context)
            assert identity is not None and identity.workload == workload, (path, workload)
            allowed += 1
        else:
            with pytest.raises(PermissionDeniedError) as caught:
                await call(interceptor, path, tokens[workload], fake_context)
            assert caught.value.reason == "WORKLOAD_NOT_ALLOWED", (path, workload)
            denied += 1
    assert allowed > 20 and denied > 200


async def test_people_never_reach_internal_methods(
    interceptor: AuthInterceptor,
    rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey],
    fake_context: Any,
) -> None:
    internal = [
        path
        for path in METHOD_CALLERS
        if ACCESS.rule_for(path).internal and not ACCESS.rule_for(path).public
    ]
    assert {path.rsplit("/", 1)[1] for path in internal} >= {
        "Charge",
        "Refund",
        "ReserveStock",
        "ReleaseStock",
        "SendNotification",
        "HasPurchased",
    }
    for roles in ([rbac.CUSTOMER], [rbac.ADMIN], [rbac.CUSTOMER_SERVICE], [rbac.INVENTORY_MANAGER]):
        token = sign(rsa_keys[0], sub="u1", roles=roles)
        for path in internal:
            with pytest.raises(PermissionDeniedError) as caught:
                await call(interceptor, path, token, fake_context)
            assert caught.value.reason == "INTERNAL_METHOD", (path, roles)


async def test_a_person_named_like_a_workload_is_still_a_person(
    interceptor: AuthInterceptor,
    rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey],
    fake_context: Any,
) -> None:
    token = sign(rsa_keys[0], sub="service:order", roles=[rbac.CUSTOMER])
    with pytest.raises(PermissionDeniedError):
        await call(interceptor, "/shop.payment.v1.PaymentService/Charge", token, fake_context)
