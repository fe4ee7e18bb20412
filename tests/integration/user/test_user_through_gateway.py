"""Accounts black-box through the real gateway (its own `build_app`, in process) over the real
user service, PostgreSQL, Kafka and Redis. The gateway trusts 127.0.0.1 as a proxy, so each
request's X-Forwarded-For names the shopper's address."""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import time
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit

import httpx
import pytest
from shop.user.v1 import user_pb2

from gateway.app import GatewayApp
from gateway.bootstrap import build_app
from gateway.settings import GatewaySettings
from mesh.settings import ClientSettings

from .harness import Running
from .test_user_service import PASSWORD, first_user_event

Client = Callable[[str], httpx.AsyncClient]


@pytest.fixture
async def gateway(user_service: Running, redis_url: str) -> AsyncIterator[GatewayApp]:
    settings = GatewaySettings(
        clients=ClientSettings(addresses={"user": user_service.address}),
        redis_url=redis_url,
        trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),),
    )
    app = build_app(settings, [user_pb2.DESCRIPTOR.services_by_name["UserService"]])
    yield app
    await app.close()


@pytest.fixture
async def shopper_at(gateway: GatewayApp) -> AsyncIterator[Client]:
    """An HTTP client whose requests come from the given shopper address."""
    clients: list[httpx.AsyncClient] = []

    def make(address: str) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=gateway, client=("127.0.0.1", 50000)),
            base_url="http://gateway",
            headers={"x-forwarded-for": address},
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


def new_email() -> str:
    return f"gw-{secrets.token_hex(4)}@example.com"


async def sign_up(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post(
        "/v1/users", json={"email": email, "password": PASSWORD, "displayName": "Gia"}
    )


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/v1/auth/login", json={"email": email, "password": password})


async def test_twenty_bad_passwords_from_one_address_do_not_stop_the_owner_elsewhere(
    shopper_at: Client,
) -> None:
    email = new_email()
    owner, attacker = shopper_at("198.51.100.30"), shopper_at("203.0.113.66")
    assert (await sign_up(owner, email)).status_code == 201
    statuses = [(await login(attacker, email, "wrong password 1")).status_code for _ in range(20)]
    assert statuses[:2] == [401, 401] and set(statuses) <= {401, 429}
    assert statuses[-1] == 429  # the attacker is slowed down ...
    answer = await login(owner, email, PASSWORD)  # ... the owner is not
    assert answer.status_code == 200, answer.text
    assert answer.json()["accessToken"]


async def test_a_logged_out_token_is_refused_within_five_seconds(shopper_at: Client) -> None:
    email, shopper = new_email(), shopper_at("198.51.100.31")
    user = (await sign_up(shopper, email)).json()
    tokens = (await login(shopper, email, PASSWORD)).json()
    auth = {"authorization": f"Bearer {tokens['accessToken']}"}
    me = await shopper.get(f"/v1/users/{user['id']}", headers=auth)
    assert me.status_code == 200 and me.json()["email"] == email
    logout = await shopper.post(
        "/v1/auth/logout", json={"refreshToken": tokens["refreshToken"]}, headers=auth
    )
    assert logout.status_code == 204, logout.text
    signed_out = time.monotonic()
    while (await shopper.get(f"/v1/users/{user['id']}", headers=auth)).status_code != 401:
        assert time.monotonic() - signed_out < 5.0, "the revoked token still works after 5 s"
        await asyncio.sleep(0.2)


async def test_sign_up_for_a_taken_email_answers_like_a_new_one(shopper_at: Client) -> None:
    email, shopper = new_email(), shopper_at("198.51.100.32")
    first = await sign_up(shopper, email)
    again = await sign_up(shopper, email)
    assert first.status_code == again.status_code == 201
    assert first.json().keys() == again.json().keys()
    assert again.json()["id"] != first.json()["id"] and again.json()["email"] == email


async def test_the_mailed_verification_link_works_through_the_gateway(
    shopper_at: Client, user_service: Running
) -> None:
    email, shopper = new_email(), shopper_at("198.51.100.33")
    user = (await sign_up(shopper, email)).json()
    assert user.get("emailVerified", False) is False
    registered = await first_user_event(user_service, user["id"], "user_registered")
    link = urlsplit(registered.user_registered.verification_url)
    verified = await shopper.get(f"{link.path}?{link.query}")
    assert verified.status_code == 200, verified.text
    assert verified.json() == {"emailVerified": True}
    forged = await shopper.get("/v1/users:verifyEmail?token=forged")
    assert forged.status_code == 400
    tokens = (await login(shopper, email, PASSWORD)).json()
    assert tokens["user"]["emailVerified"] is True
