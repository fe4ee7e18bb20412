"""The names fixed in the public API notes resolve in the descriptors.

The tables below are the fixed-names tables, as data: services and methods, REST routes with
their request and response JSON fields, the seed's unversioned aliases, the shape of money and
addresses and the order status names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from google.protobuf.descriptor import Descriptor, MethodDescriptor
from shop.api.v1 import annotations_pb2
from shop.common.v1 import common_pb2
from shop.order.v1 import order_pb2

from mesh.roster import ROSTER, SERVICE_PORTS
from tools import contracts

FIXED_METHODS = {
    "shop.user.v1.UserService": (
        "Register Login RefreshToken Logout GetUser UpdateUser ListUsers GetJwks"
    ),
    "shop.catalog.v1.CatalogService": (
        "ListProducts GetProduct BatchGetProducts CreateProduct UpdateProduct DeleteProduct "
        "ListCategories ReserveStock ReleaseStock"
    ),
    "shop.cart.v1.CartService": "GetCart AddItem UpdateItemQuantity RemoveItem ClearCart",
    "shop.order.v1.OrderService": "PlaceOrder GetOrder ListOrders CancelOrder",
    "shop.payment.v1.PaymentService": "Charge Refund GetPayment",
    "shop.notification.v1.NotificationService": "SendNotification ListNotifications",
    "shop.review.v1.ReviewService": "CreateReview ListReviews GetRatingSummary DeleteReview",
    "shop.search.v1.SearchService": "Search Suggest",
    "shop.analytics.v1.AnalyticsService": "GetSalesSummary GetTopProducts GetFunnel",
}

# The fixed gRPC ports of the local run (the ports table of the public API notes).
FIXED_PORTS = {
    "user": 50051, "catalog": 50052, "cart": 50053, "order": 50054, "payment": 50055,
    "notification": 50056, "review": 50057, "search": 50058, "analytics": 50059,
}  # fmt: skip

INTERNAL_ONLY = {
    "shop.catalog.v1.CatalogService.ReserveStock",
    "shop.catalog.v1.CatalogService.ReleaseStock",
    "shop.payment.v1.PaymentService.Charge",
    "shop.payment.v1.PaymentService.Refund",
    "shop.notification.v1.NotificationService.SendNotification",
}


@dataclass(frozen=True)
class Route:
    """One row of the REST table: JSON names; `a.b` reaches into a message or list item."""

    route: str
    request: tuple[str, ...] = ()
    response: tuple[str, ...] = ()


ROUTES = (
    Route("POST /v1/users", ("email", "password", "displayName"), ("id", "email")),
    Route(
        "POST /v1/auth/login", ("email", "password"), ("accessToken", "refreshToken", "expiresIn")
    ),
    Route("POST /v1/auth/refresh", ("refreshToken",), ("accessToken", "refreshToken")),
    Route(
        "GET /v1/products?pageSize=&pageToken=&category=",
        (),
        (
            "products.id",
            "products.name",
            "products.price",
            "products.inventory",
            "products.category",
            "nextPageToken",
        ),
    ),
    Route("GET /v1/products/{id}", (), ("id", "name", "price", "inventory")),
    Route("GET /v1/carts/{userId}", (), ("items.productId", "items.quantity", "total")),
    Route("POST /v1/carts/{userId}/items", ("productId", "quantity"), ("items",)),
    Route(
        "POST /v1/orders", ("userId", "paymentToken", "shippingAddress"), ("id", "status", "total")
    ),
    Route("GET /v1/orders/{id}", (), ("id", "status", "items", "total")),
    Route("POST /v1/orders/{id}:cancel", (), ("status",)),
    Route(
        "GET /v1/search?query=&category=&minPrice=&maxPrice=",
        (),
        ("products", "facets", "totalSize"),
    ),
    Route("GET /v1/products/{productId}/reviews", (), ("reviews",)),
    Route("POST /v1/products/{productId}/reviews", ("rating", "title", "body"), ("id", "rating")),
    Route("GET /v1/products/{productId}/rating", (), ("average", "count")),
    Route("GET /v1/users/{userId}/notifications", (), ("notifications",)),
    Route("GET /v1/analytics/sales", (), ("orderCount", "revenue")),
    Route(
        "POST /v1/products",
        ("name", "description", "price", "category", "inventory"),
        ("id",),
    ),
    Route("PATCH /v1/products/{id}?updateMask=", ("name",), ("id", "name")),
    Route("DELETE /v1/products/{id}"),
)

ALIASES = (
    "GET /products",
    "GET /products/{id}",
    "GET /carts/{userId}",
    "POST /carts/{userId}/items",
    "POST /orders",
    "GET /orders/{id}",
    "POST /users",
)

VARIABLE = re.compile(r"\{([^}=]+)(=[^}]*)?\}")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _shape(path: str) -> str:
    """The path with variables replaced by the last part of their field path, in snake case."""
    return VARIABLE.sub(lambda m: "{" + _snake(m.group(1).split(".")[-1]) + "}", path)


def find_binding(route: str) -> contracts.Binding:
    verb, _, target = route.partition(" ")
    path = target.partition("?")[0]
    matches = [
        binding
        for method in contracts.methods()
        for binding in contracts.bindings(method)
        if binding.verb.upper() == verb and _shape(binding.path) == _shape(path)
    ]
    assert len(matches) == 1, f"{route}: {len(matches)} bindings match"
    return matches[0]


def assert_json_path(message: Descriptor, json_path: str) -> None:
    try:
        contracts.resolve_path(message, json_path, json=True)
    except KeyError as exc:
        pytest.fail(f"{message.full_name}: {json_path}: {exc}")


def test_every_fixed_service_and_method_exists() -> None:
    found = {s.full_name: {m.name for m in s.methods} for s in contracts.services()}
    for service, names in FIXED_METHODS.items():
        assert service in found, service
        missing = set(names.split()) - found[service]
        assert not missing, f"{service} lacks {sorted(missing)}"


def test_the_roster_serves_the_fixed_services_on_the_fixed_ports() -> None:
    # mesh.roster is the list every other place reads (settings, launcher, deploy tests).
    assert dict(SERVICE_PORTS) == FIXED_PORTS
    assert {entry.grpc_service for entry in ROSTER} == set(FIXED_METHODS)


@pytest.mark.parametrize("full_name", sorted(INTERNAL_ONLY))
def test_internal_only_methods_have_no_binding(full_name: str) -> None:
    method = next(m for m in contracts.methods() if m.full_name == full_name)
    assert contracts.bindings(method) == []


@pytest.mark.parametrize("row", ROUTES, ids=[row.route for row in ROUTES])
def test_fixed_route_resolves(row: Route) -> None:
    binding = find_binding(row.route)
    request = binding.method.input_type
    for variable in VARIABLE.findall(binding.path):
        contracts.resolve_path(request, variable[0])
    query = row.route.partition("?")[2]
    for param in (p.partition("=")[0] for p in query.split("&") if p):
        assert_json_path(request, param)
    body_message = request
    if binding.body not in ("", "*"):
        body_field = contracts.resolve_path(request, binding.body)
        assert body_field.message_type is not None
        body_message = body_field.message_type
    for name in row.request:
        assert binding.body, f"{row.route} takes no body but the table lists {name}"
        assert_json_path(body_message, name)
    response: Descriptor = binding.method.output_type
    if binding.response_body:
        response_field = contracts.resolve_path(response, binding.response_body)
        assert response_field.message_type is not None
        response = response_field.message_type
    for name in row.response:
        assert_json_path(response, name)


@pytest.mark.parametrize("route", ALIASES)
def test_seed_alias_is_an_additional_binding(route: str) -> None:
    binding = find_binding(route)
    versioned = [b for b in contracts.bindings(binding.method) if b.path == "/v1" + binding.path]
    assert versioned, f"{route} is not an alias of a /v1 route of the same method"
    assert contracts.bindings(binding.method)[0] == versioned[0]


def test_money_has_the_google_type_money_layout() -> None:
    fields = {f.json_name: f.type for f in common_pb2.Money.DESCRIPTOR.fields}
    assert fields == {
        "currencyCode": common_pb2.Money.DESCRIPTOR.fields_by_name["currency_code"].TYPE_STRING,
        "units": common_pb2.Money.DESCRIPTOR.fields_by_name["units"].TYPE_INT64,
        "nanos": common_pb2.Money.DESCRIPTOR.fields_by_name["nanos"].TYPE_INT32,
    }


def test_address_json_names() -> None:
    names = [f.json_name for f in common_pb2.Address.DESCRIPTOR.fields]
    assert names == ["name", "line1", "line2", "city", "region", "postalCode", "countryCode"]


def test_order_status_names() -> None:
    names = set(order_pb2.OrderStatus.keys())
    assert {
        "ORDER_STATUS_PENDING",
        "ORDER_STATUS_PAID",
        "ORDER_STATUS_PAYMENT_FAILED",
        "ORDER_STATUS_CANCELLED",
    } <= names


def _method(full_name: str) -> MethodDescriptor:
    return next(m for m in contracts.methods() if m.full_name == full_name)


def test_place_order_takes_an_idempotency_key() -> None:
    method = _method("shop.order.v1.OrderService.PlaceOrder")
    assert contracts.method_options(method).Extensions[annotations_pb2.idempotency_key]
