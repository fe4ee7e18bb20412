"""Security at the edge of the running platform: tokens, ownership, roles, limits, CORS."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.bootstrap import discover_services
from gateway.transcoding.routes import Route, routes_from_services
from mesh import rbac

from .rest import Api, new_client_ip, strong_password

pytestmark = pytest.mark.e2e


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _signing_key(key_dir: Path) -> tuple[str, Any]:
    """The user service's newest key (kid = file name), to forge an expired but signed token."""
    newest = sorted(key_dir.glob("*.pem"))[-1]
    key = serialization.load_pem_private_key(newest.read_bytes(), password=None)
    return newest.stem, key


def _claims(subject: str, roles: list[str], exp_offset: int) -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": subject,
        "roles": roles,
        "iss": "shopmesh",
        "aud": "shopmesh",
        "iat": now,
        "exp": now + exp_offset,
    }


@pytest.fixture
def customer(shopper: Callable[[], Api]) -> Api:
    return shopper()


@pytest.mark.parametrize(
    "kind", ["missing", "expired", "tampered", "wrong key", "alg none", "garbage"]
)
def test_bad_tokens_are_401(customer: Api, shop_platform: Any, kind: str) -> None:
    assert customer.token is not None
    kid = jwt.get_unverified_header(customer.token)["kid"]
    if kind == "missing":
        token = ""
    elif kind == "expired":
        real_kid, key = _signing_key(Path(shop_platform.service_environment("user")["JWT_KEY_DIR"]))
        claims = _claims(customer.user_id, ["customer"], -3600)
        token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": real_kid})
    elif kind == "tampered":
        head, _, signature = customer.token.split(".")
        token = f"{head}.{_b64(_claims(customer.user_id, ['admin'], 600))}.{signature}"
    elif kind == "wrong key":
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        claims = _claims(customer.user_id, ["admin"], 600)
        token = jwt.encode(claims, other, algorithm="RS256", headers={"kid": kid})
    elif kind == "alg none":
        header = {"alg": "none", "typ": "JWT", "kid": kid}
        token = f"{_b64(header)}.{_b64(_claims(customer.user_id, ['admin'], 600))}."
    else:
        token = "this.is-not.a-jwt"
    response = customer.get(f"/v1/carts/{customer.user_id}", token=token)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["code"] == 16


def test_customers_cannot_read_each_others_data(shopper: Callable[[], Api]) -> None:
    alice, bob = shopper(), shopper()
    for path in (
        f"/v1/carts/{bob.user_id}",
        f"/v1/users/{bob.user_id}/orders",
        f"/v1/users/{bob.user_id}/notifications",
        f"/v1/users/{bob.user_id}",
    ):
        response = alice.get(path)
        assert response.status_code in (403, 404), f"{path}: {response.status_code}"
    # Their own data is fine.
    assert alice.get(f"/v1/carts/{alice.user_id}").status_code == 200
    assert alice.get(f"/v1/users/{alice.user_id}/notifications").status_code == 200


@pytest.fixture(scope="module")
def staff(gateway_url: str, shop_platform: Any) -> Iterator[dict[str, Api]]:
    """One signed-in client per seed role (the admin assigns roles through PATCH /v1/users)."""
    admin = Api(gateway_url)
    admin.login(shop_platform.admin_email, shop_platform.admin_password)
    clients = {"admin": admin}
    for role in ("customer", "customer-service", "inventory-manager"):
        client = Api(gateway_url)
        email = f"e2e-{role}-{secrets.token_hex(4)}@shopmesh.example.com"
        password = strong_password()
        user = client.register(email, password)
        if role != "customer":
            admin.ok(
                admin.patch(
                    f"/v1/users/{user['id']}",
                    params={"updateMask": "roles"},
                    json={"roles": [role]},
                )
            )
        client.login(email, password)
        clients[role] = client
    yield clients
    for client in clients.values():
        client.close()


