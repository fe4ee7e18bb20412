"""Anonymous and staff input that once caused a 500 answers 400 through the gateway, naming the
field: forged or overflowing page tokens, prices past a 64-bit amount, and quantities that take
a cart line past it. (An order that tax or shipping would take past it is refused in the order
domain, tests/unit/order/test_order_pricing.py: the local platform charges neither.)"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from .rest import Api

# The largest amount the stores keep, in cents: 2**63 - 1.
MAX_MINOR = 2**63 - 1
MAX_PRICE = {"currencyCode": "USD", "units": str(MAX_MINOR // 100), "nanos": 70_000_000}


def violations(response: httpx.Response) -> list[dict[str, str]]:
    """The google.rpc.BadRequest field violations of a 400 (one list for all details)."""
    assert response.status_code == 400, f"{response.status_code}: {response.text}"
    body: dict[str, Any] = response.json()
    found: list[dict[str, str]] = []
    for detail in body.get("details", []):
        found += detail.get("fieldViolations", [])
    return found


def fields(response: httpx.Response) -> set[str]:
    return {violation["field"] for violation in violations(response)}


def forged_tokens() -> list[str]:
    huge = json.dumps({"offset": 10**30, "after": "z" * 40}).encode()
    return [
        "not-a-token",
        base64.urlsafe_b64encode(huge).decode().rstrip("="),
        base64.urlsafe_b64encode(str(2**64).encode()).decode(),
        "A" * 1000,
    ]


@pytest.mark.parametrize("token", forged_tokens())
def test_a_forged_catalog_page_token_is_400_naming_it(api: Callable[[], Api], token: str) -> None:
    client = api()
    response = client.get("/v1/products", params={"pageToken": token}, token="")
    assert "page_token" in fields(response)


@pytest.mark.parametrize("token", forged_tokens())
def test_a_forged_search_page_token_is_400_naming_it(api: Callable[[], Api], token: str) -> None:
    client = api()
    response = client.get("/v1/search", params={"query": "lamp", "pageToken": token}, token="")
    assert "page_token" in fields(response)


def product_body(price: dict[str, Any]) -> dict[str, Any]:
    tag = secrets.token_hex(4)
    return {
        "name": f"E2E Limit {tag}",
        "description": f"A product priced at the edge of an amount {tag}",
        "price": price,
        "category": f"e2e-{tag}",
        "inventory": 5,
    }


@pytest.mark.parametrize(
    "price",
    [
        {"currencyCode": "USD", "units": str(2**63 - 1), "nanos": 0},
        {"currencyCode": "USD", "units": str(MAX_MINOR // 100), "nanos": 80_000_000},
    ],
)
def test_a_price_past_the_largest_amount_is_400_naming_it(
    admin: Api, price: dict[str, Any]
) -> None:
    created = admin.post("/v1/products", json=product_body(price))
    assert any(field.endswith("price") for field in fields(created)), created.text
    product = admin.ok(
        admin.post("/v1/products", json=product_body({"currencyCode": "USD", "units": "3"})), 201
    )
    update = {"id": product["id"], "price": price}
    changed = admin.patch(
        f"/v1/products/{product['id']}", json=update, params={"updateMask": "price"}
    )
    assert any(field.endswith("price") for field in fields(changed)), changed.text
    kept = admin.ok(admin.get(f"/v1/products/{product['id']}"))
    assert kept["price"]["units"] == "3"


def test_the_largest_price_is_accepted_and_shown_exactly(admin: Api) -> None:
    product = admin.ok(admin.post("/v1/products", json=product_body(MAX_PRICE)), 201)
    assert product["price"] == MAX_PRICE


def test_units_that_take_a_line_past_the_largest_amount_are_400_naming_the_quantity(
    admin: Api, shopper: Callable[[], Api]
) -> None:
    product = admin.ok(admin.post("/v1/products", json=product_body(MAX_PRICE)), 201)
    customer = shopper()
    added = customer.post(
        f"/v1/carts/{customer.user_id}/items", json={"productId": product["id"], "quantity": 2}
    )
    assert fields(added) == {"quantity"}
    cart = customer.ok(customer.get(f"/v1/carts/{customer.user_id}"))
    assert cart.get("items", []) == []
