"""A shopper in a real browser: browse, search, cart, register, pay, history, mail, review."""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable
from typing import Any

import pytest
from e2e.rest import ADDRESS, eventually, strong_password
from playwright.sync_api import BrowserContext, Page, expect

from launcher.mailbox import body_text

from .browserkit import Shopper, assert_accessible, log_in, shoot, watch_console

pytestmark = pytest.mark.e2e

EVENTUAL_MS = 90_000


def unique_word() -> str:
    return "".join(random.choices(string.ascii_lowercase, k=9))


def with_typo(word: str) -> str:
    """One letter replaced in the middle: the search must still find the word."""
    middle = len(word) // 2
    replacement = "x" if word[middle] != "x" else "y"
    return word[:middle] + replacement + word[middle + 1 :]


def wait_until_searchable(shopper_api: Any, word: str, product_id: str) -> None:
    def found() -> bool:
        answer = shopper_api.polled(shopper_api.get("/v1/search", params={"query": word}))
        return bool(answer) and any(p["id"] == product_id for p in answer["products"])

    eventually(found, what=f"{word} in the search index")


def fill_address(page: Page) -> None:
    page.get_by_label("Full name").fill(ADDRESS["name"])
    page.get_by_label("Address line 1").fill(ADDRESS["line1"])
    page.get_by_label("City").fill(ADDRESS["city"])
    page.get_by_label("Region or state").fill(ADDRESS["region"])
    page.get_by_label("Postal code").fill(ADDRESS["postalCode"])
    page.get_by_label(re.compile("Country code")).fill(ADDRESS["countryCode"])


def test_shopper_journey(
    new_context: Callable[..., BrowserContext],
    product: Callable[..., dict[str, Any]],
    admin_api: Any,
    shop_platform: Any,
) -> None:
    word, other_word = unique_word(), unique_word()
    category = f"lighting-{word[:6]}"
    lamp = product(
        f"Brass Lantern {word.capitalize()}", category=category, units="12", nanos=990_000_000
    )
    kettle = product(
        f"Copper Kettle {other_word.capitalize()}", category=category, units="7", nanos=500_000_000
    )
    wait_until_searchable(admin_api, word, lamp["id"])

    page = new_context().new_page()
    console = watch_console(page)

    # Home: categories and featured products.
    page.goto("/")
    expect(page.get_by_role("heading", name="Welcome to shopmesh")).to_be_visible()
    category_link = page.locator(f"a[href='#/products?category={category}']")
    expect(category_link).to_be_visible()
    shoot(page, "01-home")
    assert_accessible(page, "home")

    # Listing by category.
    category_link.click()
    grid = page.get_by_test_id("product-grid")
    expect(grid.get_by_role("link", name=lamp["name"])).to_be_visible()
    expect(grid.get_by_role("link", name=kettle["name"])).to_be_visible()
    expect(grid).to_contain_text("$12.99")
    shoot(page, "02-listing")
    assert_accessible(page, "product listing")

    # Suggestions as you type, then a search with a typo.
    search = page.get_by_role("combobox", name="Search products")
    search.press_sequentially(word[:5], delay=60)
    suggestion = page.get_by_role("option", name=lamp["name"])
    expect(suggestion).to_be_visible()
    search.fill(with_typo(word))
    search.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("Results for"))).to_be_visible()
    results = page.get_by_test_id("product-grid")
    expect(results.get_by_role("link", name=lamp["name"])).to_be_visible()
    shoot(page, "03-search-typo")

    # Product page: price, stock, rating summary; add two different items.
    results.get_by_role("link", name=lamp["name"]).click()
    expect(page.get_by_role("heading", name=lamp["name"], level=1)).to_be_visible()
    expect(page.get_by_test_id("price")).to_have_text("$12.99")
    expect(page.get_by_text("In stock (10)")).to_be_visible()
    expect(page.get_by_test_id("rating")).to_contain_text("No ratings yet")
    shoot(page, "04-product")
    assert_accessible(page, "product page")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("link", name="Cart (1)")).to_be_visible()
    page.goto(f"/#/product/{kettle['id']}")
    expect(page.get_by_test_id("price")).to_have_text("$7.50")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("link", name="Cart (2)")).to_be_visible()

    # Cart with a quantity change: 2 x 12.99 + 7.50, computed without floats.
    page.get_by_role("link", name="Cart (2)").click()
    page.get_by_label(f"Quantity of {lamp['name']}").fill("2")
    page.locator(f"tr[data-product='{lamp['id']}']").get_by_role("button", name="Update").click()
    expect(page.get_by_test_id("cart-total")).to_have_text("$33.48")
    shoot(page, "05-cart")
    assert_accessible(page, "cart")

    # Register at checkout; the browser's cart joins the new account's cart.
    page.get_by_role("link", name="Checkout").click()
    page.get_by_role("link", name="create an account").click()
    email = f"browser-{word}@shopmesh.example.com"
    page.get_by_label("Name").fill("Ada Browser")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(strong_password())
    shoot(page, "06-register")
    assert_accessible(page, "register")
    page.get_by_role("button", name="Create account").click()
    # Registering hashes the password (argon2) and then logs in: slow on a busy machine.
    expect(page.get_by_role("heading", name="Checkout")).to_be_visible(timeout=EVENTUAL_MS)
    expect(page.get_by_text(f"2 × {lamp['name']}")).to_be_visible()
    expect(page.get_by_text(f"1 × {kettle['name']}")).to_be_visible()

    # Checkout with the success card.
    fill_address(page)
    expect(page.get_by_label(re.compile("Visa test card"))).to_be_checked()
    shoot(page, "07-checkout")
    assert_accessible(page, "checkout")
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", name="Thank you for your order")).to_be_visible(
        timeout=EVENTUAL_MS
    )
    order_id = page.get_by_test_id("order-id").inner_text()
    expect(page.locator("[data-status]").first).to_have_attribute(
        "data-status", "ORDER_STATUS_PAID", timeout=EVENTUAL_MS
    )
    shoot(page, "08-order-confirmation")

    # The history shows the order PAID.
    page.get_by_role("link", name="Orders", exact=True).click()
    row = page.locator(f"tr[data-order='{order_id}']")
    expect(row.locator("[data-status]")).to_have_attribute("data-status", "ORDER_STATUS_PAID")
    shoot(page, "09-order-history")
    assert_accessible(page, "order history")

    # The confirmation mail reached the capture server.
    def confirmation() -> bool:
        return any(
            order_id in body_text(m) or order_id in str(m["Subject"])
            for m in shop_platform.mailbox.to(email)
        )

    eventually(confirmation, what="the order confirmation e-mail")

    # Notifications list the mail.
    page.get_by_role("link", name="Notifications").click()
    expect(page.locator(".notifications li").first).to_be_visible(timeout=EVENTUAL_MS)
    shoot(page, "10-notifications")

    # A review of the purchased product; the rating summary follows.
    page.goto(f"/#/product/{lamp['id']}")
    page.get_by_label("Your rating").select_option("4")
    page.get_by_label("Title").fill("Warm light")
    page.get_by_role("textbox", name="Review").fill(
        "Bright enough to read by, and it looks lovely."
    )
    page.get_by_role("button", name="Post review").click()
    expect(page.locator(".reviews")).to_contain_text("Warm light", timeout=EVENTUAL_MS)
    expect(page.get_by_test_id("rating")).to_have_attribute("data-count", "1", timeout=EVENTUAL_MS)
    expect(
        page.get_by_test_id("rating").get_by_label("Rated 4 out of 5 from 1 review")
    ).to_be_visible()
    shoot(page, "11-product-reviewed")
    assert_accessible(page, "product page with a review")

    # Log out: the header offers log-in again and the session is gone.
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    assert page.evaluate("() => localStorage.getItem('shopmesh.session')") is None
    assert not console.csp_violations(), console.errors


