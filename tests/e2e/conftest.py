"""Clients of the running platform (started by the platform fixture `shop_platform`)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .rest import Api, strong_password


@pytest.fixture(scope="session", autouse=True)
def behind_local_proxy() -> Iterator[None]:
    """The platform's gateway trusts X-Forwarded-For from loopback, as it would from Kong.

    Set before `shop_platform` starts the gateway (autouse fixtures come first), so each test
    client presents its own address and gets its own rate-limit bucket."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GATEWAY_TRUSTED_PROXIES", "127.0.0.1/32,::1/128")
        yield


@pytest.fixture(scope="session")
def gateway_url(shop_platform: Any) -> str:
    url: str = shop_platform.base_url
    return url


@pytest.fixture
def api(gateway_url: str) -> Iterator[Callable[[], Api]]:
    """New anonymous clients, each with its own client address."""
    clients: list[Api] = []

    def make() -> Api:
        client = Api(gateway_url)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture(scope="session")
def admin(gateway_url: str, shop_platform: Any) -> Iterator[Api]:
    client = Api(gateway_url)
    client.login(shop_platform.admin_email, shop_platform.admin_password)
    yield client
    client.close()


@pytest.fixture
def shopper(api: Callable[[], Api]) -> Callable[[], Api]:
    """Registers and logs in a new customer."""

    def make() -> Api:
        client = api()
        email = f"e2e-{secrets.token_hex(6)}@shopmesh.example.com"
        password = strong_password()
        client.register(email, password)
        client.login(email, password)
        return client

    return make


@pytest.fixture
def product(admin: Api) -> Callable[..., dict[str, Any]]:
    """Creates a product through the staff API (an admin is allowed to)."""

    def make(inventory: int = 5, units: str = "12", nanos: int = 990_000_000) -> dict[str, Any]:
        tag = secrets.token_hex(4)
        body = {
            "name": f"E2E Lamp {tag}",
            "description": f"A lamp made for the end-to-end test {tag}",
            "price": {"currencyCode": "USD", "units": units, "nanos": nanos},
            "category": f"e2e-{tag}",
            "inventory": inventory,
        }
        created: dict[str, Any] = admin.ok(admin.post("/v1/products", json=body), 201)
        return created

    return make
