"""The shopper's journey through REST only, against the whole running platform."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from email.message import EmailMessage
from typing import Any

import pytest

from launcher.mailbox import body_text

from .rest import ADDRESS, Api, eventually, money

pytestmark = pytest.mark.e2e


def _checkout(shopper: Api, token: str, key: str) -> Any:
    body = {"userId": shopper.user_id, "paymentToken": token, "shippingAddress": ADDRESS}
    return shopper.post("/v1/orders", json=body, headers={"Idempotency-Key": key})


def _order_in(shopper: Api, order_id: str, *statuses: str) -> Callable[[], Any]:
    def check() -> Any:
        order = shopper.ok(shopper.get(f"/v1/orders/{order_id}"))
        return order if order["status"] in statuses else None

    return check


def test_shopper_buys_a_lamp(
    shopper: Callable[[], Api],
    product: Callable[..., dict[str, Any]],
    admin: Api,
    shop_platform: Any,
) -> None:
    lamp = product(inventory=5)
    customer = shopper()
    sales_before = admin.ok(admin.get("/v1/analytics/sales"))

    # Browse: list by category, read one, find it by search (indexed from events).
    listing = customer.ok(
        customer.get("/v1/products", params={"category": lamp["category"], "pageSize": 10})
    )
    assert "nextPageToken" in listing
    (listed,) = [p for p in listing["products"] if p["id"] == lamp["id"]]
    assert {"id", "name", "price", "inventory", "category"} <= set(listed)
    detail = customer.ok(customer.get(f"/v1/products/{lamp['id']}"))
    assert detail["name"] == lamp["name"] and detail["inventory"] == 5
    assert money(detail["price"]) == Decimal("12.99")

    def found_by_search() -> Any:
        # The category is the product's own: exactly one product can match.
        query = {"query": lamp["name"], "category": lamp["category"]}
        result = customer.polled(customer.get("/v1/search", params=query))
        hit = result and any(p["id"] == lamp["id"] for p in result["products"])
        return result if hit else None

    result = eventually(found_by_search, what="the product in search results")
    assert "facets" in result and result["totalSize"] == 1

    # Cart.
    added = customer.ok(
        customer.post(
            f"/v1/carts/{customer.user_id}/items", json={"productId": lamp["id"], "quantity": 2}
        )
    )
    assert any(i["productId"] == lamp["id"] for i in added["items"])
    cart = customer.ok(customer.get(f"/v1/carts/{customer.user_id}"))
    assert [(i["productId"], i["quantity"]) for i in cart["items"]] == [(lamp["id"], 2)]
    assert money(cart["total"]) == Decimal("25.98")

    # Checkout with an idempotency key; the retry returns the same order.
    key = str(uuid.uuid4())
    first = customer.ok(_checkout(customer, "tok_visa", key), 200, 201)
    again = customer.ok(_checkout(customer, "tok_visa", key), 200, 201)
    assert first["id"] == again["id"]
    assert {"id", "status", "total"} <= set(first)

    order = eventually(
        _order_in(customer, first["id"], "ORDER_STATUS_PAID"), what="the order to be PAID"
    )
    assert [(i["productId"], i["quantity"]) for i in order["items"]] == [(lamp["id"], 2)]
    # The platform's pricing: no tax configured, 4.99 shipping below 50.00.
    assert money(order["subtotal"]) == Decimal("25.98")
    assert money(order["total"]) == Decimal("30.97")

    def confirmation() -> EmailMessage | None:
        for message in shop_platform.mailbox.to(customer.email):
            if first["id"] in body_text(message) or first["id"] in str(message["Subject"]):
                found: EmailMessage = message
                return found
        return None

    eventually(confirmation, what="the order confirmation e-mail")

    # Review and rating.
    review = customer.ok(
        customer.post(
            f"/v1/products/{lamp['id']}/reviews",
            json={"rating": 5, "title": "Bright and warm", "body": "Exactly as described."},
        ),
        200,
        201,
    )
    assert review["id"] and review["rating"] == 5
    reviews = customer.ok(customer.get(f"/v1/products/{lamp['id']}/reviews"))
    assert any(r["id"] == review["id"] for r in reviews["reviews"])

    def rated() -> Any:
        rating = customer.polled(customer.get(f"/v1/products/{lamp['id']}/rating"))
        return rating if rating and rating["count"] == 1 else None

    rating = eventually(rated, what="the rating summary")
    assert rating["average"] == 5

    # The admin's sales summary counts the order, once, at its total.
    orders_before = int(sales_before.get("orderCount", 0))
    revenue_before = money(sales_before.get("revenue", {}))

    def summary_with_order() -> Any:
        summary = admin.polled(admin.get("/v1/analytics/sales"))
        counted = summary and (
            int(summary.get("orderCount", 0)) == orders_before + 1
            and money(summary.get("revenue", {})) == revenue_before + money(order["total"])
        )
        return summary if counted else None

    eventually(summary_with_order, what="the order in the sales summary")


def test_declined_card_fails_the_order_and_restores_stock(
    shopper: Callable[[], Api], product: Callable[..., dict[str, Any]]
) -> None:
    lamp = product(inventory=3)
    customer = shopper()
    customer.ok(
        customer.post(
            f"/v1/carts/{customer.user_id}/items", json={"productId": lamp["id"], "quantity": 2}
        )
    )
    placed = customer.ok(_checkout(customer, "tok_chargeDeclined", str(uuid.uuid4())), 200, 201)
    order = eventually(
        _order_in(customer, placed["id"], "ORDER_STATUS_PAYMENT_FAILED"),
        what="the order to be PAYMENT_FAILED",
    )
    assert order["failureReason"]

    def restocked() -> Any:
        detail = customer.ok(customer.get(f"/v1/products/{lamp['id']}"))
        return detail if detail["inventory"] == 3 else None

    eventually(restocked, what="the stock to be restored")