def test_declined_card_keeps_the_cart(
    new_context: Callable[..., BrowserContext],
    product: Callable[..., dict[str, Any]],
    registered: Callable[[], Shopper],
) -> None:
    lamp = product(f"Desk Lamp {unique_word()}", category="declined-tests", inventory=3)
    shopper = registered()
    page = new_context().new_page()

    page.goto("/#/login")
    log_in(page, shopper.email, shopper.password)
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.goto(f"/#/product/{lamp['id']}")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("link", name="Cart (1)")).to_be_visible()

    page.goto("/#/checkout")
    fill_address(page)
    page.get_by_label(re.compile("Declined test card")).check()
    page.get_by_role("button", name="Place order").click()
    result = page.get_by_test_id("payment-result")
    expect(result).to_contain_text("Payment declined", timeout=EVENTUAL_MS)
    expect(result).to_contain_text("Your cart is kept")
    shoot(page, "12-checkout-declined")
    assert_accessible(page, "checkout after a decline")

    page.get_by_role("link", name="Cart (1)").click()
    expect(page.locator(f"tr[data-product='{lamp['id']}']")).to_be_visible()
    cart = shopper.api.ok(shopper.api.get(f"/v1/carts/{shopper.api.user_id}"))
    assert [(i["productId"], i["quantity"]) for i in cart["items"]] == [(lamp["id"], 1)]


def test_api_field_errors_are_shown_next_to_the_field(
    new_context: Callable[..., BrowserContext],
) -> None:
    page = new_context().new_page()
    page.goto("/#/register")
    page.get_by_label("Name").fill("Short Password")
    page.get_by_label("Email").fill(f"weak-{unique_word()}@shopmesh.example.com")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    password = page.get_by_label("Password")
    expect(password).to_have_attribute("aria-invalid", "true")
    error_id = password.get_attribute("aria-describedby")
    expect(page.locator(f"#{error_id}")).not_to_be_empty()
    shoot(page, "13-register-field-error")
