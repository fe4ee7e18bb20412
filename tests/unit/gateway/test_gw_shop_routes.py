"""The fixed public routes (public API notes) are all served, from the shop contracts."""

from __future__ import annotations

import pytest

from gateway.bootstrap import discover_services
from gateway.transcoding.router import Match, Router
from gateway.transcoding.routes import routes_from_services


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(routes_from_services(discover_services()))


PUBLIC_API = [
    ("POST", "/v1/users", "Register", True, 201),
    ("POST", "/v1/auth/login", "Login", True, 200),
    ("POST", "/v1/auth/refresh", "RefreshToken", True, 200),
    ("GET", "/v1/products", "ListProducts", True, 200),
    ("GET", "/v1/products/p1", "GetProduct", True, 200),
    ("GET", "/v1/carts/u1", "GetCart", False, 200),
    ("POST", "/v1/carts/u1/items", "AddItem", False, 200),
    ("POST", "/v1/orders", "PlaceOrder", False, 201),
    ("GET", "/v1/orders/o1", "GetOrder", False, 200),
    ("POST", "/v1/orders/o1:cancel", "CancelOrder", False, 200),
    ("GET", "/v1/search", "Search", True, 200),
    ("GET", "/v1/products/p1/reviews", "ListReviews", True, 200),
    ("POST", "/v1/products/p1/reviews", "CreateReview", False, 201),
    ("GET", "/v1/products/p1/rating", "GetRatingSummary", True, 200),
    ("GET", "/v1/users/u1/notifications", "ListNotifications", False, 200),
    ("GET", "/v1/analytics/sales", "GetSalesSummary", False, 200),
    ("POST", "/v1/products", "CreateProduct", False, 201),
    ("PATCH", "/v1/products/p1", "UpdateProduct", False, 200),
    ("DELETE", "/v1/products/p1", "DeleteProduct", False, 204),
    # The seed's paths, as additional bindings.
    ("GET", "/products", "ListProducts", True, 200),
    ("GET", "/products/p1", "GetProduct", True, 200),
    ("GET", "/carts/u1", "GetCart", False, 200),
    ("POST", "/carts/u1/items", "AddItem", False, 200),
    ("POST", "/orders", "PlaceOrder", False, 201),
    ("GET", "/orders/o1", "GetOrder", False, 200),
    ("POST", "/users", "Register", True, 201),
]


@pytest.mark.parametrize(("method", "path", "rpc", "public", "status"), PUBLIC_API)
def test_public_route(
    router: Router, method: str, path: str, rpc: str, public: bool, status: int
) -> None:
    found = router.resolve(method, path)
    assert isinstance(found, Match), found
    assert found.route.method.name == rpc
    assert found.route.access.public is public
    assert found.route.success_status == status


def test_only_place_order_takes_an_idempotency_key(router: Router) -> None:
    assert {r.method.name for r in router.routes if r.idempotency_key} == {"PlaceOrder"}


def test_internal_methods_are_not_routed(router: Router) -> None:
    names = {r.method.name for r in router.routes}
    assert not names & {"ReserveStock", "ReleaseStock", "Charge", "Refund", "SendNotification"}
