"""A real browser on the whole platform: Debian's Chromium driven by Playwright, headless.

The platform is `shop_platform` (every service and the gateway on free ports). Each browser
context presents its own client address (the gateway trusts X-Forwarded-For from loopback, as in
the e2e tests), so each simulated shopper has its own rate-limit budget. Playwright never
downloads a browser here: it starts /usr/bin/chromium (installed by `make test-browser`).
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e.rest import Api, new_client_ip, strong_password
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    ViewportSize,
    expect,
    sync_playwright,
)

from .browserkit import SCREENSHOTS, Shopper, StaffUser

CHROMIUM = Path(os.environ.get("SHOP_CHROMIUM", "/usr/bin/chromium"))
# The machine's network is closed: without these, Chromium keeps retrying its own services.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
# Assertions wait for the page up to this long: the platform shares a small machine.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="session", autouse=True)
def behind_local_proxy() -> Iterator[None]:
    """As in tests/e2e: set before `shop_platform` starts the gateway."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GATEWAY_TRUSTED_PROXIES", "127.0.0.1/32,::1/128")
        yield


@pytest.fixture(scope="session")
def gateway_url(shop_platform: Any) -> str:
    url: str = shop_platform.base_url
    return url


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run `make test-browser` (it installs it)")
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # Playwright gives each launch a fresh temporary profile (--user-data-dir), removed at close.
    launched = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS)
    )
    yield launched
    launched.close()


@pytest.fixture(scope="session", autouse=True)
def screenshots() -> Path:
    """The folder holds this run's pages only."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS


@pytest.fixture
def new_context(browser: Browser, gateway_url: str) -> Iterator[Callable[..., BrowserContext]]:
    """A fresh browser context (own storage, own client address); `viewport` as a dict."""
    contexts: list[BrowserContext] = []

    def make(viewport: ViewportSize | None = None, ip: str | None = None) -> BrowserContext:
        context = browser.new_context(
            base_url=gateway_url,
            viewport=viewport or ViewportSize(width=1280, height=900),
            extra_http_headers={"x-forwarded-for": ip or new_client_ip()},
            service_workers="block",
        )
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Page:
    return new_context().new_page()


@pytest.fixture(scope="session")
def admin_api(gateway_url: str, shop_platform: Any) -> Iterator[Api]:
    client = Api(gateway_url)
    client.login(shop_platform.admin_email, shop_platform.admin_password)
    yield client
    client.close()


@pytest.fixture
def product(admin_api: Api) -> Callable[..., dict[str, Any]]:
    """Creates a product through the staff API (as an admin)."""

    def make(
        name: str, *, category: str, inventory: int = 10, units: str = "12", nanos: int = 0
    ) -> dict[str, Any]:
        body = {
            "name": name,
            "description": f"{name}, made for the browser tests.",
            "price": {"currencyCode": "USD", "units": units, "nanos": nanos},
            "category": category,
            "inventory": inventory,
        }
        created: dict[str, Any] = admin_api.ok(admin_api.post("/v1/products", json=body), 201)
        return created

    return make


@pytest.fixture
def registered(gateway_url: str) -> Iterator[Callable[[], Shopper]]:
    """A customer registered through the API (the browser then logs in as them)."""
    clients: list[Api] = []

    def make() -> Shopper:
        client = Api(gateway_url)
        clients.append(client)
        email = f"browser-{secrets.token_hex(6)}@shopmesh.example.com"
        password = strong_password()
        client.register(email, password, "Browser Shopper")
        client.login(email, password)
        return Shopper(email, password, client)

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def staff(registered: Callable[[], Shopper], admin_api: Api) -> Callable[[str], StaffUser]:
    """A user promoted by the admin to `role` through the public API (PATCH /v1/users/{id})."""

    def make(role: str) -> StaffUser:
        user = registered()
        admin_api.ok(
            admin_api.patch(
                f"/v1/users/{user.api.user_id}",
                params={"updateMask": "roles"},
                json={"roles": [role]},
            )
        )
        return StaffUser(user.email, user.password, role)

    return make