def _protected_routes() -> list[Route]:
    return [r for r in routes_from_services(discover_services()) if not r.access.public]


def _concrete_path(route: Route, owner: str) -> str:
    values = {}
    for variable in route.template.variables:
        name = ".".join(variable.field_path)
        owned = route.access.owner_field and name == route.access.owner_field
        values[name] = owner if owned else f"e2e-missing-{secrets.token_hex(3)}"
    path = route.template.openapi_path()
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path


def _call(client: Api, route: Route, owner: str) -> httpx.Response:
    body: dict[str, Any] | None = {} if route.body else None
    # A fresh client address per call: the matrix is many calls, the per-IP limit is 60/min.
    return client.request(
        route.http_method,
        _concrete_path(route, owner),
        json=body,
        headers={"x-forwarded-for": new_client_ip()},
    )


def _route_id(route: Route) -> str:
    return f"{route.http_method} {route.template.source}"


@pytest.mark.parametrize("route", _protected_routes(), ids=_route_id)
def test_role_matrix(route: Route, staff: dict[str, Api]) -> None:
    """Every protected route, every seed role: the edge allows exactly what the rule allows.

    Owner fields name somebody else, so only the rule's permission can let a caller through.
    Resource-owner and signed-in-only rules are the service's to decide (never a 401 here)."""
    rule = route.access
    decided_here = not rule.resource_owner and bool(rule.permission or rule.owner_field)
    for role, client in staff.items():
        owner = staff["admin" if role == "customer" else "customer"].user_id
        response = _call(client, route, owner)
        assert response.status_code != 401, f"{role}: {response.text}"
        if not decided_here:
            continue
        if rule.permission and rule.permission in rbac.permissions_for([role]):
            assert response.status_code != 403, f"{role} holds {rule.permission}: {response.text}"
        else:
            assert response.status_code == 403, f"{role} may not: {response.text}"


def test_61st_request_in_a_minute_is_429(api: Callable[[], Api]) -> None:
    client = api()
    codes = [client.get("/v1/categories").status_code for _ in range(60)]
    assert set(codes) == {200}, codes
    limited = client.get("/v1/categories")
    assert limited.status_code == 429
    # Within the one-minute window that the 60 requests opened.
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.headers["ratelimit-limit"] == "60"
    assert limited.headers["ratelimit-remaining"] == "0"
    # Another client address is not affected.
    assert api().get("/v1/categories").status_code == 200


def test_failed_sign_ins_slow_down_their_own_client_only(api: Callable[[], Api]) -> None:
    """Issue 12: the user service counts sign-in failures by the client address that the
    gateway computed and vouches for with its own service token, so an attacker slows down
    only themselves; the owner signing in from elsewhere is not refused."""
    owner, attacker = api(), api()
    email, password = f"e2e-{secrets.token_hex(6)}@shopmesh.example.com", strong_password()
    owner.register(email, password)
    wrong = {"email": email, "password": "wrong password 1"}
    codes = [attacker.post("/v1/auth/login", json=wrong, token="").status_code for _ in range(6)]
    # The platform's LOGIN_ACCOUNT_SLOWDOWN_AFTER is 3: from then on the next attempt waits.
    assert codes[:3] == [401] * 3 and set(codes) <= {401, 429}, codes
    assert codes[-1] == 429, codes
    owner.login(email, password)
    assert owner.user_id


PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization, content-type",
}


def test_cors_preflight(gateway_url: str) -> None:
    with httpx.Client(base_url=gateway_url) as client:
        allowed = client.options(
            "/v1/orders", headers={"origin": "https://ecommerce-example.com", **PREFLIGHT}
        )
        other = client.options(
            "/v1/orders", headers={"origin": "https://evil.example", **PREFLIGHT}
        )
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == "https://ecommerce-example.com"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert allowed.headers["access-control-max-age"] == "3600"
    assert not [h for h in other.headers if h.lower().startswith("access-control-")]
