"""The back office in a real browser: each role sees and does what its permissions allow."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from e2e.rest import ADDRESS, eventually
from playwright.sync_api import BrowserContext, Page, expect

from mesh import rbac

from .browserkit import Shopper, StaffUser, assert_accessible, log_in, shoot

pytestmark = pytest.mark.e2e

EVENTUAL_MS = 90_000


def open_back_office(page: Page, email: str, password: str) -> None:
    page.goto("/admin")
    expect(page.get_by_role("heading", name="Back office log in")).to_be_visible()
    log_in(page, email, password)


def paid_order(shopper: Shopper, product_id: str) -> str:
    """An order placed and paid through the API, as a shopper would have."""
    api = shopper.api
    item = {"productId": product_id, "quantity": 1}
    api.ok(api.post(f"/v1/carts/{api.user_id}/items", json=item))
    body = {"userId": api.user_id, "paymentToken": "tok_visa", "shippingAddress": ADDRESS}
    placed = api.ok(
        api.post("/v1/orders", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}),
        200,
        201,
    )

    def paid() -> bool:
        order = api.ok(api.get(f"/v1/orders/{placed['id']}"))
        return bool(order["status"] == "ORDER_STATUS_PAID")

    eventually(paid, what="the order to be PAID")
    order_id: str = placed["id"]
    return order_id


def test_inventory_manager_changes_stock(
    new_context: Callable[..., BrowserContext],
    product: Callable[..., dict[str, Any]],
    staff: Callable[[str], StaffUser],
    admin_api: Any,
) -> None:
    lamp = product("Stockroom Lamp", category="back-office-tests", inventory=4)
    manager = staff(rbac.INVENTORY_MANAGER)
    page = new_context().new_page()

    open_back_office(page, manager.email, manager.password)
    nav = page.get_by_role("navigation", name="Back office")
    expect(nav.get_by_role("link", name="Products")).to_be_visible()
    # Products only: no orders, users or analytics for this role.
    for hidden in ("Orders", "Users", "Analytics"):
        expect(nav.get_by_role("link", name=hidden)).to_have_count(0)
    nav.get_by_role("link", name="Products").click()
    expect(page.get_by_role("heading", name="Products")).to_be_visible()
    shoot(page, "20-admin-products")
    assert_accessible(page, "back office products")

    page.goto(f"/admin#/products/{lamp['id']}")
    expect(page.get_by_role("heading", name=f"Edit {lamp['name']}")).to_be_visible()
    page.get_by_label("Stock").fill("42")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#notice")).to_contain_text("Saved.")
    shoot(page, "21-admin-product-edit")
    stored = admin_api.ok(admin_api.get(f"/v1/products/{lamp['id']}"))
    assert stored["inventory"] == 42
    assert stored["price"] == lamp["price"]

    # The API's own validation shows next to the field it names.
    page.get_by_label("Name").fill("")
    page.get_by_label("Name").evaluate("el => el.removeAttribute('required')")
    page.get_by_role("button", name="Save changes").click()
    name_field = page.get_by_label("Name")
    expect(name_field).to_have_attribute("aria-invalid", "true")
    # A new product from the form: the price typed as a decimal becomes exact Money.
    page.goto("/admin#/products/new")
    page.get_by_label("Name").fill("Form Made Lamp")
    page.get_by_label("Description").fill("Created in the back office.")
    page.get_by_label("Price").fill("9.95")
    page.get_by_label("Category").fill("back-office-tests")
    page.get_by_label("Stock").fill("3")
    page.get_by_role("button", name="Create product").click()
    expect(page.get_by_role("heading", name="Edit Form Made Lamp")).to_be_visible()
    created_id = page.url.rsplit("/", 1)[-1]
    created = admin_api.ok(admin_api.get(f"/v1/products/{created_id}"))
    assert created["price"] == {"currencyCode": "USD", "units": "9", "nanos": 950_000_000}
    assert created["inventory"] == 3
    # ... and deleted again.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete product").click()
    expect(page.get_by_role("heading", name="Products")).to_be_visible()
    assert admin_api.get(f"/v1/products/{created_id}").status_code == 404

    # The orders page is refused to this role.
    page.goto("/admin#/orders")
    expect(page.get_by_role("heading", name="Access refused")).to_be_visible()


def test_customer_service_cancels_an_order_and_reads_users_and_analytics(
    new_context: Callable[..., BrowserContext],
    product: Callable[..., dict[str, Any]],
    staff: Callable[[str], StaffUser],
    registered: Callable[[], Shopper],
) -> None:
    lamp = product("Service Desk Lamp", category="back-office-tests", inventory=5)
    customer = registered()
    order_id = paid_order(customer, lamp["id"])
    support = staff(rbac.CUSTOMER_SERVICE)
    page = new_context().new_page()

    open_back_office(page, support.email, support.password)
    nav = page.get_by_role("navigation", name="Back office")
    for shown in ("Orders", "Users", "Analytics"):
        expect(nav.get_by_role("link", name=shown)).to_be_visible()
    expect(nav.get_by_role("link", name="Products")).to_have_count(0)
    nav.get_by_role("link", name="Orders").click()
    row = page.locator(f"tr[data-order='{order_id}']")
    expect(row).to_be_visible()
    shoot(page, "22-admin-orders")
    assert_accessible(page, "back office orders")
    # Cancelling is the desk's job (orders:cancel); the confirmation dialog guards it.
    assert rbac.ORDERS_CANCEL in rbac.ROLE_PERMISSIONS[rbac.CUSTOMER_SERVICE]
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Cancel and refund").click()
    expect(page.locator("#notice")).to_contain_text(f"Order {order_id} is", timeout=EVENTUAL_MS)

    def cancelled() -> bool:
        order = customer.api.ok(customer.api.get(f"/v1/orders/{order_id}"))
        return bool(order["status"] == "ORDER_STATUS_CANCELLED")

    eventually(cancelled, what="the order to be CANCELLED")

    # Users (read) and the analytics charts.
    nav.get_by_role("link", name="Users").click()
    expect(page.get_by_role("rowheader", name=customer.email)).to_be_visible()
    shoot(page, "23-admin-users")
    nav.get_by_role("link", name="Analytics").click()
    for title in ("Revenue by day", "Top products by revenue", "Checkout funnel"):
        expect(page.get_by_role("img", name=title)).to_be_visible(timeout=EVENTUAL_MS)
    shoot(page, "24-admin-analytics")
    assert_accessible(page, "back office analytics")


def test_a_customer_is_refused_the_back_office(
    new_context: Callable[..., BrowserContext], registered: Callable[[], Shopper]
) -> None:
    customer = registered()
    page = new_context().new_page()
    open_back_office(page, customer.email, customer.password)
    expect(page.get_by_role("heading", name="Access refused")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("no back-office permissions")
    nav = page.get_by_role("navigation", name="Back office")
    expect(nav.get_by_role("link")).to_have_count(0)
    # Going straight to a section does not get further.
    page.goto("/admin#/users")
    expect(page.get_by_role("heading", name="Access refused")).to_be_visible()
    shoot(page, "25-admin-refused")
    assert_accessible(page, "back office refusal")
